"""Image classifier: the conv encoder of the autoencoders with a classification head.

Not a generative model: it is the measuring instrument of `metrics/` -- which attributes an
edited face shows, which Fashion-MNIST class a sample looks like. It predicts either one
class label (softmax, cross-entropy) or several binary attributes (sigmoid each, binary
cross-entropy), the same two kinds of target a conditional VAE takes, with the same
config fields, so the training loop derives them from the data the same way (--condition).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .base import HubModel, ModelConfig, build_encoder, detached, option


@dataclass(frozen=True)
class ClassifierConfig(ModelConfig):
    model_type: str = option("classifier", "registry key in models.MODELS; fixed by the config class")
    latent_dim: int = option(128, "width of the feature vector between the conv encoder and the output layer")
    num_classes: int = option(10, "predict one class label out of this many (0 to predict binary attributes)")
    num_attributes: int = option(0, "predict this many binary attributes instead (needs num_classes = 0)")
    condition_names: tuple[str, ...] = option((), "names of the classes or attributes (set from the data)")

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.num_classes > 0) == (self.num_attributes > 0) or min(self.num_classes, self.num_attributes) < 0:
            raise ValueError(
                "a classifier predicts exactly one of: num_classes > 0 (a class label) or num_attributes > 0 "
                f"with num_classes = 0 (binary attributes); got num_classes={self.num_classes}, num_attributes={self.num_attributes}"
            )
        if self.condition_names and len(self.condition_names) != (self.num_classes or self.num_attributes):
            raise ValueError(f"condition_names has {len(self.condition_names)} names for {self.num_classes or self.num_attributes} outputs")


class Classifier(HubModel):
    config_class = ClassifierConfig

    def __init__(self, config: ClassifierConfig):
        super().__init__(config)
        self.features = build_encoder(config, out_dim=config.latent_dim)
        self.head = nn.Sequential(nn.SiLU(), nn.Linear(config.latent_dim, config.num_classes or config.num_attributes))

    @property
    def names(self) -> list[str]:
        """Display names of the outputs: the classes or the attributes."""
        return list(self.config.condition_names) or [f"output {i}" for i in range(self.config.num_classes or self.config.num_attributes)]

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        c, s = self.config.channels, self.config.image_size
        if not torch.is_tensor(x) or x.ndim != 4 or tuple(x.shape[1:]) != (c, s, s) or not x.is_floating_point():
            got = f"{tuple(x.shape)} {x.dtype}" if torch.is_tensor(x) else type(x).__name__
            raise ValueError(f"Classifier expects float images [N, {c}, {s}, {s}] in [0, 1], got {got}")
        return self.head(self.features(x))

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Class ids [N] (long), or binary attributes [N, A] (bool) of images x [N, C, S, S] in [0, 1]."""
        logits = self.logits(x.to(self.device))
        return logits.argmax(1).cpu() if self.config.num_classes else (logits > 0).cpu()

    def loss(self, x, y=None, step=None, generator=None) -> dict[str, torch.Tensor]:
        if y is None:
            raise ValueError("a classifier trains on targets y: class ids [N] or attributes [N, A] (--condition)")
        logits = self.logits(x)
        if self.config.num_classes:
            loss = F.cross_entropy(logits, y.long())
            accuracy = (logits.argmax(1) == y).float().mean()
        else:
            loss = F.binary_cross_entropy_with_logits(logits, y.float(), reduction="sum") / len(x)  # summed over attributes
            accuracy = ((logits > 0) == (y > 0.5)).float().mean()  # over images and attributes
        return detached(loss, accuracy=accuracy)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, step: int | None = None, generator=None):
        """Same as loss(): training goes through forward so DistributedDataParallel sees the call."""
        return self.loss(x, y, step=step, generator=generator)
