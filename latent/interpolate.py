"""Paths between two latents: linear and spherical interpolation."""

from __future__ import annotations

import torch

INTERPOLATIONS = ("lerp", "slerp")


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Linear interpolation: z0, z1 [D], t [T] in [0, 1] -> [T, D]."""
    return z0 + t[:, None].to(z0.dtype) * (z1 - z0)


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Spherical interpolation: z0, z1 [D], t [T] in [0, 1] -> [T, D].

    slerp(z0, z1; t) = sin((1 - t) theta) / sin(theta) z0 + sin(t theta) / sin(theta) z1, theta the angle between
    z0 and z1 (Shoemake 1985; for latents White 2016, "Sampling Generative Networks"). Under a Gaussian prior in
    high dimension almost all mass lies near a sphere; lerp cuts through its inside, where the midpoint of two
    samples has an unusually small norm, while slerp between equal-norm vectors keeps the norm.
    When sin(theta) < eps (parallel, antiparallel or zero vectors) there is no unique great circle: falls back to lerp.
    """
    a, b = z0.double(), z1.double()
    norms = a.norm() * b.norm()
    if norms == 0:
        return lerp(z0, z1, t)
    theta = torch.arccos((a @ b / norms).clamp(-1.0, 1.0))
    if torch.sin(theta) < eps:
        return lerp(z0, z1, t)
    t = t.double()[:, None]  # [T, 1]
    return ((torch.sin((1 - t) * theta) * a + torch.sin(t * theta) * b) / torch.sin(theta)).to(z0.dtype)


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int, method: str = "slerp") -> torch.Tensor:
    """`steps` latents [steps, D] from z0 to z1 (both [D]), endpoints included."""
    if method not in INTERPOLATIONS:
        raise ValueError(f"unknown interpolation {method!r}; accepted: {', '.join(INTERPOLATIONS)}")
    if not (torch.is_tensor(z0) and torch.is_tensor(z1)) or z0.ndim != 1 or z0.shape != z1.shape:
        shapes = [tuple(z.shape) if torch.is_tensor(z) else type(z).__name__ for z in (z0, z1)]
        raise ValueError(f"interpolate needs two latents of the same size [D], got {shapes[0]} and {shapes[1]}")
    if not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be an integer >= 2 (the two endpoints included), got {steps!r}")
    t = torch.linspace(0.0, 1.0, steps, device=z0.device)
    return lerp(z0, z1, t) if method == "lerp" else slerp(z0, z1, t)
