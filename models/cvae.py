"""Conditional VAE (Sohn et al. 2015): q(z|x, y) and p(x|z, y), y a class label or binary attributes.

y is one of
    class ids         LongTensor [N] in [0, num_classes)       -> one-hot [N, num_classes]
    attribute vector  float/bool/int tensor [N, num_attributes] -> float [N, num_attributes]
and is concatenated to the encoder's features and to z at the decoder input.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import check_targets, condition_labels, condition_vector, option
from .vae import VAE, VAEConfig


@dataclass(frozen=True)
class CVAEConfig(VAEConfig):
    model_type: str = option("cvae", "registry key in models.MODELS; fixed by the config class")
    num_classes: int = option(10, "condition on a class label with this many classes (0 to condition on attributes)", low=0)
    num_attributes: int = option(0, "condition on this many binary attributes instead (needs num_classes = 0)", low=0)
    condition_names: tuple[str, ...] = option((), "names of the classes or attributes, for the UI (empty: numbered)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_targets(self, "CVAE conditions on")


class CVAE(
    VAE, paper_url="https://papers.nips.cc/paper/5775-learning-structured-output-representation-using-deep-conditional-generative-models"
):
    config_class = CVAEConfig
    kind = "conditional VAE"

    @property
    def condition_dim(self) -> int:
        return self.config.num_classes or self.config.num_attributes

    @property
    def condition_labels(self) -> list[str]:
        """Display names of the classes / attributes."""
        return condition_labels(self.config)

    def condition(self, y: torch.Tensor | None, n: int) -> torch.Tensor:
        return condition_vector(self.config, y, n, self.device, "CVAE")
