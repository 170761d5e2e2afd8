"""Compare: the same input image, or the same seed, through several models side by side. The input comes first;
a GAN inverts the image (latent.invert, seconds), so every kind of model takes part. The tab follows the picker: its
examples are the picked model's, and its models start as those trained on the same data."""

from __future__ import annotations

from functools import partial

import gradio as gr
import numpy as np
from PIL import Image

from data import to_uint8

from .common import SEED_MAX, Number, image_input, inversion_progress, load_image, slow_work, to_pil

SOURCES = ("image", "seed")
TILE = 192  # pixels per side of a tile
MAX_MODELS = 4  # the models ticked to start with


def compare(picked, labels, source, upload, example, seed, progress=gr.Progress(), *, shared):
    """[(picture, caption)]: the input (image source), then one tile per model, captioned with its checkpoint name and
    its training budget (epochs, minutes, hardware: differences may come from unequal training, not the objective)."""
    if not labels:
        raise gr.Error("choose at least one model to compare")
    if source not in SOURCES:
        raise gr.Error(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    reference = shared.entry(picked)
    results = []
    if source == "image":
        x = _input(reference, upload, example)
        results.append(
            (to_pil(x, display=TILE), "input" + (f" (example #{int(str(example).lstrip('#'))} of {reference.key})" if not upload else ""))
        )
    with slow_work():
        for i, label in enumerate(labels):
            entry = shared.entry(label)
            y = entry.condition(*entry.default_condition, 1, sampling=source == "seed")
            if source == "seed":
                images = entry.explorer.sample(1, seed=int(seed), y=y)
            else:  # fitted to this model's size and channels; a GAN inverts it
                fitted = load_image(_as_pil(x), entry)[0]
                report = (
                    None
                    if progress is None
                    else (lambda f, desc=None, i=i, key=entry.key: progress((i + f) / len(labels), desc=f"inverting with {key}"))
                )
                images = entry.explorer.decode(
                    entry.explorer.encode(fitted, y, inversion_progress(report) if entry.explorer.is_generator else None), y
                )
            inverted = " (inverted)" if entry.explorer.is_generator and source == "image" else ""
            results.append((to_pil(images, display=TILE), entry.key + inverted + (f" · {entry.budget}" if entry.budget else "")))
    return results


def _input(entry, upload, example):
    """The uploaded image at the picked model's size, or one of the picked model's examples."""
    if upload:
        return load_image(upload, entry)[0]
    if example is None or entry.examples is None:
        raise gr.Error(f"upload an image or pick an example ({entry.key} stores none: upload one)")
    index = int(str(example).lstrip("#"))
    if not 0 <= index < len(entry.examples):
        raise gr.Error(f"example #{index} does not exist; {entry.key} has #0..#{len(entry.examples) - 1}")
    return load_image(_as_pil(np.asarray(entry.examples[index])), entry)[0]


def _as_pil(picture) -> Image.Image:
    """A float [1, C, S, S] tensor or a uint8 [H, W, C] array as a PIL image (grey for one channel)."""
    if not isinstance(picture, np.ndarray):
        picture = to_uint8(picture)[0]
    return Image.fromarray(picture[..., 0] if picture.shape[2] == 1 else picture)


def _examples(entry) -> list[str]:
    return [f"#{i}" for i in range(0 if entry.examples is None else len(entry.examples))]


def _on_model(entry, labels, shared) -> list:
    """Models on the picked one's data (it first), and its examples."""
    same = [entry.label, *[label for label in labels if label != entry.label and shared.entry(label).dataset == entry.dataset]][:MAX_MODELS]
    names = _examples(entry)
    return [gr.update(value=same), gr.update(choices=names, value=names[0] if names else None, label=f"…or an example of {entry.key}"), []]


def build(shared) -> None:
    labels = shared.catalog.labels
    every_example = sorted({name for label in labels for name in _examples(shared.entry(label))}, key=lambda n: int(n[1:]))
    with gr.Tab("Compare", id="compare"):
        with gr.Row():
            with gr.Column(scale=1):
                models = gr.CheckboxGroup(labels, label="Models")
                source = gr.Radio(SOURCES, value="image", label="Same")
                upload = image_input("Image (fitted to each model's size and channels)")
                # every model's example names to start with: an API client's session never sees the picker narrow them
                example = gr.Dropdown(every_example, value=every_example[0] if every_example else None, label="…or an example")
                seed = Number(value=0, precision=0, minimum=0, maximum=SEED_MAX, label="Seed")
                button = gr.Button("Compare", variant="primary")
            with gr.Column(scale=2):
                gallery = gr.Gallery(
                    label="Side by side", columns=3, height="auto", format="png", object_fit="contain", allow_preview=False
                )
        button.click(partial(compare, shared=shared), [shared.model, models, source, upload, example, seed], gallery, api_name="compare")
        shared.when_model_changes([models, example, gallery], partial(_on_model, labels=labels, shared=shared))
