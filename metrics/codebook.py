"""Codebook usage of a VQ-VAE: how many of its K codes the encoder actually chooses.

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
def code_counts(model: VQVAE, z: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """How often each code [K] (long) is chosen by the grid cells of flat latents z [N, D*g*g]."""
    counts = torch.zeros(model.config.num_codes, dtype=torch.long, device=z.device)
    for start in range(0, len(z), batch_size):
        counts += torch.bincount(model.codes(z[start : start + batch_size]).flatten(), minlength=model.config.num_codes).to(z.device)
    return counts


def code_usage(counts: torch.Tensor) -> dict[str, float]:
    """codes_used: fraction of codes chosen at least once; perplexity; dead_codes: how many were never chosen."""
    counts = counts.float()
    return {
        "codes_used": (counts > 0).float().mean().item(),
        "perplexity": perplexity(counts).item(),
        "dead_codes": int((counts == 0).sum()),
    }


@torch.no_grad()
def codebook_usage(model: VQVAE, ds, batch_size: int = 250) -> dict[str, float]:
    """code_usage over every image of `ds`, encoded by the model."""
    model.eval()
    counts = 0
    for start in range(0, len(ds), batch_size):
        x = ds.batch(np.arange(start, min(start + batch_size, len(ds)))).to(model.device)
        counts = counts + code_counts(model, model.encode(x).mean)
    return {"images": len(ds), **code_usage(counts)}
