"""VQ-VAE-2 (Razavi et al. 2019, "Generating Diverse High-Fidelity Images with VQ-VAE-2"): two levels of codes.

    x -> encoder_bottom -> h_b [N, W, g, g] -> encoder_top -> z_t [N, D, g/2, g/2] -> quantise -> e_t   (global structure)
    [h_b, decoder_top(e_t)] -> 1x1 conv -> z_b [N, D, g, g] -> quantise -> e_b                         (local detail)
    [e_b, upsample(e_t)] -> decoder -> x_hat

as the paper's Fig. 2a: the bottom code is computed knowing the quantised top code, so it holds only what the top one
does not, and the decoder reads both. Both levels are VectorQuantizers of models/vqvae.py (EMA codebooks, dead codes
revived), with the same codebook size K and code size D.

The explorer's latent is the continuous pre-quantisation code of both levels, flattened and concatenated,
[N, D * (g/2)^2 + D * g^2] (top first), so interpolation, sliders and attribute arithmetic act on it; `decode`
snaps each level to its codebook first. Editing the top part of a latent changes the picture's global structure with
the bottom codes kept. `codes` and `embed` speak of both levels at once: {"top": [N, g/2, g/2], "bottom": [N, g, g]}.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .base import Autoencoder
from .config import ACTIVATIONS, option
from .nets import Posterior, detached
from .vqvae import ResBlock, VectorQuantizer, VQVAEConfig, check_level

LEVELS = ("top", "bottom")


@dataclass(frozen=True)
class VQVAE2Config(VQVAEConfig):
    model_type: str = option("vqvae2", "registry key in models.MODELS; fixed by the config class")
    downsamples: int = option(
        2, "stride-2 convolutions to the bottom code grid (image_size / 2^downsamples); the top grid is half its side", low=1
    )

    top_alone_weight: float = option(
        0.0,
        "weight of a second reconstruction loss decoded from the top codes alone (the bottom level zeroed), so the top "
        "level must hold the picture's coarse structure by itself; 0: off, as in Razavi et al. 2019",
        low=0,
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.image_size % 2 ** (self.downsamples + 1):
            raise ValueError(f"image_size {self.image_size} must be divisible by 2^(downsamples + 1) = 2^{self.downsamples + 1}")


class VQVAE2(Autoencoder, paper_url="https://arxiv.org/abs/1906.00446"):
    config_class = VQVAE2Config
    kind = "VQ-VAE-2"
    prior = "learned"
    code_levels = LEVELS
    gradient_editable = False  # both levels snap to codes: no gradient with respect to the latent

    def __init__(self, config: VQVAE2Config):
        super().__init__(config)
        c, d, act, blocks = config.channels, config.latent_dim, config.activation, config.res_blocks
        widths = [min(config.base_width * 2**i, config.max_width) for i in range(config.downsamples)]
        w = widths[-1]

        def stack(width: int) -> list[nn.Module]:
            return [*[ResBlock(width, act) for _ in range(blocks)], ACTIVATIONS[act]()]

        down: list[nn.Module] = []
        for i in range(config.downsamples):
            down += [nn.Conv2d(c if i == 0 else widths[i - 1], widths[i], 4, 2, 1), ACTIVATIONS[act]()]
        self.encoder_bottom = nn.Sequential(*down, nn.Conv2d(w, w, 3, padding=1), *stack(w))
        self.encoder_top = nn.Sequential(
            nn.Conv2d(w, w, 4, 2, 1), ACTIVATIONS[act](), nn.Conv2d(w, w, 3, padding=1), *stack(w), nn.Conv2d(w, d, 1)
        )
        self.quantizer_top = VectorQuantizer(config)
        # the top code decoded to the bottom grid: what the bottom encoder is told the top level already holds
        self.decoder_top = nn.Sequential(nn.Conv2d(d, w, 3, padding=1), *stack(w), nn.ConvTranspose2d(w, d, 4, 2, 1))
        self.bottom_head = nn.Conv2d(w + d, d, 1)
        self.quantizer_bottom = VectorQuantizer(config)
        self.upsample_top = nn.ConvTranspose2d(d, d, 4, 2, 1)
        decoder: list[nn.Module] = [nn.Conv2d(2 * d, w, 3, padding=1), *[ResBlock(w, act) for _ in range(blocks)]]
        for i in reversed(range(config.downsamples)):
            decoder += [ACTIVATIONS[act](), nn.ConvTranspose2d(widths[i], c if i == 0 else widths[i - 1], 4, 2, 1)]
        self.decoder = nn.Sequential(*decoder)

    # --- the two grids

    @property
    def grid_sizes(self) -> dict[str, int]:
        """Side of each level's code grid: {"top": g/2, "bottom": g}."""
        g = self.config.image_size // 2**self.config.downsamples
        return {"top": g // 2, "bottom": g}

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.config.latent_dim * sum(s * s for s in self.grid_sizes.values()),)

    @property
    def latent_description(self) -> str:
        sizes, k = self.grid_sizes, self.config.num_codes
        return f"{sizes['top']}x{sizes['top']} top and {sizes['bottom']}x{sizes['bottom']} bottom grids of {k} codes"

    def samples_caption(self) -> str:
        return (
            "Top row: validation images; second row: their reconstructions; below: code grids of both levels drawn "
            "uniformly at random (a VQ-VAE-2 samples through priors over its codes)."
        )

    def grids(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """Flat latents [N, D*(t^2 + g^2)] -> {"top": [N, D, t, t], "bottom": [N, D, g, g]}."""
        self.check_latent(z)
        d, sizes = self.config.latent_dim, self.grid_sizes
        top, bottom = z.split([d * sizes["top"] ** 2, d * sizes["bottom"] ** 2], dim=1)
        return {
            "top": top.reshape(len(z), d, sizes["top"], sizes["top"]),
            "bottom": bottom.reshape(len(z), d, sizes["bottom"], sizes["bottom"]),
        }

    def quantizer(self, level: str) -> VectorQuantizer:
        check_level(self, level)
        return self.quantizer_top if level == "top" else self.quantizer_bottom

    def level_codebook(self, level: str) -> torch.Tensor:
        return self.quantizer(level).codebook

    def level_codes(self, z: torch.Tensor, level: str) -> torch.Tensor:
        check_level(self, level)
        return self.codes(z)[level]

    def with_level_codes(self, z: torch.Tensor, level: str, codes: torch.Tensor) -> torch.Tensor:
        """z with one level's cells set to the codebook vectors of code grids `codes` (the other level snapped to its
        codes): swapping top codes keeps the bottom ones, and the other way round."""
        return self.embed({**self.codes(z), level: codes})

    def codes(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """Code indices of both levels of flat latents: {"top": [N, t, t], "bottom": [N, g, g]}."""
        out = {}
        for level, grid in self.grids(z).items():
            n, d, s, _ = grid.shape
            out[level] = self.quantizer(level).nearest(grid.permute(0, 2, 3, 1).reshape(-1, d)).view(n, s, s)
        return out

    def embed(self, codes: dict[str, torch.Tensor]) -> torch.Tensor:
        """Flat latents holding the codebook vectors of both levels' code indices; codes(embed(c)) == c."""
        if not isinstance(codes, dict) or set(codes) != set(LEVELS):
            raise ValueError(f"a VQ-VAE-2 embeds code grids of both levels: a dict with keys {LEVELS}")
        k, parts, n = self.config.num_codes, [], None
        for level in LEVELS:
            grid, s = codes[level], self.grid_sizes[level]
            if not torch.is_tensor(grid) or grid.ndim != 3 or tuple(grid.shape[1:]) != (s, s) or grid.is_floating_point():
                got = tuple(grid.shape) if torch.is_tensor(grid) else type(grid).__name__
                raise ValueError(f"the {level} codes must be integer grids [N, {s}, {s}], got {got}")
            if n is not None and len(grid) != n:
                raise ValueError(f"the top and bottom code grids number {n} and {len(grid)}: give as many of each")
            n = len(grid)
            if grid.numel() and (grid.min() < 0 or grid.max() >= k):
                raise ValueError(f"codes must lie in [0, {k}), got {level} values in [{int(grid.min())}, {int(grid.max())}]")
            parts.append(self.quantizer(level).codebook[grid.to(self.device)].permute(0, 3, 1, 2).flatten(1))
        return torch.cat(parts, dim=1)

    # --- the model

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> Posterior:
        """Both levels' pre-quantisation codes, flattened (top first): a point mass. The bottom one is computed
        from the quantised top code, as in training."""
        self.check_images(x)
        h = self.encoder_bottom(x)
        z_top = self.encoder_top(h)
        n, d, t, _ = z_top.shape
        e_top = self.quantizer_top.codebook[self.quantizer_top.nearest(z_top.permute(0, 2, 3, 1).reshape(-1, d))]
        e_top = e_top.view(n, t, t, d).permute(0, 3, 1, 2)
        z_bottom = self.bottom_head(torch.cat([h, self.decoder_top(e_top)], dim=1))
        return Posterior(torch.cat([z_top.flatten(1), z_bottom.flatten(1)], dim=1))

    def decode_quantised(self, e_top: torch.Tensor, e_bottom: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([e_bottom, self.upsample_top(e_top)], dim=1))

    def decode_logits(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Snap each level to its codebook, then decode both: logits [N, C, S, S]. A plain lookup, no codebook update."""
        grids = self.grids(self.embed(self.codes(z)))
        return self.decode_quantised(grids["top"], grids["bottom"])

    def decode_top_alone(self, z: torch.Tensor) -> torch.Tensor:
        """Images [N, C, S, S] decoded from the top codes of flat latents z with the bottom level zeroed: what the top
        level holds by itself (the picture's coarse structure for a decoder trained with top_alone_weight > 0)."""
        grids = self.grids(self.embed(self.codes(z)))
        return torch.sigmoid(self.decode_quantised(grids["top"], torch.zeros_like(grids["bottom"])))

    def sample_latent(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> torch.Tensor:
        """Code grids of both levels drawn uniformly at random: the baseline its priors must beat."""
        device = generator.device if generator is not None else self.device
        k, sizes = self.config.num_codes, self.grid_sizes
        codes = {level: torch.randint(k, (n, sizes[level], sizes[level]), generator=generator, device=device) for level in LEVELS}
        return self.embed(codes)

    def loss(self, x, y=None, step=None, generator=None) -> dict[str, torch.Tensor]:
        """Per-pixel MSE of the reconstruction + commitment_cost * (commitment of both levels) (+ codebook losses)
        (+ top_alone_weight * the MSE of the reconstruction from the top codes alone, reported as recon_top)."""
        self.check_images(x)
        h = self.encoder_bottom(x)
        q_top, _, top = self.quantizer_top(self.encoder_top(h))
        q_bottom, _, bottom = self.quantizer_bottom(self.bottom_head(torch.cat([h, self.decoder_top(q_top)], dim=1)))
        recon = F.mse_loss(torch.sigmoid(self.decode_quantised(q_top, q_bottom)), x)
        commitment = top["commitment"] + bottom["commitment"]
        loss = recon + self.config.commitment_cost * commitment + top.get("codebook", 0.0) + bottom.get("codebook", 0.0)
        parts = {"recon": recon, "commitment": commitment, "perplexity_top": top["perplexity"], "perplexity_bottom": bottom["perplexity"]}
        if self.config.top_alone_weight > 0:
            parts["recon_top"] = F.mse_loss(torch.sigmoid(self.decode_quantised(q_top, torch.zeros_like(q_bottom))), x)
            loss = loss + self.config.top_alone_weight * parts["recon_top"]
        return detached(loss, **parts)
