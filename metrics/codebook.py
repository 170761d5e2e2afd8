"""Codebook usage of a VQ-VAE (of each level of a VQ-VAE-2): how many of its K codes the encoder actually chooses.

Perplexity (exp of the entropy of the code frequencies) says how many codes are effectively
in use, but over one batch it is capped by the batch's grid cells; the fraction of codes used at
least once over a whole split does not depend on the batch size.
"""

from __future__ import annotations

import numpy as np
import torch

from models import VQVAE
from models.vqvae import perplexity


@torch.no_grad()
def code_counts(model: VQVAE, z: torch.Tensor, level: str, batch_size: int = 256) -> torch.Tensor:
    """How often each code [K] (long) of `level` (one of model.code_levels) is chosen by the grid cells of flat latents z."""
    k = model.config.num_codes
    counts = torch.zeros(k, dtype=torch.long, device=z.device)
    for start in range(0, len(z), batch_size):
        counts += torch.bincount(model.level_codes(z[start : start + batch_size], level).flatten(), minlength=k).to(z.device)
    return counts


def counts_key(level: str) -> str:
    """The stats.safetensors key of a level's code counts: "code_counts" for a VQ-VAE's one level."""
    return "code_counts" if level == "codes" else f"code_counts_{level}"


def code_usage(counts: torch.Tensor) -> dict[str, float]:
    """codes_used: fraction of codes chosen at least once; perplexity; dead_codes: how many were never chosen."""
    counts = counts.float()
    return {
        "codes_used": (counts > 0).float().mean().item(),
        "perplexity": perplexity(counts).item(),
        "dead_codes": int((counts == 0).sum()),
    }


@torch.no_grad()
def codebook_usage(model: VQVAE, ds, batch_size: int = 250) -> dict:
    """code_usage over every image of `ds`, encoded by the model: {"images", **usage} for one level of codes,
    {"images", level: usage, ...} for several (a VQ-VAE-2's top and bottom)."""
    model.eval()
    counts = dict.fromkeys(model.code_levels, 0)
    for start in range(0, len(ds), batch_size):
        z = model.encode(ds.batch(np.arange(start, min(start + batch_size, len(ds)))).to(model.device)).mean
        counts = {level: counts[level] + code_counts(model, z, level) for level in counts}
    if len(counts) == 1:
        return {"images": len(ds), **code_usage(*counts.values())}
    return {"images": len(ds), **{level: code_usage(c) for level, c in counts.items()}}
