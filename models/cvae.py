"""Conditional VAE (Sohn et al. 2015): q(z|x, y) and p(x|z, y), y a class label or binary attributes.

y is one of
    class ids         LongTensor [N] in [0, num_classes)       -> one-hot [N, num_classes]
    attribute vector  float/bool/int tensor [N, num_attributes] -> float [N, num_attributes]
and is concatenated to the encoder's features and to z at the decoder input.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .base import check_targets, option
from .vae import VAE, VAEConfig


@dataclass(frozen=True)
class CVAEConfig(VAEConfig):
    model_type: str = option("cvae", "registry key in models.MODELS; fixed by the config class")
    num_classes: int = option(10, "condition on a class label with this many classes (0 to condition on attributes)")
    num_attributes: int = option(0, "condition on this many binary attributes instead (needs num_classes = 0)")
    condition_names: tuple[str, ...] = option((), "names of the classes or attributes, for the UI (empty: numbered)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_targets(self, "CVAE conditions on")


class CVAE(VAE, paper_url="https://papers.nips.cc/paper/5775-learning-structured-output-representation-using-deep-conditional-generative-models"):
    config_class = CVAEConfig

    @property
    def condition_dim(self) -> int:
        return self.config.num_classes or self.config.num_attributes

    @property
    def condition_labels(self) -> list[str]:
        """Display names of the classes / attributes."""
        prefix = "class" if self.config.num_classes else "attribute"
        return list(self.config.condition_names) or [f"{prefix} {i}" for i in range(self.condition_dim)]

    def condition(self, y: torch.Tensor | None, n: int) -> torch.Tensor:
        cfg = self.config
        if cfg.num_classes:
            accepted = f"class ids: an integer tensor [{n}] with values in [0, {cfg.num_classes})"
            if y is None or not torch.is_tensor(y) or y.shape != (n,) or y.is_floating_point() or y.dtype == torch.bool:
                raise ValueError(f"CVAE needs y as {accepted}, got {_describe(y)}")
            if n and (y.min() < 0 or y.max() >= cfg.num_classes):
                raise ValueError(f"CVAE needs y as {accepted}, got values in [{int(y.min())}, {int(y.max())}]")
            return F.one_hot(y.long(), cfg.num_classes).float().to(self.device)
        accepted = f"attributes: a tensor [{n}, {cfg.num_attributes}] of 0/1 values"
        if y is None or not torch.is_tensor(y) or y.shape != (n, cfg.num_attributes):
            raise ValueError(f"CVAE needs y as {accepted}, got {_describe(y)}")
        return y.float().to(self.device)


def _describe(y) -> str:
    return f"tensor {tuple(y.shape)} {y.dtype}" if torch.is_tensor(y) else repr(y)
