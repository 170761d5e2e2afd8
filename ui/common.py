"""Widgets and conversions every tab shares: image in, image out, errors people can read.

Images cross into the UI here and nowhere else: uploads become float32 [1, C, S, S]
tensors through data.images (decode safely, convert channels, centre-crop, resize);
tensors become PNG-backed PIL images, upscaled so 28- or 64-pixel pictures are visible.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import threading
from pathlib import Path
from urllib.parse import quote

import gradio as gr
import numpy as np
import torch
from PIL import Image

from data import tile, to_tensor, to_uint8
from data.images import fit_image, open_image

from .cache import MAX_UPLOAD_BYTES, read_upload, upload_decodes

STATIC = Path(__file__).parent / "static"  # files the page loads (local_decode.js, the vendored ONNX Runtime Web)
MAX_UPLOAD_PIXELS = 4096 * 4096  # ... and a larger picture is refused before any pixel is decoded (about 50 MB as RGB)
DISPLAY = 256  # shortest side, in pixels, that pictures are upscaled to (nearest neighbour: pixels stay honest)


class ImageInput(gr.Image):
    """gr.Image that hands our code the uploaded file untouched. Gradio's own preprocessing
    would open and convert it (to RGB, decoding up to twice the pixel limit) before
    data.images.open_image could check it and say clearly what was wrong."""

    @classmethod
    def get_block_name(cls) -> str:
        return "image"  # the frontend renders it as a plain Image

    def preprocess(self, payload):
        if payload is not None and payload.path:
            return payload.path
        return super().preprocess(payload)  # data: URLs (webcam, clipboard) are written to a file by Gradio


SEED_MAX = 2**31 - 1  # seeds: 0..SEED_MAX, what every random generator here takes


def checked_number(name: str, value, minimum: float | None, maximum: float | None):
    """value, if a finite number within [minimum, maximum]; else a gr.Error that names the control and its range.
    (Gradio's own check lets NaN through to the handler, and fails with a TypeError on a string.)"""
    low, high = ("-inf" if minimum is None else f"{minimum:g}"), ("inf" if maximum is None else f"{maximum:g}")
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise gr.Error(f"{name}: expected a number from {low} to {high}, got {value!r}")
    return value


class Slider(gr.Slider):
    """gr.Slider whose value reaches a handler only as a finite number within the slider's range (this session's:
    Gradio keeps a copy per session, with the ranges an update set)."""

    def preprocess(self, payload):
        return super().preprocess(checked_number(self.label or self.elem_id or "slider", payload, self.minimum, self.maximum))


class Number(gr.Number):
    """gr.Number whose value reaches a handler only as a finite number within its range, or None where the field
    starts empty (a codebook cell's row and column); a field that starts with a value (a seed) must keep one."""

    def preprocess(self, payload):
        if payload is None and self.value is None:
            return None
        return super().preprocess(checked_number(self.label or "number", payload, self.minimum, self.maximum))


UPLOAD_LIMITS = f"up to {MAX_UPLOAD_BYTES // 1_000_000} MB and {MAX_UPLOAD_PIXELS / 1e6:.1f} megapixels"


def image_input(label: str, **kwargs) -> ImageInput:
    """An upload box whose label says the limits (MAX_UPLOAD_BYTES, MAX_UPLOAD_PIXELS)."""
    label = f"{label}; {UPLOAD_LIMITS}"
    return ImageInput(
        label=label, type="filepath", image_mode=None, sources=["upload", "webcam", "clipboard"], height=DISPLAY + 40, **kwargs
    )


# the slider page's files and routes outside Gradio (ui.routes), relative to the page so they hold behind a Space's proxy
STATIC_ROUTE = "latent-lab/static"  # the files under STATIC
DECODER_ROUTE = "latent-lab/decoder.onnx"
DECODE_ROUTE = "latent-lab/decode"


def decoder_url(entry) -> str:
    """The URL of the entry's exported decoder (ui.routes serves it)."""
    return f"{DECODER_ROUTE}?model={quote(entry.key, safe='')}"


def page_spec(entry, z: torch.Tensor, slots: list[dict | None]) -> str:
    """What the page needs to draw a slider's drag ticks itself (JSON for ui/static/local_decode.js; "" for a model
    whose decoding takes a condition): the model's key, the image shape, the latent z, per slider slot None or its
    affine map {"at", "direction"} (latent = z + sum over slots of (value - at) * direction), the URL of the exported
    decoder (null if the model has none: models.export) and the server's decode route for when the page cannot run it
    (ui.routes)."""
    if not entry.decodes_without_condition:
        return ""
    cfg = entry.config
    return json.dumps(
        {
            "model": entry.key,
            "shape": [cfg.channels, cfg.image_size, cfg.image_size],
            "latent": z.tolist(),
            "slots": slots,
            "decoder": None if entry.decoder is None else decoder_url(entry),
            "render": DECODE_ROUTE,
        }
    )


def image_output(label: str, **kwargs) -> gr.Image:
    """A result picture: lossless PNG, one download button (Gradio's three buttons covered the label of a small image)."""
    return gr.Image(label=label, type="pil", format="png", interactive=False, buttons=["download"], **kwargs)


def load_image(source, entry) -> tuple[torch.Tensor, str]:
    """An upload (its path, or a dict or FileData holding it: ui.cache.uploaded checks it) or a PIL image -> float32
    [1, C, S, S] for entry's model, and a note saying what was done. Uploads are read and decoded UPLOAD_DECODES at a
    time over every endpoint: each near-cap upload costs about 220 MB while it decodes."""
    if source is None or source == "":
        raise gr.Error("upload an image first (or pick an example)")
    cfg = entry.config
    try:
        if isinstance(source, Image.Image):
            array, note = fit_image(source, cfg.image_size, cfg.channels)
        else:
            with upload_decodes:
                name, data = read_upload(source, "image")
                file = io.BytesIO(data)
                file.name = name  # what open_image's messages call it: the file's name as uploaded
                array, note = fit_image(open_image(file, MAX_UPLOAD_PIXELS, min_side=cfg.image_size), cfg.image_size, cfg.channels)
    except gr.Error:
        raise
    except ValueError as err:  # what data.images says of a bad image
        raise gr.Error(str(err)) from None
    return to_tensor(array), note


def to_pil(images: torch.Tensor, columns: int | None = None, display: int = DISPLAY) -> Image.Image:
    """float [N, C, H, W] in [0, 1] -> one PIL image: a grid with `columns` per row, upscaled."""
    tiles = to_uint8(images)  # [N, H, W, C]
    grid = tile(tiles, columns or len(tiles))
    scale = max(1, display // min(tiles.shape[1:3]))
    pil = Image.fromarray(grid)
    return pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST)


def example_images(entry, display: int = 96) -> list[Image.Image]:
    """The checkpoint's stored held-out images, as PIL images for a gallery."""
    examples = entry.examples
    if examples is None:
        return []
    return [to_pil(to_tensor(np.asarray(e)), display=display) for e in examples]


def example_tensor(entry, index: int) -> torch.Tensor:
    return to_tensor(np.asarray(entry.examples[index]))


SLOW_WORKERS = 1  # slow jobs (seconds each) that run at once; the other core stays free for millisecond requests
_slow = threading.BoundedSemaphore(SLOW_WORKERS)


def slow_work(slow: bool = True):
    """A context around work that takes seconds -- a GAN's inversion, sampling through a PixelCNN, Compare -- when
    `slow`: at most SLOW_WORKERS such jobs run at once (the others wait their turn), so slider drags and
    reconstructions, which take milliseconds, never queue behind them for a core."""
    return _slow if slow else contextlib.nullcontext()


def inversion_progress(progress, every: float = 0.05):
    """A latent.invert progress callback that drives a gr.Progress bar (None: no bar), forwarding a step only when
    the bar has moved by `every`: an update per optimisation step would more than double an inversion's time."""
    if progress is None:
        return None
    shown = -1.0

    def update(fraction: float) -> None:
        nonlocal shown
        if fraction - shown >= every or fraction == 1.0:
            shown = fraction
            progress(fraction, desc="inverting the GAN")

    return update


def latent_to_state(z: torch.Tensor) -> list[float]:
    """A latent [D] as JSON-friendly floats: what gr.State and the API carry between tabs."""
    return [float(v) for v in z.flatten()]


def state_to_latent(state, entry) -> torch.Tensor:
    if not state or len(state) != entry.explorer.latent_dim:
        raise gr.Error("no current image for this model yet: reconstruct an image or pick an example first")
    return torch.tensor(state, dtype=torch.float32)


def union_choices(choice_lists) -> list[tuple[str, object]]:
    """(label, value) choices of several lists, each value once (its first label wins)."""
    seen: dict = {}
    for choices in choice_lists:
        for label, value in choices:
            seen.setdefault(value, (label, value))
    return list(seen.values())
