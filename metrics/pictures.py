"""Labelled picture rows: one row per model (its name and a line about it, then its images), every image shown at one
display size, so models of different image sizes are compared as a person sees them. The README's prior samples
(metrics.evaluate.prior_rows) and the Lessons tab's pictures (ui.lessons) are drawn by it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw

from data import to_uint8

LABEL_WIDTH = 200  # pixels of the label column
CAPTION_HEIGHT = 18  # pixels under each image when a row has captions


@dataclass
class Row:
    title: str  # bold line of the label column: a checkpoint's name
    subtitle: str  # the grey line under it: what the row shows
    images: torch.Tensor  # float [N, C, S, S] in [0, 1] (one or three channels)
    captions: list[str] | None = None  # a short text under each image (a score), or None


def labelled_rows(rows: list[Row], tile: int, label_width: int = LABEL_WIDTH) -> np.ndarray:
    """uint8 [H, W, 3]: each row's label column, then its images scaled to tile x tile (nearest neighbour), with their
    captions under them; rows with fewer images are padded with white."""
    width = max(len(row.images) for row in rows) * tile
    pictures = []
    for row in rows:
        images = torch.nn.functional.interpolate(row.images.float(), size=tile, mode="nearest").expand(-1, 3, -1, -1)
        strip = np.full((tile + (CAPTION_HEIGHT if row.captions else 0), width, 3), 255, np.uint8)
        strip[:tile, : len(images) * tile] = np.concatenate(list(to_uint8(images)), axis=1)
        canvas = Image.fromarray(strip)
        draw = ImageDraw.Draw(canvas)
        for i, caption in enumerate(row.captions or []):
            draw.text((i * tile + 4, tile + 2), caption, fill="black", font_size=13)
        label = Image.new("RGB", (label_width, canvas.height), "white")
        draw = ImageDraw.Draw(label)
        draw.text((8, tile // 2 - 18), row.title, fill="black", font_size=18)
        draw.text((8, tile // 2 + 6), row.subtitle, fill="gray", font_size=14)
        pictures.append(np.concatenate([np.asarray(label), np.asarray(canvas)], axis=1))
    return np.concatenate(pictures, axis=0)
