"""Input checks shared by the latent functions: one clear ValueError per kind of bad input."""

from __future__ import annotations

import torch


def latent_size(stats: dict[str, torch.Tensor]) -> int:
    """D, the latent size the statistics describe."""
    return stats["mean"].shape[0]


def latent_vector(z: torch.Tensor, dim: int, name: str = "z") -> torch.Tensor:
    """One latent [D] from z [D] or a batch of one [1, D]."""
    if not torch.is_tensor(z) or tuple(z.shape) not in ((dim,), (1, dim)):
        got = tuple(z.shape) if torch.is_tensor(z) else type(z).__name__
        raise ValueError(f"{name} must be one latent of size {dim}: a tensor [{dim}] or [1, {dim}], got {got}")
    return z.reshape(dim)


def latent_batch(z: torch.Tensor, dim: int | None = None, name: str = "z") -> torch.Tensor:
    """Latents [N, D] with N >= 1 (and D == dim when given)."""
    if not torch.is_tensor(z) or z.ndim != 2 or len(z) == 0 or (dim is not None and z.shape[1] != dim):
        got = tuple(z.shape) if torch.is_tensor(z) else type(z).__name__
        raise ValueError(f"{name} must be latents [N, {dim if dim is not None else 'D'}] with N >= 1, got {got}")
    return z


def binary_labels(labels, n: int, name: str = "labels") -> torch.Tensor:
    """Bool labels [N] from 0/1 or bool values, with both classes present (a direction needs two groups)."""
    y = torch.as_tensor(labels)
    if y.shape != (n,) or not ((y == 0) | (y == 1)).all():
        raise ValueError(f"{name} must be {n} binary (0/1 or bool) values, one per latent, got shape {tuple(y.shape)}")
    y = y.bool()
    if y.all() or not y.any():
        raise ValueError(f"{name}: all {n} latents are in the same group; a direction needs both positives and negatives")
    return y
