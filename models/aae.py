"""Adversarial autoencoder (Makhzani et al. 2016): an autoencoder whose aggregate posterior q(z) is matched to a
chosen prior p(z) by a discriminator on the latent code, instead of a closed-form KL per image as in a VAE.
Any prior that can be sampled will do.

A training step has three phases (Makhzani et al. 2016, sec. 2), each with its own optimizer (train/loop.py):

    reconstruction  encoder + decoder    recon(x, g(f(x)))
    discriminator   latent discriminator -log D(z ~ p(z)) - log(1 - D(f(x)))
    generator       encoder              -log D(f(x))        (the encoder learns to fool D)

Priors: a standard Gaussian, a uniform on [-1, 1]^D, or a mixture of `components` Gaussians whose means sit on a
circle of radius `mixture_radius` in the first two latent dimensions (the paper's 2-D mixture, fig. 4). With class
labels (--condition labels) the mixture is supervised: the discriminator also sees the one-hot label, and the
"real" codes of an image of class k come from component k (the paper's sec. 2.3), so each class lands on its own
component. The encoder and decoder do not take the label: the explorer sees an unconditional autoencoder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .base import Autoencoder
from .config import ModelConfig, option
from .gan import nonsaturating_losses
from .nets import Posterior, bernoulli_nll, build_decoder, build_encoder, detached, squared_error


@dataclass(frozen=True)
class AAEConfig(ModelConfig):
    model_type: str = option("aae", "registry key in models.MODELS; fixed by the config class")
    recon_loss: str = option(
        "bce", "per-image reconstruction loss summed over pixels: binary cross-entropy or squared error", choices=("bce", "mse")
    )
    encoder_type: str = option(
        "deterministic",
        "q(z|x): a point (Makhzani et al.'s deterministic encoder) or a Gaussian sampled by reparameterisation",
        choices=("deterministic", "gaussian"),
    )
    prior: str = option("gaussian", "p(z) the aggregate posterior is matched to", choices=("gaussian", "mixture", "uniform"))
    components: int = option(10, "mixture prior: number of Gaussian components", low=1)
    mixture_radius: float = option(4.0, "mixture prior: the components' means sit on a circle of this radius in dims 0 and 1", low=0)
    mixture_std: float = option(0.5, "mixture prior: standard deviation of each component", above=0)
    discriminator_width: int = option(512, "hidden width of the latent discriminator's two layers", low=1)
    regularisation_lr_scale: float = option(
        1.0,
        "learning rate of the discriminator and generator phases as a multiple of the run's (0.5 let the discriminator win on Fashion-MNIST)",
        above=0,
    )
    num_classes: int = option(0, "> 0: supervise the mixture prior with class labels (component k for class k); set by --condition labels")
    condition_names: tuple[str, ...] = option((), "names of the classes supervising the mixture (set by --condition labels)")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.prior == "mixture" and self.latent_dim < 2:
            raise ValueError("a mixture prior places its components in latent dims 0 and 1: latent_dim must be >= 2")
        if self.num_classes and (self.prior != "mixture" or self.num_classes != self.components):
            raise ValueError(
                f"class labels supervise a mixture prior with one component per class: got prior {self.prior!r}, "
                f"{self.components} components and {self.num_classes} classes (use --prior mixture --components {self.num_classes})"
            )
        if self.condition_names and len(self.condition_names) != self.num_classes:
            raise ValueError(f"condition_names has {len(self.condition_names)} names for {self.num_classes} classes")


class AAE(Autoencoder, paper_url="https://arxiv.org/abs/1511.05644"):
    config_class = AAEConfig
    kind = "adversarial AE"
    prior = "adversarial"
    PHASES = ("reconstruction", "discriminator", "generator")

    @property
    def latent_description(self) -> str:
        cfg = self.config
        return f"latent {cfg.latent_dim}, {cfg.prior} prior" + (f" of {cfg.components}" if cfg.prior == "mixture" else "")

    def __init__(self, config: AAEConfig):
        super().__init__(config)
        gaussian = config.encoder_type == "gaussian"
        self.encoder = build_encoder(config, out_dim=(2 if gaussian else 1) * config.latent_dim)
        self.decoder = build_decoder(config)
        width = config.discriminator_width
        self.latent_discriminator = nn.Sequential(
            nn.Linear(config.latent_dim + config.num_classes, width),
            nn.LeakyReLU(0.2),
            nn.Linear(width, width),
            nn.LeakyReLU(0.2),
            nn.Linear(width, 1),
        )

    def posterior(self, h: torch.Tensor) -> Posterior:
        if self.config.encoder_type == "gaussian":
            mean, logvar = h.chunk(2, dim=1)
            return Posterior(mean, logvar)
        return Posterior(h)

    # --- the prior

    def component_means(self) -> torch.Tensor:
        """[components, D]: the mixture's means, evenly spaced on a circle in dims 0 and 1."""
        cfg = self.config
        angle = 2 * math.pi * torch.arange(cfg.components, dtype=torch.float32) / cfg.components
        means = torch.zeros(cfg.components, cfg.latent_dim)
        means[:, 0], means[:, 1] = cfg.mixture_radius * angle.cos(), cfg.mixture_radius * angle.sin()
        return means

    def sample_latent(
        self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0, components: torch.Tensor | None = None
    ) -> torch.Tensor:
        """n draws of the prior; temperature scales the spread (of each component, for the mixture). components [n]:
        which mixture component each draw comes from (default: uniformly random)."""
        cfg = self.config
        device = generator.device if generator is not None else self.device
        shape = (n, cfg.latent_dim)
        if cfg.prior == "uniform":
            return (temperature * (2 * torch.rand(shape, generator=generator, device=device) - 1)).to(self.device)
        noise = temperature * torch.randn(shape, generator=generator, device=device)
        if cfg.prior == "gaussian":
            return noise.to(self.device)
        if components is None:
            components = torch.randint(cfg.components, (n,), generator=generator, device=device)
        return (self.component_means().to(device)[components.to(device)] + cfg.mixture_std * noise).to(self.device)

    # --- training

    def phase_parameters(self, phase: str) -> list[nn.Parameter]:
        parts = {
            "reconstruction": (self.encoder, self.decoder),
            "discriminator": (self.latent_discriminator,),
            "generator": (self.encoder,),
        }
        if phase not in parts:
            raise ValueError(f"unknown phase {phase!r}; an AAE trains {', '.join(self.PHASES)}")
        return [p for module in parts[phase] for p in module.parameters()]

    def phase_lr_scale(self, phase: str) -> float:
        return 1.0 if phase == "reconstruction" else self.config.regularisation_lr_scale

    def forward(self, x, y=None, step=None, generator=None, phase: str = "reconstruction"):
        return self.loss(x, y, step=step, generator=generator, phase=phase)

    def discriminate(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """Logit [N] that codes z (of images of classes y, when supervised) were drawn from the prior."""
        if self.config.num_classes:
            z = torch.cat([z, F.one_hot(y.long(), self.config.num_classes).to(z)], dim=1)
        return self.latent_discriminator(z).squeeze(1)

    def recon_per_image(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.config.recon_loss == "bce":
            return bernoulli_nll(logits, x)
        return squared_error(torch.sigmoid(logits), x)

    def loss(self, x, y=None, step=None, generator=None, phase: str = "reconstruction") -> dict[str, torch.Tensor]:
        """The loss of one phase; "reconstruction" (the default, and what validation measures) is the mean over the
        batch of the per-image reconstruction loss summed over pixels."""
        if phase not in self.PHASES:
            raise ValueError(f"unknown phase {phase!r}; an AAE trains {', '.join(self.PHASES)}")
        if phase == "reconstruction":
            recon = self.recon_per_image(self.decode_logits(self.encode(x).sample(generator)), x).mean()
            return detached(recon, recon=recon)
        if self.config.num_classes and (y is None or y.shape != (len(x),)):
            raise ValueError(f"a supervised mixture AAE needs class ids y [{len(x)}] with its images (--condition labels)")
        if phase == "discriminator":
            with torch.no_grad():
                z = self.encode(x).sample(generator)
            prior = self.sample_latent(len(x), generator, components=y if self.config.num_classes else None)
            real, fake = self.discriminate(prior, y), self.discriminate(z, y)
            accuracy = ((real > 0).float().mean() + (fake < 0).float().mean()) / 2
            return detached(nonsaturating_losses(real, fake), discriminator_accuracy=accuracy)
        return detached(F.softplus(-self.discriminate(self.encode(x).sample(generator), y)).mean())  # the generator phase
