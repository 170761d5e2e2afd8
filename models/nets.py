"""Building blocks: the posterior q(z|x), per-image losses, the loss dict, and the conv/MLP encoder and decoder
builders every autoencoder derives from its config."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import ACTIVATIONS, ModelConfig

# ----------------------------------------------------------------------------- posterior


class Posterior:
    """q(z|x): a diagonal Gaussian (mean, logvar), or a point mass at `mean` when logvar is None."""

    def __init__(self, mean: torch.Tensor, logvar: torch.Tensor | None = None):
        self.mean = mean  # [N, D]
        self.logvar = None if logvar is None else logvar.clamp(-30.0, 20.0)  # avoid exp overflow

    @property
    def deterministic(self) -> bool:
        return self.logvar is None

    @property
    def std(self) -> torch.Tensor:
        return torch.zeros_like(self.mean) if self.logvar is None else torch.exp(0.5 * self.logvar)

    def mode(self) -> torch.Tensor:
        return self.mean

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.logvar is None:
            return self.mean
        # reparameterisation z = mu + sigma * eps, Kingma & Welling 2014, sec. 2.4
        eps = torch.randn(self.mean.shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype)
        return self.mean + self.std * eps

    def kl(self) -> torch.Tensor:
        """Per-dimension KL(q(z|x) || N(0, I)) [N, D]."""
        if self.logvar is None:
            raise ValueError("a deterministic posterior (autoencoder code) has no KL to a prior; use a VAE")
        # KL(q(z|x) || N(0, I)) = -1/2 (1 + logvar - mu^2 - exp(logvar)), Kingma & Welling 2014, appendix B
        return -0.5 * (1.0 + self.logvar - self.mean.pow(2) - self.logvar.exp())

    def log_density(self, z: torch.Tensor) -> torch.Tensor:
        """Per-dimension log N(z; mean, exp(logvar)), broadcasting z against the posterior."""
        if self.logvar is None:
            raise ValueError("a deterministic posterior has no density")
        return gaussian_log_density(z, self.mean, self.logvar)


def gaussian_log_density(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Element-wise log N(z; mean, exp(logvar))."""
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mean).pow(2) * torch.exp(-logvar))


# ----------------------------------------------------------------------------- per-image losses


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log Bernoulli(x; sigmoid(logits)) summed over pixels: [N]."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def gaussian_nll(mean: torch.Tensor, x: torch.Tensor, std: float | torch.Tensor) -> torch.Tensor:
    """-log N(x; mean, std^2 I) summed over pixels, constant included: [N]. std: a number or a scalar tensor (learned)."""
    std = torch.as_tensor(std, dtype=mean.dtype, device=mean.device)
    per_pixel = (x - mean).pow(2) / (2 * std**2) + std.log() + 0.5 * math.log(2 * math.pi)
    return per_pixel.flatten(1).sum(1)


def squared_error(mean: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """||x - mean||^2 summed over pixels: [N]."""
    return (x - mean).pow(2).flatten(1).sum(1)


# ----------------------------------------------------------------------------- encoder / decoder builders


def feature_sizes(image_size: int) -> list[int]:
    """Feature-map sides of the conv stack: halve (rounding up) until <= 4. 28 -> [28, 14, 7, 4]."""
    sizes = [image_size]
    while sizes[-1] > 4:
        sizes.append(math.ceil(sizes[-1] / 2))
    return sizes


def _act(config: ModelConfig, linear: bool) -> nn.Module:
    return nn.Identity() if linear else ACTIVATIONS[config.activation]()


def _norm(config: ModelConfig, width: int, linear: bool) -> nn.Module:
    if linear or config.norm == "none":
        return nn.Identity()
    return nn.GroupNorm(math.gcd(8, width), width)


class ResBlock(nn.Module):
    """x + conv(act(norm(conv(act(norm(x)))))): depth at one resolution without a longer gradient path (He et al. 2016)."""

    def __init__(self, config: ModelConfig, width: int, linear: bool):
        super().__init__()
        self.body = nn.Sequential(
            _norm(config, width, linear),
            _act(config, linear),
            nn.Conv2d(width, width, 3, padding=1),
            _norm(config, width, linear),
            _act(config, linear),
            nn.Conv2d(width, width, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _res_blocks(config: ModelConfig, width: int, linear: bool) -> list[nn.Module]:
    return [ResBlock(config, width, linear) for _ in range(config.res_blocks)]


class Encoder(nn.Module):
    """x [N, C, S, S] (+ condition c [N, K]) -> h [N, out_dim]. The condition joins at the head."""

    def __init__(self, body: nn.Module, features: int, out_dim: int, cond_dim: int = 0):
        super().__init__()
        self.body = body
        self.head = nn.Linear(features + cond_dim, out_dim)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x).flatten(1)  # [N, C*H*W] of the last feature map
        if c is not None:
            h = torch.cat([h, c], dim=1)
        return self.head(h)


class Decoder(nn.Module):
    """z [N, D] (+ condition c [N, K]) -> logits [N, C, S, S]. The condition joins z at the input."""

    def __init__(self, body: nn.Module, in_dim: int, start_shape: tuple[int, ...]):
        super().__init__()
        self.start_shape = start_shape  # (C, H, W) of the first feature map, or (F,) for an MLP
        self.fc = nn.Linear(in_dim, math.prod(start_shape))
        self.body = body

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if c is not None:
            z = torch.cat([z, c], dim=1)
        h = self.fc(z).view(z.shape[0], *self.start_shape)  # [N, C, 4, 4]-ish: sizes from feature_sizes()
        return self.body(h)


def conv_widths(config: ModelConfig) -> list[int]:
    return [min(config.base_width * 2**i, config.max_width) for i in range(len(feature_sizes(config.image_size)))]


def build_encoder(config: ModelConfig, out_dim: int, cond_dim: int = 0, linear: bool = False) -> Encoder:
    """Conv (or MLP) encoder whose depth follows config.image_size. linear=True: no activations, no norm."""
    if config.mlp:
        dims = [config.channels * config.image_size**2, *config.hidden_dims]
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), _act(config, linear)]
        return Encoder(nn.Sequential(*layers), dims[-1], out_dim, cond_dim)
    sizes, widths = feature_sizes(config.image_size), conv_widths(config)
    layers = [nn.Conv2d(config.channels, widths[0], 3, padding=1), *_res_blocks(config, widths[0], linear)]
    for i in range(len(sizes) - 1):
        # stride-2 3x3 conv with padding 1 maps side s to ceil(s / 2), matching feature_sizes()
        layers += [_norm(config, widths[i], linear), _act(config, linear), nn.Conv2d(widths[i], widths[i + 1], 3, 2, 1)]
        layers += _res_blocks(config, widths[i + 1], linear)
    layers += [_norm(config, widths[-1], linear), _act(config, linear)]
    return Encoder(nn.Sequential(*layers), widths[-1] * sizes[-1] ** 2, out_dim, cond_dim)


def build_decoder(config: ModelConfig, cond_dim: int = 0, linear: bool = False) -> Decoder:
    """Mirror of build_encoder: z -> logits [N, C, S, S] of the pixel means (apply sigmoid for images)."""
    in_dim = config.latent_dim + cond_dim
    if config.mlp:
        dims = [*reversed(config.hidden_dims), config.channels * config.image_size**2]
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [_act(config, linear), nn.Linear(a, b)]
        layers.append(nn.Unflatten(1, (config.channels, config.image_size, config.image_size)))
        # fc maps z to the last hidden width (or straight to pixels when hidden_dims is empty)
        return Decoder(nn.Sequential(*layers), in_dim, (dims[0],))
    sizes, widths = feature_sizes(config.image_size), conv_widths(config)
    layers = _res_blocks(config, widths[-1], linear)
    for i in reversed(range(len(sizes) - 1)):
        # transposed 3x3 stride-2 conv gives 2s - 1 + output_padding; pick output_padding to hit sizes[i] exactly
        output_padding = sizes[i] - (2 * sizes[i + 1] - 1)
        layers += [
            _norm(config, widths[i + 1], linear),
            _act(config, linear),
            nn.ConvTranspose2d(widths[i + 1], widths[i], 3, 2, 1, output_padding=output_padding),
            *_res_blocks(config, widths[i], linear),
        ]
    layers += [_norm(config, widths[0], linear), _act(config, linear), nn.Conv2d(widths[0], config.channels, 3, padding=1)]
    return Decoder(nn.Sequential(*layers), in_dim, (widths[-1], sizes[-1], sizes[-1]))


def detached(loss: torch.Tensor, **parts: torch.Tensor | float) -> dict[str, torch.Tensor]:
    """The loss dict: "loss" with its graph plus detached named parts."""
    out = {"loss": loss}
    for name, value in parts.items():
        out[name] = value.detach() if torch.is_tensor(value) else torch.tensor(float(value), device=loss.device)
    return out
