"""The decoded manifold of a model with a 2-D latent: a GRID x GRID grid of decodings over the aggregate posterior's
p01..p99 box, shown beside the latent sliders with the current point marked."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from PIL import Image, ImageDraw

from latent import manifold_grid

from .common import to_pil

GRID = 15  # manifold grid: GRID x GRID decoded latents
MANIFOLD_SIZE = 480  # about this many pixels across: to_pil upscales each tile to at least MANIFOLD_SIZE // GRID
MANIFOLDS_KEPT = 32  # decoded manifold grids kept (about 0.7 MB each): one per model and condition lately shown

# (model key, condition) -> decoded manifold grid: decoding 225 images per drag tick is waste. The oldest goes past
# MANIFOLDS_KEPT (an attribute-conditional model has a condition per combination of its attributes).
_manifolds: OrderedDict[tuple, Image.Image] = OrderedDict()


def manifold(entry, z: torch.Tensor, class_choice, attribute_choice) -> Image.Image:
    """The decoded GRID x GRID manifold over the p01..p99 box with a red cross and ring where z lies."""
    grid = manifold_grid(entry.explorer.stats, GRID)
    key = (entry.key, repr((class_choice, attribute_choice)))
    if key not in _manifolds:
        y = entry.condition(class_choice, attribute_choice, GRID * GRID)
        _manifolds[key] = to_pil(entry.explorer.decode(grid.latents, y), columns=GRID, display=MANIFOLD_SIZE // GRID)
        while len(_manifolds) > MANIFOLDS_KEPT:
            _manifolds.popitem(last=False)
    _manifolds.move_to_end(key)
    picture = _manifolds[key].convert("RGB")
    tile = picture.width / GRID
    # fractional column/row of z between the tile centres; ys decrease down the rows, so interpolate on the flipped axis
    col = np.interp(float(z[0]), grid.xs.numpy(), np.arange(GRID))
    row = np.interp(float(z[1]), grid.ys.flip(0).numpy(), np.arange(GRID)[::-1])
    x, y, r = (col + 0.5) * tile, (row + 0.5) * tile, tile / 2
    draw = ImageDraw.Draw(picture)
    draw.ellipse((x - r, y - r, x + r, y + r), outline=(230, 30, 30), width=3)
    draw.line((x - r / 2, y, x + r / 2, y), fill=(230, 30, 30), width=2)
    draw.line((x, y - r / 2, x, y + r / 2), fill=(230, 30, 30), width=2)
    return picture
