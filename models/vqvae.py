"""VQ-VAE (van den Oord et al. 2017, "Neural Discrete Representation Learning").

    x [N, C, S, S] -> encoder -> z_e [N, D, g, g] -> nearest of K codebook vectors -> z_q -> decoder -> x_hat

g = S / 2^downsamples. The encoder's output is snapped to its nearest codebook vector at every
grid cell; gradients skip the snap (straight-through estimator). The codebook is learned either
by exponential moving averages of the encoder outputs assigned to each code (the paper's
appendix A.1, as in Razavi et al. 2019) or by the codebook loss ||sg[z_e] - e||^2. Codes no
encoder output has chosen for `revive_after` steps are re-initialised from encoder outputs of the
current batch, so the codebook does not collapse onto a few codes.

The explorer's latent of a VQ-VAE is the continuous pre-quantisation grid z_e, flattened to
[N, D * g * g] (channel-major, like z_e.flatten(1)), so interpolation, sliders and attribute
arithmetic act on it; `decode` quantises before decoding. Its sampler is a PixelCNN prior over
the code grid (models/pixelcnn.py); without one, `sample_latent` draws codes uniformly at random,
the baseline a learned prior must beat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from .base import Autoencoder
from .config import ACTIVATIONS, ModelConfig, option
from .nets import Posterior, detached


@dataclass(frozen=True)
class VQVAEConfig(ModelConfig):
    model_type: str = option("vqvae", "registry key in models.MODELS; fixed by the config class")
    latent_dim: int = option(16, "size D of each codebook vector and of the encoder output at each grid cell", low=1)
    num_codes: int = option(256, "codebook size K (van den Oord et al. 2017 used 512 on ImageNet)", low=2)
    downsamples: int = option(2, "stride-2 convolutions: the code grid is image_size / 2^downsamples on a side", low=1)
    res_blocks: int = option(2, "residual blocks at grid resolution in encoder and decoder (van den Oord et al. 2017 used 2)", low=0)
    activation: str = option("relu", "nonlinearity between layers", choices=tuple(ACTIVATIONS))
    commitment_cost: float = option(0.25, "beta on the commitment loss ||z_e - sg[e]||^2 (van den Oord et al. 2017: 0.25)", low=0)
    codebook_update: str = option(
        "ema", "learn the codebook by exponential moving averages or by the codebook loss ||sg[z_e] - e||^2", choices=("ema", "loss")
    )
    ema_decay: float = option(0.99, "decay of the moving averages (van den Oord et al. 2017, appendix A.1: 0.99)", above=0, below=1)
    ema_epsilon: float = option(1e-5, "Laplace smoothing of the code counts, so no count is 0", above=0)
    revive_after: int = option(
        100, "re-initialise a code from recent encoder outputs after this many training steps unused (0: never)", low=0
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mlp:
            raise ValueError("a VQ-VAE is convolutional: its latent is a grid of codes (mlp=False)")
        if self.image_size % 2**self.downsamples:
            raise ValueError(f"image_size {self.image_size} must be divisible by 2^downsamples = 2^{self.downsamples}")


class VectorQuantizer(nn.Module):
    """Nearest-neighbour lookup in a codebook of K vectors of size D, with the codebook's own learning rule."""

    def __init__(self, config: VQVAEConfig):
        super().__init__()
        self.config = config
        k, d = config.num_codes, config.latent_dim
        ema = config.codebook_update == "ema"
        # the EMA rule sets the codebook directly; only the codebook loss trains it by gradient
        self.codebook = nn.Parameter(torch.randn(k, d) / math.sqrt(d), requires_grad=not ema)
        if ema:
            self.register_buffer("ema_count", torch.ones(k))  # N_i: moving average of how many vectors chose code i
            self.register_buffer("ema_sum", self.codebook.detach().clone())  # m_i: moving sum of those vectors
        self.register_buffer("unused_steps", torch.zeros(k))  # training steps since code i was last chosen

    def nearest(self, flat: torch.Tensor) -> torch.Tensor:
        """Index [M] of the nearest code of each vector of flat [M, D] (squared Euclidean distance). Always in float32,
        also under bfloat16 autocast: training must pick the code that inference picks."""
        with torch.autocast(flat.device.type, enabled=False):
            e = self.codebook.float()
            distance = flat.float().pow(2).sum(1, keepdim=True) - 2 * flat.float() @ e.T + e.pow(2).sum(1)  # [M, K]
        return distance.argmin(1)

    def forward(self, z_e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """z_e [N, D, g, g] -> (z_q with straight-through gradient [N, D, g, g], codes [N, g, g], loss parts)."""
        n, d, h, w = z_e.shape
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, d).float()  # [N*g*g, D] for the codebook lookup
        codes = self.nearest(flat)
        if self.training:
            self.update(flat.detach(), codes)
        quantised = self.codebook[codes]  # [N*g*g, D]
        # commitment loss: keeps the encoder output near its code (van den Oord et al. 2017, eq. 3, third term)
        parts = {"commitment": F.mse_loss(flat, quantised.detach())}
        if self.config.codebook_update == "loss":
            parts["codebook"] = F.mse_loss(quantised, flat.detach())  # eq. 3, second term
        # straight-through: the forward pass uses the code, the backward pass copies the gradient to z_e
        straight = flat + (quantised - flat).detach()
        z_q = straight.view(n, h, w, d).permute(0, 3, 1, 2).to(z_e.dtype)  # back to [N, D, g, g]
        counts = torch.bincount(codes, minlength=self.config.num_codes).float()
        parts["perplexity"] = perplexity(counts)
        return z_q, codes.view(n, h, w), parts

    @torch.no_grad()
    def update(self, flat: torch.Tensor, codes: torch.Tensor) -> None:
        """One training step of the codebook's own rule: EMA (if chosen) and dead-code revival."""
        cfg = self.config
        counts = torch.bincount(codes, minlength=cfg.num_codes).float()
        sums = torch.zeros_like(self.codebook, dtype=torch.float32).index_add_(0, codes, flat)
        if dist.is_initialized():  # every process updates its copy of the codebook with everyone's batch
            dist.all_reduce(counts)
            dist.all_reduce(sums)
        if cfg.codebook_update == "ema":
            # N_i <- g N_i + (1 - g) n_i;  m_i <- g m_i + (1 - g) sum of z_e with code i;  e_i = m_i / N_i  (appendix A.1)
            self.ema_count.mul_(cfg.ema_decay).add_(counts, alpha=1 - cfg.ema_decay)
            self.ema_sum.mul_(cfg.ema_decay).add_(sums, alpha=1 - cfg.ema_decay)
            total = self.ema_count.sum()
            smoothed = (self.ema_count + cfg.ema_epsilon) / (total + cfg.num_codes * cfg.ema_epsilon) * total  # Laplace smoothing
            self.codebook.copy_(self.ema_sum / smoothed[:, None])
        self.unused_steps.copy_(torch.where(counts > 0, torch.zeros_like(counts), self.unused_steps + 1))
        dead = (self.unused_steps >= cfg.revive_after).nonzero().flatten() if cfg.revive_after else codes[:0]
        if len(dead):
            fresh = flat[torch.randint(len(flat), (len(dead),), device=flat.device)]
            if dist.is_initialized():
                dist.broadcast(fresh, 0)  # the same revived codes on every process
            self.codebook[dead] = fresh
            if cfg.codebook_update == "ema":
                self.ema_sum[dead], self.ema_count[dead] = fresh, 1.0
            self.unused_steps[dead] = 0


def check_level(model, level: str) -> None:
    if level not in model.code_levels:
        raise ValueError(f"unknown code level {level!r}; {type(model).__name__} has {', '.join(model.code_levels)}")


def perplexity(counts: torch.Tensor) -> torch.Tensor:
    """exp(entropy) of the code frequencies: how many codes are effectively in use (K when all are equally used)."""
    p = counts / counts.sum().clamp_min(1)
    return torch.exp(-(p * torch.log(p.clamp_min(1e-12))).sum())


class ResBlock(nn.Module):
    """x + conv1x1(act(conv3x3(act(x)))): the residual block of van den Oord et al. 2017, section 4.1."""

    def __init__(self, width: int, activation: str):
        super().__init__()
        self.body = nn.Sequential(
            ACTIVATIONS[activation](), nn.Conv2d(width, width, 3, padding=1), ACTIVATIONS[activation](), nn.Conv2d(width, width, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class VQVAE(Autoencoder, paper_url="https://arxiv.org/abs/1711.00937"):
    config_class = VQVAEConfig
    kind = "VQ-VAE"
    prior = "learned"
    code_levels = ("codes",)
    gradient_editable = False  # the decoder snaps every grid cell to a code: no gradient with respect to the latent

    def __init__(self, config: VQVAEConfig):
        super().__init__(config)
        c, d, act = config.channels, config.latent_dim, config.activation
        widths = [min(config.base_width * 2**i, config.max_width) for i in range(config.downsamples)]
        top = widths[-1]
        # 4x4 stride-2 convolutions halve the side exactly (image_size is divisible by 2^downsamples)
        down = [nn.Conv2d(c if i == 0 else widths[i - 1], widths[i], 4, 2, 1) for i in range(config.downsamples)]
        encoder: list[nn.Module] = []
        for conv in down:
            encoder += [conv, ACTIVATIONS[act]()]
        encoder += [
            nn.Conv2d(top, top, 3, padding=1),
            *[ResBlock(top, act) for _ in range(config.res_blocks)],
            ACTIVATIONS[act](),
            nn.Conv2d(top, d, 1),
        ]
        self.encoder = nn.Sequential(*encoder)
        self.quantizer = VectorQuantizer(config)
        decoder: list[nn.Module] = [nn.Conv2d(d, top, 3, padding=1), *[ResBlock(top, act) for _ in range(config.res_blocks)]]
        for i in reversed(range(config.downsamples)):
            decoder += [ACTIVATIONS[act](), nn.ConvTranspose2d(widths[i], c if i == 0 else widths[i - 1], 4, 2, 1)]
        self.decoder = nn.Sequential(*decoder)

    @property
    def grid_size(self) -> int:
        return self.config.image_size // 2**self.config.downsamples

    @property
    def grid_sizes(self) -> dict[str, int]:
        """Side of each level's code grid (one level)."""
        return {"codes": self.grid_size}

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.config.latent_dim * self.grid_size**2,)

    @property
    def latent_description(self) -> str:
        return f"{self.grid_size}x{self.grid_size} grid of {self.config.num_codes} codes"

    def samples_caption(self) -> str:
        return (
            "Top row: validation images; second row: their reconstructions; below: code grids drawn uniformly at random "
            "(a VQ-VAE samples through its PixelCNN prior, whose card shows those samples)."
        )

    def grid(self, z: torch.Tensor) -> torch.Tensor:
        """Flat latents [N, D*g*g] -> the grid [N, D, g, g] they flatten."""
        self.check_latent(z)
        return z.view(len(z), self.config.latent_dim, self.grid_size, self.grid_size)

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> Posterior:
        """The continuous pre-quantisation grid z_e, flattened: a point mass [N, D*g*g]."""
        self.check_images(x)
        return Posterior(self.encoder(x).flatten(1))

    def codes(self, z: torch.Tensor) -> torch.Tensor:
        """Code indices [N, g, g] of flat latents [N, D*g*g] (each cell snapped to its nearest code)."""
        grid = self.grid(z)
        flat = grid.permute(0, 2, 3, 1).reshape(-1, self.config.latent_dim)  # [N*g*g, D]
        return self.quantizer.nearest(flat).view(len(z), self.grid_size, self.grid_size)

    def embed(self, codes: torch.Tensor) -> torch.Tensor:
        """Flat latents [N, D*g*g] holding the codebook vectors of code indices [N, g, g]; codes(embed(c)) == c."""
        g, k = self.grid_size, self.config.num_codes
        if not torch.is_tensor(codes) or codes.ndim != 3 or tuple(codes.shape[1:]) != (g, g) or codes.is_floating_point():
            got = tuple(codes.shape) if torch.is_tensor(codes) else type(codes).__name__
            raise ValueError(f"{type(self).__name__} expects integer code grids [N, {g}, {g}], got {got}")
        if codes.numel() and (codes.min() < 0 or codes.max() >= k):
            raise ValueError(f"codes must lie in [0, {k}), got values in [{int(codes.min())}, {int(codes.max())}]")
        vectors = self.quantizer.codebook[codes.to(self.device)]  # [N, g, g, D]
        return vectors.permute(0, 3, 1, 2).flatten(1)

    # --- the one level of code_levels (the Codebook tab speaks of levels; a VQ-VAE-2 has two)

    def level_codebook(self, level: str) -> torch.Tensor:
        check_level(self, level)
        return self.quantizer.codebook

    def level_codes(self, z: torch.Tensor, level: str) -> torch.Tensor:
        check_level(self, level)
        return self.codes(z)

    def with_level_codes(self, z: torch.Tensor, level: str, codes: torch.Tensor) -> torch.Tensor:
        """Flat latents [N, D*g*g] of code grids [N, g, g] (z, the latents they replace, only sets the batch size)."""
        check_level(self, level)
        return self.embed(codes)

    def decode_logits(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Quantise the flat latents, then decode: logits [N, C, S, S]. A plain codebook lookup: decoding never
        updates the codebook or computes training losses (the quantiser's forward does, in `loss`)."""
        return self.decoder(self.grid(self.embed(self.codes(z))))

    def sample_latent(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> torch.Tensor:
        """Code grids drawn uniformly at random (temperature has no effect): the baseline a learned prior must beat.
        The explorer samples through the PixelCNN prior when one is loaded."""
        device = generator.device if generator is not None else self.device
        codes = torch.randint(self.config.num_codes, (n, self.grid_size, self.grid_size), generator=generator, device=device)
        return self.embed(codes)

    def loss(self, x, y=None, step=None, generator=None) -> dict[str, torch.Tensor]:
        """Per-pixel MSE of the reconstruction + commitment_cost * commitment (+ codebook loss)."""
        self.check_images(x)
        z_q, _, parts = self.quantizer(self.encoder(x))
        recon = F.mse_loss(torch.sigmoid(self.decoder(z_q)), x)
        loss = recon + self.config.commitment_cost * parts["commitment"] + parts.get("codebook", 0.0)
        return detached(loss, recon=recon, **parts)
