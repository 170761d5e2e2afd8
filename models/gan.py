"""What every GAN shares: the config fields, the DCGAN generator and discriminator (Radford et al. 2016)
with their depth derived from image_size, truncated noise, and the two-phase training interface.

A GAN has no encoder: it satisfies LatentModel only (sample_latent, decode). A training step updates
the phases `phases(step)` names ("discriminator", then "generator" for a DCGAN; the generator only
every n_critic steps for a WGAN-GP), each with its own Adam over `phase_parameters(phase)`, and
`loss(x, y, step, phase=...)` is that phase's loss (train/loop.py). Images are in [0, 1] outside the
networks; inside, the generator ends in tanh and the discriminator sees 2x - 1, the [-1, 1] scale of
Radford et al. 2016.

Subclasses: dcgan.py, wgan_gp.py, cgan.py, infogan.py. They override `discriminator_loss` and
`generator_loss`, and the conditional ones `generator_input` and `score`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import Config, option
from .hub import HubModel
from .nets import feature_sizes


@dataclass(frozen=True)
class GANConfig(Config):
    image_size: int = option(64, "height = width of the images in pixels (set from the data)", low=8)
    channels: int = option(3, "image channels: 1 for grey, 3 for RGB (set from the data)", low=1)
    latent_dim: int = option(100, "size of the noise vector z (Radford et al. 2016 use 100)", low=1)
    base_width: int = option(
        32,
        "channels at half resolution (the discriminator's first layer, the generator's last hidden one); doubles at every further halving",
        low=1,
    )
    max_width: int = option(256, "cap on channels", low=1)
    discriminator_norm: str = option(
        "batch",
        "normalisation in the discriminator after its first layer: BatchNorm (DCGAN), layer norm, or none",
        choices=("batch", "layer", "none"),
    )


def gan_widths(config: GANConfig) -> list[int]:
    """Channels at each feature-map size of feature_sizes(image_size); index 0 (full resolution) is the image."""
    sizes = feature_sizes(config.image_size)
    return [config.channels] + [min(config.base_width * 2 ** (i - 1), config.max_width) for i in range(1, len(sizes))]


def up(c_in: int, c_out: int, size_in: int, size_out: int) -> nn.ConvTranspose2d:
    """Stride-2 transposed conv from size_in to size_out = 2 size_in (kernel 4) or 2 size_in - 1 (kernel 3)."""
    if size_out not in (2 * size_in, 2 * size_in - 1):
        raise ValueError(f"cannot upsample {size_in} to {size_out} with one stride-2 layer")
    return nn.ConvTranspose2d(c_in, c_out, 4 if size_out == 2 * size_in else 3, 2, 1, bias=False)


def down(c_in: int, c_out: int, size_in: int) -> nn.Conv2d:
    """Stride-2 conv from size_in to ceil(size_in / 2): kernel 4 for an even size, 3 for an odd one."""
    return nn.Conv2d(c_in, c_out, 4 if size_in % 2 == 0 else 3, 2, 1)


def _norm(kind: str, width: int) -> nn.Module:
    return {"batch": lambda: nn.BatchNorm2d(width), "layer": lambda: nn.GroupNorm(1, width), "none": nn.Identity}[kind]()


class Generator(nn.Module):
    """g [N, in_dim] -> images in [-1, 1]: project to 4x4 (a transposed conv of the 1x1 input), then upsample
    by stride-2 transposed convs with BatchNorm and ReLU, tanh at the output (Radford et al. 2016, sec. 3)."""

    def __init__(self, config: GANConfig, in_dim: int):
        super().__init__()
        sizes, widths = feature_sizes(config.image_size), gan_widths(config)
        self.project = nn.Sequential(nn.ConvTranspose2d(in_dim, widths[-1], sizes[-1], bias=False), nn.BatchNorm2d(widths[-1]), nn.ReLU())
        layers: list[nn.Module] = []
        for i in reversed(range(len(sizes) - 1)):
            layers.append(up(widths[i + 1], widths[i], sizes[i + 1], sizes[i]))
            layers += [nn.BatchNorm2d(widths[i]), nn.ReLU()] if i > 0 else [nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        return self.body(self.project(g[:, :, None, None]))


class Discriminator(nn.Module):
    """images in [-1, 1] -> features [N, F]: stride-2 convs with LeakyReLU 0.2, normalised after the first
    (Radford et al. 2016, sec. 3). The heads (real/fake score, projection, Q) sit on the features."""

    def __init__(self, config: GANConfig):
        super().__init__()
        sizes, widths = feature_sizes(config.image_size), gan_widths(config)
        layers: list[nn.Module] = []
        for i in range(len(sizes) - 1):
            layers.append(down(widths[i], widths[i + 1], sizes[i]))
            if i > 0:
                layers.append(_norm(config.discriminator_norm, widths[i + 1]))
            layers.append(nn.LeakyReLU(0.2))
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.features = widths[-1] * sizes[-1] ** 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def truncated_normal(shape: tuple[int, ...], generator: torch.Generator | None, truncation: float, device) -> torch.Tensor:
    """N(0, 1) draws, conditioned on |z| <= truncation when truncation > 0 (the truncation trick of Brock et al. 2019),
    by the inverse CDF: one draw per value, so the same generator state gives the same latents."""
    if truncation <= 0:
        return torch.randn(shape, generator=generator, device=device)
    lo = 0.5 * (1 + math.erf(-truncation / math.sqrt(2)))  # Phi(-truncation)
    u = lo + (1 - 2 * lo) * torch.rand(shape, generator=generator, device=device, dtype=torch.float64)
    return torch.special.ndtri(u).float()


class GAN(HubModel):
    """Generator + discriminator. Subclasses set config_class and the two losses."""

    config_class = GANConfig
    has_latent = True
    prior = "noise"
    PHASES = ("discriminator", "generator")
    adam_betas = (0.5, 0.999)  # Radford et al. 2016, sec. 4
    default_lr = 2e-4
    selected_by_samples = True

    def __init__(self, config: GANConfig):
        super().__init__(config)
        self.generator = Generator(config, self.generator_input_dim)
        self.discriminator = Discriminator(config)
        self.head = nn.Linear(self.discriminator.features, 1)
        for module in self.modules():  # N(0, 0.02) weights (Radford et al. 2016, sec. 4); norm scales N(1, 0.02)
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                nn.init.normal_(module.weight, 0.0, 0.02)
            elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.normal_(module.weight, 1.0, 0.02)
                nn.init.zeros_(module.bias)

    # --- the latent space

    @property
    def generator_input_dim(self) -> int:
        return self.latent_shape[0]

    @property
    def latent_description(self) -> str:
        return f"noise {self.config.latent_dim}"

    def samples_caption(self) -> str:
        below = "; column c draws input c's condition" if self.condition_labels else ""
        return f"Top row: validation images; below: samples of the generator (seed 0){below}."

    def check_latent(self, z: torch.Tensor) -> None:
        if not torch.is_tensor(z) or z.ndim != 2 or tuple(z.shape[1:]) != self.latent_shape:
            got = tuple(z.shape) if torch.is_tensor(z) else type(z).__name__
            raise ValueError(f"{type(self).__name__} expects latents [N, {self.latent_shape[0]}], got {got}")

    def sample_latent(
        self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0, truncation: float = 0.0
    ) -> torch.Tensor:
        """z ~ N(0, I) scaled by temperature; with truncation > 0 each value is drawn from N(0, 1) conditioned on
        |z| <= truncation first (Brock et al. 2019: trading variety for fidelity)."""
        device = generator.device if generator is not None else self.device
        return (temperature * truncated_normal((n, *self.latent_shape), generator, truncation, device)).to(self.device)

    def generator_input(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """What the generator network takes: z (a conditional GAN appends the condition)."""
        return z

    def first_features(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The generator's first feature map [N, W, 4, 4] (where GANSpace looks for principal directions)."""
        self.check_latent(z)
        return self.generator.project(self.generator_input(z, y)[:, :, None, None])

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z [N, D] -> images [N, C, S, S] in [0, 1]."""
        self.check_latent(z)
        return (self.generator(self.generator_input(z, y)) + 1) / 2

    # --- the discriminator

    def score(self, features: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """Real/fake logit (a critic's score) [N] from discriminator features (a conditional GAN adds a projection)."""
        return self.head(features).squeeze(1)

    def discriminate(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(score [N], features [N, F]) of images x [N, C, S, S] in [0, 1]."""
        features = self.discriminator(2 * x - 1)
        return self.score(features, y), features

    # --- training

    def phase_parameters(self, phase: str) -> list[nn.Parameter]:
        """The generator's parameters, or everything else (discriminator, its heads)."""
        mine = {id(p) for p in self.generator.parameters()}
        return [p for p in self.parameters() if (id(p) in mine) == (phase == "generator")]

    def fake(self, n: int, y: torch.Tensor | None, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(latents, generated images) for a training batch of n; y is the batch's condition."""
        z = self.sample_latent(n, generator=generator)
        return z, self.decode(z, y)

    def forward(self, x, y=None, step=None, generator=None, phase: str = "discriminator"):
        return self.loss(x, y, step=step, generator=generator, phase=phase)

    def loss(self, x, y=None, step=None, generator=None, phase: str = "discriminator") -> dict[str, torch.Tensor]:
        """The loss of one phase on a real batch x (and its condition y)."""
        self.check_images(x)
        if phase == "discriminator":
            return self.discriminator_loss(x, y, generator)
        if phase == "generator":
            return self.generator_loss(x, y, generator)
        raise ValueError(f"unknown phase {phase!r}; a GAN trains 'discriminator' and 'generator'")

    def discriminator_loss(self, x, y, generator) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def generator_loss(self, x, y, generator) -> dict[str, torch.Tensor]:
        raise NotImplementedError


def nonsaturating_losses(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The discriminator's binary cross-entropy on real (label 1) and fake (label 0) logits."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()  # -log sigmoid(real) - log(1 - sigmoid(fake))
