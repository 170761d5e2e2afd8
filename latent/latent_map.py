"""The latent map: latents projected on their top two principal directions, drawn as a scatter image whose pixels
map back to latents (a click on the picture becomes a point of the latent space)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from PIL import Image, ImageDraw

from .checks import latent_batch
from .pca import PCABasis, fit_pca, stats_pca, to_pca

# categorical colours (Tableau 10): category k is drawn in PALETTE[k % 10], so the UI can draw the legend
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]  # fmt: skip
# continuous values: linear interpolation between these anchors of the viridis colour map, low to high
VIRIDIS = np.array([(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)], dtype=np.float64)


def latent_map(z: torch.Tensor, stats: dict[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, PCABasis]:
    """2-D coordinates [N, 2] of latents z [N, D] on their top two principal directions, and that basis.

    The PCA is fitted on z, or taken from the stats (the training set's latent means) when given. A point (x, y)
    of the map goes back to the latent from_pca(point, basis) = mean + x c1 + y c2: the point of the plane through
    the mean spanned by the two directions (the coordinates along the other directions are those of the mean).
    """
    z = latent_batch(z, None if stats is None else stats["mean"].shape[0])
    basis = fit_pca(z, 2) if stats is None else stats_pca(stats, 2)
    return to_pca(z, basis), basis


class PixelMap(NamedTuple):
    """Pixel (col, row) of a rendered map <-> map coordinates (x, y): x = x0 + col * scale, y = y0 - row * scale
    (rows grow downwards, y upwards; one scale for both axes so distances are not distorted)."""

    x0: float  # map x at pixel column 0
    y0: float  # map y at pixel row 0
    scale: float  # map units per pixel

    def to_map(self, col: float, row: float) -> tuple[float, float]:
        return self.x0 + col * self.scale, self.y0 - row * self.scale

    def to_pixel(self, x: float, y: float) -> tuple[float, float]:
        return (x - self.x0) / self.scale, (self.y0 - y) / self.scale


def render_scatter(
    xy: torch.Tensor,
    values: torch.Tensor | np.ndarray | None = None,
    size: int = 320,
    radius: int = 3,
    margin: int = 12,
    mark: tuple[float, float] | None = None,
) -> tuple[np.ndarray, PixelMap]:
    """A uint8 RGB image [size, size, 3] of points xy [N, 2] on white, and its PixelMap.

    values [N] colour the points: integer or bool values as categories (PALETTE[value % 10]), floats on a viridis
    scale from their min to their max; None draws every point in PALETTE[0]. `mark` (a map point, e.g. the current
    latent's coordinates) is drawn as a black ring.
    """
    xy = torch.as_tensor(xy).detach().double().cpu()
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) == 0:
        raise ValueError(f"xy must be map coordinates [N, 2] with N >= 1, got {tuple(xy.shape)}")
    if size <= 2 * margin:
        raise ValueError(f"size ({size}) must exceed twice the margin ({margin})")
    colours = _colours(values, len(xy))  # [N, 3] uint8
    low, high = xy.min(0).values, xy.max(0).values  # [2] bounding box of the points
    centre = (low + high) / 2
    scale = max(float((high - low).max()), 1e-12) / (size - 1 - 2 * margin)  # map units per pixel, both axes
    pixels = PixelMap(float(centre[0]) - (size - 1) / 2 * scale, float(centre[1]) + (size - 1) / 2 * scale, scale)
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    for (x, y), colour in zip(xy.tolist(), colours.tolist()):
        col, row = pixels.to_pixel(x, y)
        draw.ellipse((col - radius, row - radius, col + radius, row + radius), fill=tuple(colour))
    if mark is not None:
        col, row = pixels.to_pixel(*map(float, mark))
        r = radius + 3
        draw.ellipse((col - r, row - r, col + r, row + r), outline=(0, 0, 0), width=2)
    return np.asarray(image), pixels


def _colours(values, n: int) -> np.ndarray:
    """uint8 colours [N, 3] for the point values (see render_scatter)."""
    if values is None:
        return np.tile(np.array(PALETTE[0], dtype=np.uint8), (n, 1))
    v = np.asarray(values.detach().cpu() if torch.is_tensor(values) else values)
    if v.shape != (n,):
        raise ValueError(f"values must hold one number per point: shape ({n},), got {v.shape}")
    if v.dtype == bool or np.issubdtype(v.dtype, np.integer):
        return np.array(PALETTE, dtype=np.uint8)[v.astype(np.int64) % len(PALETTE)]
    if not np.issubdtype(v.dtype, np.floating) or not np.isfinite(v).all():
        raise ValueError(f"values must be integer/bool categories or finite floats, got dtype {v.dtype}")
    t = (v - v.min()) / max(float(v.max() - v.min()), 1e-12) * (len(VIRIDIS) - 1)  # [N] position on the anchors
    i = np.minimum(t.astype(np.int64), len(VIRIDIS) - 2)
    f = (t - i)[:, None]
    return np.round((1 - f) * VIRIDIS[i] + f * VIRIDIS[i + 1]).astype(np.uint8)
