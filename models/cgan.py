"""Conditional GAN (Mirza & Osindero 2014) on a class label or binary attributes, trained as a DCGAN.

How y enters (the two usual choices, one on each side):
    generator      concatenation: G([z, y]) with y one-hot (classes) or the 0/1 attribute vector
    discriminator  projection (Miyato & Koyama 2018): D(x, y) = psi(phi(x)) + <V y, phi(x)>, where phi(x) are
                   the discriminator's features; the inner product with the condition's embedding V y
                   scores how well x matches y, which conditions more reliably than concatenating y
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .config import check_targets, condition_labels, condition_vector, option
from .dcgan import DCGAN, DCGANConfig


@dataclass(frozen=True)
class CGANConfig(DCGANConfig):
    model_type: str = option("cgan", "registry key in models.MODELS; fixed by the config class")
    num_classes: int = option(10, "condition on a class label with this many classes (0 to condition on attributes)", low=0)
    num_attributes: int = option(0, "condition on this many binary attributes instead (needs num_classes = 0)", low=0)
    condition_names: tuple[str, ...] = option((), "names of the classes or attributes, for the UI (empty: numbered)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_targets(self, "a conditional GAN conditions on")


class CGAN(DCGAN, paper_url="https://arxiv.org/abs/1411.1784"):
    config_class = CGANConfig
    kind = "conditional GAN"

    def __init__(self, config: CGANConfig):
        super().__init__(config)
        self.embed = nn.Linear(self.condition_dim, self.discriminator.features, bias=False)  # V of the projection
        nn.init.normal_(self.embed.weight, 0.0, 0.02)

    @property
    def condition_dim(self) -> int:
        return self.config.num_classes or self.config.num_attributes

    @property
    def generator_input_dim(self) -> int:
        return self.config.latent_dim + self.condition_dim

    @property
    def condition_labels(self) -> list[str]:
        return condition_labels(self.config)

    def condition(self, y: torch.Tensor | None, n: int) -> torch.Tensor:
        return condition_vector(self.config, y, n, self.device, "a conditional GAN")

    def generator_input(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return torch.cat([z, self.condition(y, len(z))], dim=1)

    def score(self, features: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        projection = (self.embed(self.condition(y, len(features))) * features).sum(1)
        return super().score(features, y) + projection
