"""Principal directions of the latent means: coordinates in the PCA basis and back, and a Gaussian sampler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

from .checks import latent_batch
from .stats import pca


class PCABasis(NamedTuple):
    mean: torch.Tensor  # [D] centre of the latents
    components: torch.Tensor  # [K, D] unit rows, by decreasing variance
    variance: torch.Tensor  # [K] variance of the latents along each component


def fit_pca(z: torch.Tensor, k: int | None = None) -> PCABasis:
    """PCA of latents z [N, D], keeping the top k components (all min(N, D) when k is None)."""
    z = latent_batch(z)
    return _truncate(PCABasis(*pca(z)), k, source=f"{len(z)} latents of size {z.shape[1]}")


def stats_pca(stats: dict[str, torch.Tensor], k: int | None = None) -> PCABasis:
    """The PCA that latent_statistics stored (pca_mean, pca_components, pca_variance), top k components."""
    basis = PCABasis(stats["pca_mean"], stats["pca_components"], stats["pca_variance"])
    return _truncate(basis, k, source="the statistics")


def _truncate(basis: PCABasis, k: int | None, source: str) -> PCABasis:
    available = len(basis.variance)
    if k is None:
        return basis
    if not 1 <= k <= available:
        raise ValueError(f"asked for {k} principal components; {source} give 1 to {available}")
    return PCABasis(basis.mean, basis.components[:k], basis.variance[:k])


def to_pca(z: torch.Tensor, basis: PCABasis) -> torch.Tensor:
    """Coordinates of latents z [..., D] along the components: [..., K]."""
    return (z - basis.mean) @ basis.components.T


def from_pca(coords: torch.Tensor, basis: PCABasis) -> torch.Tensor:
    """Latents [..., D] at coordinates [..., K]: mean + sum_k coords_k c_k, the point in the span of the
    components through the mean (the inverse of to_pca when all D components are kept)."""
    return basis.mean + coords @ basis.components


def sample_aggregate(
    stats: dict[str, torch.Tensor], n: int, generator: torch.Generator | None = None, temperature: float = 1.0
) -> torch.Tensor:
    """n latents [n, D] from the Gaussian fitted to the posterior means, N(pca_mean, V^T diag(variance) V),
    with its standard deviation scaled by `temperature`.

    A deterministic autoencoder has no prior to sample; fitting a density to its codes after training and sampling
    that is the "ex-post density estimation" of Ghosh et al. 2020 ("From Variational to Deterministic Autoencoders").
    """
    basis = stats_pca(stats)
    eps = torch.randn((n, len(basis.variance)), generator=generator, dtype=basis.variance.dtype)  # [n, K]
    return from_pca(temperature * eps * basis.variance.sqrt(), basis)


def labelled_codes(stats: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(held-out latents [N, D], their labels [N, L]: binary attributes, or class ids as one column) from the stats,
    or None where the checkpoint stored no labelled latents."""
    if "heldout_latents" not in stats:
        return None
    for key in ("heldout_attributes", "heldout_labels"):
        if key in stats:
            labels = stats[key]
            return stats["heldout_latents"], labels.reshape(len(labels), -1)
    return None


@dataclass(frozen=True)
class LabelledMixture:
    """A Gaussian mixture over labelled codes (fit_mixture): one component per label combination."""

    means: torch.Tensor  # [K, D] float64: each group's mean
    counts: torch.Tensor  # [K]: codes per group, the components' weights
    root: torch.Tensor  # [D, D]: a square root of the pooled within-group covariance

    def sample(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> torch.Tensor:
        """n latents [n, D]: a component drawn by weight, then its Gaussian with the std scaled by `temperature`."""
        pick = torch.multinomial(self.counts, n, replacement=True, generator=generator)
        eps = torch.randn((n, self.means.shape[1]), generator=generator, dtype=self.means.dtype)
        return (self.means[pick] + temperature * eps @ self.root.T).float()


def fit_mixture(stats: dict[str, torch.Tensor]) -> LabelledMixture:
    """A Gaussian mixture fitted to the held-out images' codes: one component per combination of labels (attributes,
    or the class) they carry, at that group's mean, weighted by its share, all sharing the pooled within-group
    covariance.

    A single Gaussian over every code (sample_aggregate) blends the groups: on faces-vae 89% of its samples, read by
    the judge, are faces of no common attribute combination and 3 of the 23 common ones never appear. A mixture over
    the codes is Ghosh et al. 2020's ex-post density estimation; its components here are the groups the labels name.
    ValueError where the stats hold no labelled codes (labelled_codes)."""
    labelled = labelled_codes(stats)
    if labelled is None:
        raise ValueError("a mixture over the codes needs held-out latents with their labels or attributes in the stats")
    z, labels = labelled[0].double(), labelled[1]
    groups, group = torch.unique(labels, dim=0, return_inverse=True)  # [K, L], [N]
    counts = torch.bincount(group, minlength=len(groups)).double()
    means = torch.zeros(len(groups), z.shape[1], dtype=z.dtype).index_add_(0, group, z) / counts[:, None]  # [K, D]
    residual = z - means[group]
    covariance = residual.T @ residual / max(len(z) - len(groups), 1)
    values, vectors = torch.linalg.eigh(covariance)  # its square root, also where it is singular (few codes, large D)
    return LabelledMixture(means, counts, vectors * values.clamp_min(0).sqrt())
