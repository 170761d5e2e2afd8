"""A VQ-VAE's codebook as pictures: a colour per code, a 2-D map of the code vectors, each code's decoded patch,
and code grids with cells replaced. Each speaks of one level of model.code_levels (a VQ-VAE has one, a VQ-VAE-2 a
top and a bottom one). Pure tensor functions; ui/codebook.py draws them."""

from __future__ import annotations

import torch

from models import VQVAE

from .pca import fit_pca, to_pca


def code_colours(model: VQVAE, level: str) -> torch.Tensor:
    """uint8 RGB [K, 3]: the level's codebook's top three principal coordinates scaled to [40, 230], so codes with
    similar vectors get similar colours on the code map."""
    codebook = model.level_codebook(level).detach().float().cpu()
    k = min(3, *codebook.shape)
    coords = to_pca(codebook, fit_pca(codebook, k))  # [K, k]
    low, high = coords.min(0).values, coords.max(0).values
    scaled = (coords - low) / (high - low).clamp_min(1e-8)
    rgb = torch.full((len(codebook), 3), 0.5)
    rgb[:, :k] = scaled
    return (40 + 190 * rgb).round().to(torch.uint8)


def codebook_projection(model: VQVAE, level: str) -> torch.Tensor:
    """2-D coordinates [K, 2] of the level's code vectors on their top two principal directions."""
    codebook = model.level_codebook(level).detach().float().cpu()
    return to_pca(codebook, fit_pca(codebook, 2))


@torch.no_grad()
def code_patches(model: VQVAE, level: str, base: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """What each code of `level` draws: images [K, C, p, p], p = image_size / the level's grid side, cut from the
    middle of the decoding of a grid that holds the code in every cell (away from the border, where the decoder sees
    padding). base: a flat latent [D] whose codes the other levels keep (a VQ-VAE-2's; a VQ-VAE has no other)."""
    k = model.config.num_codes
    g = model.level_codes(base[None].to(model.device), level).shape[-1]
    p = model.config.image_size // g
    middle = (g // 2) * p
    patches = []
    for start in range(0, k, batch_size):
        codes = torch.arange(start, min(start + batch_size, k))[:, None, None].expand(-1, g, g)
        z = base[None].to(model.device).expand(len(codes), -1)
        images = model.decode(model.with_level_codes(z, level, codes)).cpu()
        patches.append(images[:, :, middle : middle + p, middle : middle + p])
    return torch.cat(patches)


def replace_codes(codes: torch.Tensor, cells: dict[tuple[int, int], int], num_codes: int) -> torch.Tensor:
    """A copy of a code grid [g, g] with cells {(row, col): code} replaced (ValueError naming a bad cell or code)."""
    g = codes.shape[-1]
    out = codes.clone()
    for (row, col), code in cells.items():
        if not (0 <= row < g and 0 <= col < g):
            raise ValueError(f"cell ({row}, {col}) is outside the {g}x{g} code grid")
        if not 0 <= code < num_codes:
            raise ValueError(f"code {code} is not in the codebook; choose 0..{num_codes - 1}")
        out[row, col] = code
    return out
