"""Latent sliders (one per dimension, or one per principal direction) and the 2-D manifold grid."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import torch

from .checks import latent_size, latent_vector
from .pca import stats_pca, to_pca
from .stats import ACTIVE_KL

SLIDER_MODES = ("kl", "pca")  # over the latent itself; Explorer adds "attributes" (attribute_specs)
ATTRIBUTE_RANGE = 1.0  # an attribute slider runs over strengths -1..1 of its direction, 0 at the current image (beyond 1 on faces-vae, other attributes change on over 10% of faces: docs/explorer.md)
PCA_RANGE_STDS = 3.0  # a PCA slider spans +-3 standard deviations of the latent means along its direction
ACTIVE_VARIANCE_FRACTION = 1e-3  # a principal direction explaining less of the means' variance than this is unused
RANGE_MARGIN = 0.05  # slider ranges are widened by this fraction of their width on each side
GRID_SPACINGS = ("percentile", "gaussian")


@dataclass(frozen=True)
class SliderSpec:
    """One slider of the explorer."""

    index: int  # latent dimension (mode "kl") or principal component (mode "pca"): the key for apply_sliders
    label: str  # display text, e.g. "z3 · KL 1.42" or "PC1 · 31.0% var"
    min: float
    max: float
    value: float  # the current latent's value: z[index], or its coordinate along the component
    active: bool  # False: the model does not use this direction (KL < ACTIVE_KL, or negligible variance)
    kl: float | None  # mean KL of the dimension in nats; None for PCA sliders and models without a KL


def slider_specs(z: torch.Tensor, stats: dict[str, torch.Tensor], mode: str = "kl", limit: int | None = None) -> list[SliderSpec]:
    """Sliders for latent z [D] (or [1, D]), most informative first, at most `limit` of them.

    mode "kl": one slider per dimension, ordered by mean KL(q(z_d|x) || N(0, 1)) -- the information the dimension
    carries -- or, for a deterministic autoencoder (no KL in the stats), by the standard deviation of the posterior
    means. Ranges span the aggregate posterior's 1st..99th percentiles (stats p01, p99). Dimensions with
    KL < ACTIVE_KL are flagged inactive: the encoder ignores them and so does the decoder (Burda et al. 2016,
    "active units").
    mode "pca": one slider per principal direction of the posterior means, by decreasing variance; the value is z's
    coordinate along the direction, the range +-PCA_RANGE_STDS standard deviations around the mean.
    Every range is widened by RANGE_MARGIN and stretched to contain the current value.
    """
    if mode not in SLIDER_MODES:
        raise ValueError(f"unknown slider mode {mode!r}; accepted: {', '.join(SLIDER_MODES)}")
    z = latent_vector(z, latent_size(stats))
    if mode == "kl":
        kl = stats.get("kl")
        order = torch.argsort(stats["std"] if kl is None else kl, descending=True, stable=True)
        specs = [
            SliderSpec(
                index=d,
                label=f"z{d} · std {stats['std'][d]:.2f}" if kl is None else f"z{d} · KL {kl[d]:.2f}",
                **_range(stats["p01"][d], stats["p99"][d], z[d]),
                active=kl is None or bool(kl[d] >= ACTIVE_KL),
                kl=None if kl is None else float(kl[d]),
            )
            for d in order.tolist()
        ]
    else:
        basis = stats_pca(stats)
        coords = to_pca(z, basis)  # [K]
        # [K] share of the means' variance; a GAN's directions carry a share of its generator's feature variance
        fraction = stats.get("pca_explained", basis.variance / basis.variance.sum().clamp_min(1e-30))
        spread = PCA_RANGE_STDS * basis.variance.sqrt()  # [K]
        specs = [
            SliderSpec(
                index=k,
                label=f"PC{k + 1} · {fraction[k]:.1%} var",
                **_range(-spread[k], spread[k], coords[k]),
                active=bool(fraction[k] >= ACTIVE_VARIANCE_FRACTION),
                kl=None,
            )
            for k in range(len(coords))
        ]
    return specs if limit is None else specs[:limit]


def attribute_specs(names: list[str], directions: torch.Tensor, held: set[str] = frozenset()) -> list[SliderSpec]:
    """One slider per named attribute direction (latent.independent_directions), in the order given: its value is the
    strength added to the current latent (0: the image as it is), over +-ATTRIBUTE_RANGE. A held attribute, or one the
    held ones leave no direction to, is inactive."""
    return [
        SliderSpec(
            index=i,
            label=name,
            min=-ATTRIBUTE_RANGE,
            max=ATTRIBUTE_RANGE,
            value=0.0,
            active=name not in held and bool(directions[i].norm() > 0),
            kl=None,
        )
        for i, name in enumerate(names)
    ]


def _range(low: torch.Tensor, high: torch.Tensor, value: torch.Tensor) -> dict[str, float]:
    """min, max and value of a slider: [low, high] stretched to hold value, widened by RANGE_MARGIN (min < max always)."""
    low, high, value = float(low), float(high), float(value)
    low, high = min(low, value), max(high, value)
    pad = max(RANGE_MARGIN * (high - low), 1e-3)
    return {"min": low - pad, "max": high + pad, "value": value}


def apply_sliders(z: torch.Tensor, values: Mapping[int, float], stats: dict[str, torch.Tensor], mode: str = "kl") -> torch.Tensor:
    """Latent [D] from base latent z [D] (or [1, D]) with slider values {SliderSpec.index: value} applied.

    mode "kl": sets z[index] = value. mode "pca": moves z along each named component until its coordinate equals
    the value, leaving the coordinates along every other direction unchanged.
    """
    z = latent_vector(z, latent_size(stats)).clone()
    index = list(values)
    _check_indices(index, stats, mode)
    if not values:
        return z
    target = torch.tensor([float(values[i]) for i in index], dtype=z.dtype)  # [S]
    if mode == "kl":
        z[index] = target
        return z
    at, directions = _axes(z, index, stats, mode)
    return z + (target - at) @ directions


def slider_axes(z: torch.Tensor, indices: list[int], stats: dict[str, torch.Tensor], mode: str = "kl") -> tuple[torch.Tensor, torch.Tensor]:
    """(at [S], directions [S, D]) of the sliders `indices` at base latent z [D]: apply_sliders(z, {i: v}) equals
    z + (v - at) @ directions (exactly in mode "kl", to rounding in "pca"). This affine map is all a page needs to
    turn slider values into a latent without the statistics."""
    z = latent_vector(z, latent_size(stats))
    _check_indices(indices, stats, mode)
    return _axes(z, indices, stats, mode)


def _axes(z: torch.Tensor, indices: list[int], stats: dict[str, torch.Tensor], mode: str) -> tuple[torch.Tensor, torch.Tensor]:
    """slider_axes of a checked latent and checked indices."""
    if mode == "kl":
        return z[indices].clone(), torch.eye(len(z), dtype=z.dtype)[indices]
    basis = stats_pca(stats)
    return to_pca(z, basis)[indices], basis.components[indices]


def _check_indices(indices: list[int], stats: dict[str, torch.Tensor], mode: str) -> None:
    if mode not in SLIDER_MODES:
        raise ValueError(f"unknown slider mode {mode!r}; accepted: {', '.join(SLIDER_MODES)}")
    count = latent_size(stats) if mode == "kl" else len(stats_pca(stats).variance)
    bad = [i for i in indices if not (isinstance(i, int) and 0 <= i < count)]
    if bad:
        raise ValueError(f"slider indices {bad} out of range; mode {mode!r} has indices 0..{count - 1}")


class ManifoldGrid(NamedTuple):
    latents: torch.Tensor  # [n * n, 2] row-major: latents[i * n + j] = (xs[j], ys[i])
    xs: torch.Tensor  # [n] z_0 of each column, increasing left to right
    ys: torch.Tensor  # [n] z_1 of each row, decreasing top to bottom (larger z_1 at the top, as in a plot)


def manifold_grid(stats: dict[str, torch.Tensor], n: int = 15, spacing: str = "percentile") -> ManifoldGrid:
    """An n x n grid of latents over a 2-D latent space, to decode into a picture of the learned manifold.

    spacing "percentile": evenly spaced over the aggregate posterior's p01..p99 box.
    spacing "gaussian": Gaussian quantiles at probabilities (i + 0.5) / n -- linearly spaced coordinates on the unit
    square mapped through the inverse Gaussian CDF (Kingma & Welling 2014, fig. 4) -- of the prior N(0, 1) for a
    model with KL in its stats (a VAE), else of N(mean, std^2) fitted to the posterior means (a deterministic
    autoencoder has no prior).
    """
    if latent_size(stats) != 2:
        raise ValueError(f"a manifold grid needs a 2-D latent space; this one has {latent_size(stats)} dimensions")
    if spacing not in GRID_SPACINGS:
        raise ValueError(f"unknown grid spacing {spacing!r}; accepted: {', '.join(GRID_SPACINGS)}")
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"grid size n must be an integer >= 2, got {n!r}")
    if spacing == "percentile":
        u = torch.linspace(0.0, 1.0, n, dtype=stats["p01"].dtype)[:, None]  # [n, 1]
        axes = stats["p01"] + u * (stats["p99"] - stats["p01"])  # [n, 2]
    else:
        q = torch.special.ndtri((torch.arange(n, dtype=torch.float64) + 0.5) / n).float()[:, None]  # [n, 1] N(0, 1) quantiles
        axes = q.expand(n, 2) if "kl" in stats else stats["mean"] + q * stats["std"]  # [n, 2]
    xs, ys = axes[:, 0], axes[:, 1].flip(0)
    rows, cols = torch.meshgrid(ys, xs, indexing="ij")  # [n, n] each: row i has z_1 = ys[i]
    return ManifoldGrid(torch.stack([cols, rows], dim=-1).reshape(n * n, 2), xs, ys)
