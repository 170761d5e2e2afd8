"""VAE-GAN (Larsen et al. 2016, "Autoencoding beyond pixels using a learned similarity metric"): a VAE whose decoder
is also a GAN's generator. A discriminator learns to tell real images from reconstructions and from decoded prior
draws; the decoder learns to fool it, and the reconstruction error is measured in the discriminator's features as
well as in pixels.

A training step has two phases, each with its own optimizer (train/loop.py):

    discriminator   D                  -log D(x) - log(1 - D(x~)) - log(1 - D(x_p))
    autoencoder     encoder + decoder  pixel NLL + feature NLL + beta * KL + lambda * (-log D(x~) - log D(x_p)) / 2

where x~ = Dec(z), z ~ q(z|x) and x_p = Dec(z_p), z_p ~ N(0, I). The feature NLL is Larsen et al.'s
Dis_l likelihood: a unit Gaussian on the discriminator's features after its `feature_layer`-th conv block, summed.
Two departures from the paper, both for a short CPU budget: the pixel likelihood is kept beside the feature one (it
keeps small details such as glasses frames that the discriminator's features may not), and the adversarial weight
lambda is set each step so that its gradient at the decoder's last layer is `gan_weight` times the reconstruction
terms' (the adaptive weight of Esser et al. 2021, sec. 3.2), instead of Larsen et al.'s hand-tuned gamma. The
adversarial term reaches the encoder through x~ too (Larsen et al. stop it there); the KL keeps q(z|x) in check.

The discriminator is the DCGAN one (models/gan.py) with layer norm, so real and fake batches do not share batch
statistics. Everything the explorer needs (encode, decode, sample_latent) is the VAE's: reconstruct, sliders,
attribute vectors and Compare work as on any VAE.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .config import option
from .gan import Discriminator, GANConfig, nonsaturating_losses
from .nets import detached
from .vae import VAE, VAEConfig


@dataclass(frozen=True)
class VAEGANConfig(VAEConfig):
    model_type: str = option("vaegan", "registry key in models.MODELS; fixed by the config class")
    discriminator_width: int = option(32, "the discriminator's channels at half resolution; doubles at every further halving", low=1)
    discriminator_max_width: int = option(256, "cap on the discriminator's channels", low=1)
    feature_layer: int = option(
        3, "reconstruction error in the features after this conv block of the discriminator (Larsen et al.: 3)", low=1
    )
    feature_weight: float = option(1.0, "weight on the feature NLL (a unit Gaussian on the discriminator's features)", low=0)
    gan_weight: float = option(
        0.5, "the adversarial gradient at the decoder's last layer as a multiple of the reconstruction terms' (Esser et al. 2021)", low=0
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.gamma > 0 or self.tc_weight > 0:
            raise ValueError("a VAE-GAN weighs its KL by beta: capacity annealing (gamma) and beta-TCVAE (tc_weight) are not offered")


class VAEGAN(VAE, paper_url="https://arxiv.org/abs/1512.09300"):
    config_class = VAEGANConfig
    kind = "VAE-GAN"
    PHASES = ("discriminator", "autoencoder")
    adam_betas = (0.5, 0.999)  # the GAN's (Radford et al. 2016), for both phases
    selected_by_samples = True  # the training monitor keeps the weights whose prior samples are closest to the data

    def __init__(self, config: VAEGANConfig):
        super().__init__(config)
        gan = GANConfig(
            image_size=config.image_size,
            channels=config.channels,
            base_width=config.discriminator_width,
            max_width=config.discriminator_max_width,
            discriminator_norm="layer",
        )
        self.discriminator = Discriminator(gan)
        self.head = torch.nn.Linear(self.discriminator.features, 1)
        blocks = sum(isinstance(m, torch.nn.Conv2d) for m in self.discriminator.body)
        if config.feature_layer > blocks:
            raise ValueError(
                f"feature_layer {config.feature_layer}: the discriminator of {config.image_size}x{config.image_size} images has {blocks} conv blocks"
            )
        # the body is [conv, (norm,) LeakyReLU] per block: cut after the feature_layer-th LeakyReLU
        relus = [i for i, m in enumerate(self.discriminator.body) if isinstance(m, torch.nn.LeakyReLU)]
        self._feature_end = relus[config.feature_layer - 1] + 1

    def discriminate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(real/fake logit [N], the feature layer's activations [N, F]) of images in [0, 1]."""
        body = self.discriminator.body
        features = body[: self._feature_end](2 * x - 1)
        return self.head(body[self._feature_end :](features)).squeeze(1), features.flatten(1)

    def phase_parameters(self, phase: str) -> list[torch.nn.Parameter]:
        if phase not in self.PHASES:
            raise ValueError(f"unknown phase {phase!r}; a VAE-GAN trains {', '.join(self.PHASES)}")
        critic = {id(p) for module in (self.discriminator, self.head) for p in module.parameters()}
        return [p for p in self.parameters() if (id(p) in critic) == (phase == "discriminator")]

    def forward(self, x, y=None, step=None, generator=None, phase: str = "autoencoder"):
        return self.loss(x, y, step=step, generator=generator, phase=phase)

    def loss(self, x, y=None, step=None, generator=None, phase: str = "autoencoder") -> dict[str, torch.Tensor]:
        """The loss of one phase. Without gradients (validation) the autoencoder phase is the VAE's loss plus the
        feature NLL: the adversarial weight needs the gradients it balances."""
        if phase not in self.PHASES:
            raise ValueError(f"unknown phase {phase!r}; a VAE-GAN trains {', '.join(self.PHASES)}")
        cfg = self.config
        posterior = self.encode(x)
        z = posterior.sample(generator)
        prior = self.sample_latent(len(x), generator)
        if phase == "discriminator":
            with torch.no_grad():
                fakes = torch.cat([self.decode(z), self.decode(prior)])
            real, _ = self.discriminate(x)
            fake, _ = self.discriminate(fakes)
            loss = nonsaturating_losses(real, fake)
            return detached(loss, d_real=torch.sigmoid(real).mean(), d_fake=torch.sigmoid(fake).mean())
        logits = self.decode_logits(z)
        recon, fake_prior = torch.sigmoid(logits), self.decode(prior)
        pixel = self.recon_per_image(logits, x).mean()
        kl = posterior.kl().sum(1).mean()
        with torch.no_grad():
            _, real_features = self.discriminate(x)
        score_recon, recon_features = self.discriminate(recon)
        score_prior, _ = self.discriminate(fake_prior)
        feature = 0.5 * (recon_features - real_features).pow(2).sum(1).mean()
        reconstruction = pixel + cfg.feature_weight * feature
        adversarial = (F.softplus(-score_recon).mean() + F.softplus(-score_prior).mean()) / 2  # -log D(.)
        loss, weight = reconstruction + cfg.beta * kl, 0.0
        if torch.is_grad_enabled():
            weight = self.adversarial_weight(reconstruction, adversarial)
            loss = loss + weight * adversarial
        return detached(loss, recon=pixel, feature=feature, kl=kl, adversarial=adversarial, adversarial_weight=weight)

    def adversarial_weight(self, reconstruction: torch.Tensor, adversarial: torch.Tensor) -> torch.Tensor:
        """gan_weight * |grad recon| / |grad adversarial| at the decoder's last layer (Esser et al. 2021, eq. 7), detached."""
        last = next(m.weight for m in reversed(list(self.decoder.modules())) if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
        g_rec = torch.autograd.grad(reconstruction, last, retain_graph=True)[0]
        g_adv = torch.autograd.grad(adversarial, last, retain_graph=True)[0]
        return (self.config.gan_weight * g_rec.norm() / (g_adv.norm() + 1e-4)).clamp(max=1e4).detach()
