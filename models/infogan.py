"""InfoGAN (Chen et al. 2016): a DCGAN whose latent also holds codes c that the generator must keep
recoverable, by maximising a variational lower bound on the mutual information I(c; G(z, c)).

latent = [noise (latent_dim) | one-hot categorical code (categories) | continuous codes (continuous)]
    noise        N(0, I)
    categorical  uniform over `categories` values (Chen et al. 2016 use one 10-way code on MNIST)
    continuous   uniform on [-1, 1] each (the paper's Unif(-1, 1))

A Q head on the discriminator's features predicts the codes of generated images: a softmax over the
categories and a Gaussian mean per continuous code (fixed unit variance, so its log-likelihood is a
squared error). Loss weights: lambda = 1 for the categorical code, as the paper sets for discrete codes;
continuous codes get a smaller lambda, as the paper advises so that the term involving a differential
entropy stays on the scale of the GAN loss (sec. 7) -- 0.1 here. The Q head trains with the discriminator
phase, the generator with the generator phase; both minimise the same information loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import option
from .dcgan import DCGAN, DCGANConfig
from .gan import nonsaturating_losses
from .nets import detached


@dataclass(frozen=True)
class InfoGANConfig(DCGANConfig):
    model_type: str = option("infogan", "registry key in models.MODELS; fixed by the config class")
    latent_dim: int = option(62, "size of the incompressible noise (Chen et al. 2016 use 62 on MNIST)", low=1)
    categories: int = option(10, "values of the categorical code (0: none; 1 is no choice, so refused)", low=0)
    continuous: int = option(2, "continuous codes, each uniform on [-1, 1]", low=0)
    info_weight_categorical: float = option(1.0, "lambda of the categorical code's information loss (Chen et al. 2016: 1)", low=0)
    info_weight_continuous: float = option(
        0.1, "lambda of the continuous codes' information loss (smaller, as Chen et al. 2016 advise)", low=0
    )
    q_width: int = option(128, "hidden width of the Q head", low=1)
    generator_lr_scale: float = option(
        5.0, "the generator's learning rate as a multiple of the run's (Chen et al. 2016's MNIST runs: 1e-3 against 2e-4)", above=0
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        # not a range: 1 is excluded from categories >= 0, and the two counts together must give a code
        if self.categories + self.continuous == 0 or self.categories == 1:
            raise ValueError(f"InfoGAN needs codes: categories = 0 or >= 2, not both 0; got {self.categories} and {self.continuous}")


class InfoGAN(DCGAN, paper_url="https://arxiv.org/abs/1606.03657"):
    config_class = InfoGANConfig
    kind = "InfoGAN"
    has_structured_codes = True

    def __init__(self, config: InfoGANConfig):
        super().__init__(config)
        self.q = nn.Sequential(
            nn.Linear(self.discriminator.features, config.q_width),
            nn.BatchNorm1d(config.q_width),
            nn.LeakyReLU(0.2),
            nn.Linear(config.q_width, config.categories + config.continuous),
        )

    def phase_lr_scale(self, phase: str) -> float:
        return self.config.generator_lr_scale if phase == "generator" else 1.0

    @property
    def latent_shape(self) -> tuple[int, ...]:
        cfg = self.config
        return (cfg.latent_dim + cfg.categories + cfg.continuous,)

    @property
    def latent_description(self) -> str:
        cfg = self.config
        return f"noise {cfg.latent_dim} + {cfg.categories}-way code + {cfg.continuous} continuous"

    @property
    def code_slices(self) -> tuple[slice, slice]:
        """Where the categorical one-hot and the continuous codes sit in a latent."""
        start = self.config.latent_dim
        return slice(start, start + self.config.categories), slice(start + self.config.categories, self.latent_shape[0])

    def sample_latent(
        self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0, truncation: float = 0.0
    ) -> torch.Tensor:
        """Noise as every GAN draws it (temperature, truncation), a uniform category and U(-1, 1) continuous codes."""
        cfg = self.config
        device = generator.device if generator is not None else self.device
        noise = super().sample_latent(n, generator, temperature, truncation)[:, : cfg.latent_dim]
        category = torch.randint(max(cfg.categories, 1), (n,), generator=generator, device=device)
        one_hot = F.one_hot(category, cfg.categories).float() if cfg.categories else category.new_zeros((n, 0), dtype=torch.float)
        continuous = 2 * torch.rand((n, cfg.continuous), generator=generator, device=device) - 1
        return torch.cat([noise, one_hot.to(self.device), continuous.to(self.device)], dim=1)

    def with_codes(self, z: torch.Tensor, category: int | None = None, continuous: list[float] | None = None) -> torch.Tensor:
        """Latents z [N, D] with the categorical code set to `category` and/or the continuous codes to `continuous`."""
        cat, cont = self.code_slices
        z = z.clone()
        if category is not None:
            if not 0 <= category < self.config.categories:
                raise ValueError(f"category must be in [0, {self.config.categories}), got {category}")
            z[:, cat] = F.one_hot(torch.tensor(category), self.config.categories).to(z)
        if continuous is not None:
            if len(continuous) != self.config.continuous:
                raise ValueError(f"expected {self.config.continuous} continuous code values, got {len(continuous)}")
            z[:, cont] = torch.tensor(continuous, dtype=z.dtype)
        return z

    def category_of(self, z: torch.Tensor) -> torch.Tensor:
        """The categorical code of latents z [N, D]: ids [N]."""
        return z[:, self.code_slices[0]].argmax(1)

    def info_loss(self, z: torch.Tensor, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(weighted information loss, categorical cross-entropy, continuous squared error / 2) of Q's guess of z's codes."""
        cfg = self.config
        out = self.q(features)
        cat, cont = self.code_slices
        categorical = F.cross_entropy(out[:, : cfg.categories], z[:, cat].argmax(1)) if cfg.categories else out.new_zeros(())
        continuous = 0.5 * (out[:, cfg.categories :] - z[:, cont]).pow(2).sum(1).mean() if cfg.continuous else out.new_zeros(())
        return (cfg.info_weight_categorical * categorical + cfg.info_weight_continuous * continuous, categorical, continuous)

    def discriminator_loss(self, x, y, generator) -> dict[str, torch.Tensor]:
        z, fake = self.fake(len(x), y, generator)
        real_score, _ = self.discriminate(x, y)
        fake_score, features = self.discriminate(fake.detach(), y)
        info, categorical, continuous = self.info_loss(z, features)
        loss = nonsaturating_losses(real_score, fake_score) + info
        return detached(
            loss,
            d_real=torch.sigmoid(real_score).mean(),
            d_fake=torch.sigmoid(fake_score).mean(),
            info_categorical=categorical,
            info_continuous=continuous,
        )

    def generator_loss(self, x, y, generator) -> dict[str, torch.Tensor]:
        z, fake = self.fake(len(x), y, generator)
        score, features = self.discriminate(fake, y)
        info, categorical, continuous = self.info_loss(z, features)
        return detached(F.softplus(-score).mean() + info, info_categorical=categorical, info_continuous=continuous)
