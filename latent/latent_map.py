"""The latent map: latents projected on their top two principal directions, drawn as a scatter image whose pixels
map back to latents (a click on the picture becomes a point of the latent space). The drawing is the UI's
(ui/latent_map.py: render_scatter); this module holds the projection."""

from __future__ import annotations

import torch

from .checks import latent_batch
from .pca import PCABasis, fit_pca, stats_pca, to_pca


def latent_map(z: torch.Tensor, stats: dict[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, PCABasis]:
    """2-D coordinates [N, 2] of latents z [N, D] on their top two principal directions, and that basis.

    The PCA is fitted on z, or taken from the stats (the training set's latent means) when given. A point (x, y)
    of the map goes back to the latent from_pca(point, basis) = mean + x c1 + y c2: the point of the plane through
    the mean spanned by the two directions (the coordinates along the other directions are those of the mean).
    """
    z = latent_batch(z, None if stats is None else stats["mean"].shape[0])
    basis = fit_pca(z, 2) if stats is None else stats_pca(stats, 2)
    return to_pca(z, basis), basis
