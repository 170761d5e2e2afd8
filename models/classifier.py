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

from .config import ModelConfig, check_targets, option
from .hub import HubModel
from .nets import build_encoder, detached


@dataclass(frozen=True)
class ClassifierConfig(ModelConfig):
    model_type: str = option("classifier", "registry key in models.MODELS; fixed by the config class")
    latent_dim: int = option(128, "width of the feature vector between the conv encoder and the output layer", low=1)
    num_classes: int = option(10, "predict one class label out of this many (0 to predict binary attributes)", low=0)
    num_attributes: int = option(0, "predict this many binary attributes instead (needs num_classes = 0)", low=0)
    condition_names: tuple[str, ...] = option((), "names of the classes or attributes (set from the data)")
    augment: float = option(
        0.0,
        "training only: the share of images blurred (Gaussian, sigma up to 1.5 px) and noised (std up to 0.05), so a judge of decoded images reads what they show, not how sharp they are",
        low=0,
        high=1,
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_targets(self, "a classifier predicts")


class Classifier(HubModel):
    config_class = ClassifierConfig
    kind = "classifier"
    classifies = True
    pipeline_tag = "image-classification"

    def __init__(self, config: ClassifierConfig):
        super().__init__(config)
        self.features = build_encoder(config, out_dim=config.latent_dim)
        self.head = nn.Sequential(nn.SiLU(), nn.Linear(config.latent_dim, config.num_classes or config.num_attributes))

    @property
    def names(self) -> list[str]:
        """Display names of the outputs: the classes or the attributes."""
        return list(self.config.condition_names) or [f"output {i}" for i in range(self.config.num_classes or self.config.num_attributes)]

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        self.check_images(x)
        return self.head(self.features(x))

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Class ids [N] (long), or binary attributes [N, A] (bool) of images x [N, C, S, S] in [0, 1]."""
        logits = self.logits(x.to(self.device))
        return logits.argmax(1).cpu() if self.config.num_classes else (logits > 0).cpu()

    @torch.no_grad()
    def confidence(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """How sure the classifier is of images x [N, C, S, S]: [N] in [0, 1], what rejection sampling thresholds
        (Razavi et al. 2019, sec. 3.3). A class classifier: the probability of class y [N] where given, else of its
        top class. An attribute classifier: its least sure attribute, min over attributes of max(p, 1 - p), so a draw
        passes only when every attribute is plainly there or plainly not (a collage of two faces' parts is not)."""
        logits = self.logits(x.to(self.device)).float()
        if self.config.num_classes:
            probability = torch.softmax(logits, 1)
            return (probability.max(1).values if y is None else probability[torch.arange(len(x)), y.to(self.device).long()]).cpu()
        probability = torch.sigmoid(logits)
        return torch.maximum(probability, 1 - probability).min(1).values.cpu()

    def loss(self, x, y=None, step=None, generator=None) -> dict[str, torch.Tensor]:
        if y is None:
            raise ValueError("a classifier trains on targets y: class ids [N] or attributes [N, A] (--condition)")
        if self.training and self.config.augment > 0:
            x = torch.where(
                torch.rand(len(x), 1, 1, 1, generator=generator, device=x.device) < self.config.augment, degrade(x, generator), x
            )
        logits = self.logits(x)
        if self.config.num_classes:
            loss = F.cross_entropy(logits, y.long())
            accuracy = (logits.argmax(1) == y).float().mean()
        else:
            loss = F.binary_cross_entropy_with_logits(logits, y.float(), reduction="sum") / len(x)  # summed over attributes
            accuracy = ((logits > 0) == (y > 0.5)).float().mean()  # over images and attributes
        return detached(loss, accuracy=accuracy)


def degrade(x: torch.Tensor, generator: torch.Generator | None = None, max_sigma: float = 1.5, max_noise: float = 0.05) -> torch.Tensor:
    """Each image blurred by a Gaussian of random sigma in (0, max_sigma] px, plus Gaussian noise of random std in
    [0, max_noise]: how a decoder's output differs from the data, without changing what the image shows."""
    n, c, h, w = x.shape
    radius = 3  # a 7-tap kernel covers 2 sigma at sigma 1.5
    sigma = torch.rand(n, generator=generator, device=x.device) * max_sigma + 1e-3
    taps = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-(taps[None] ** 2) / (2 * sigma[:, None] ** 2))
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)[:, None, None, :]  # [N*C, 1, 1, 7]: one per image and channel
    blurred = x.reshape(1, n * c, h, w)  # images and channels as groups of one depthwise conv
    blurred = F.conv2d(F.pad(blurred, (radius, radius, 0, 0), mode="replicate"), kernel, groups=n * c)  # along x
    blurred = F.conv2d(F.pad(blurred, (0, 0, radius, radius), mode="replicate"), kernel.transpose(2, 3), groups=n * c)  # along y
    noise = torch.rand(n, 1, 1, 1, generator=generator, device=x.device) * max_noise
    return (blurred.reshape(n, c, h, w) + noise * torch.randn(x.shape, generator=generator, device=x.device)).clamp(0, 1)
