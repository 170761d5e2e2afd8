"""Compare: the same input image, or the same seed, through several models side by side."""

from __future__ import annotations

from functools import partial

import gradio as gr
import numpy as np
from PIL import Image

from .common import SEED_MAX, Number, image_input, load_image, slow_work, to_pil

SOURCES = ("image", "seed")


def compare(labels, source, upload, example, seed, *, shared):
    if not labels:
        raise gr.Error("choose at least one model to compare")
    if source not in SOURCES:
        raise gr.Error(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    with slow_work():
        return _compare(labels, source, upload, example, seed, shared)


def _compare(labels, source, upload, example, seed, shared):
    results = []
    for label in labels:
        entry = shared.entry(label)
        y = entry.condition(*entry.default_condition, 1, sampling=source == "seed")
        if source == "seed":
            images = entry.explorer.sample(1, seed=int(seed), y=y)
        elif entry.explorer.is_generator:  # no encoder: a blank tile that says so, the other models still compare
            results.append((Image.new("RGB", (160, 160), (235, 235, 240)), f"{entry.label}: a GAN has no encoder to reconstruct with"))
            continue
        else:
            images = entry.explorer.reconstruct(_input(entry, upload, example, shared), y)
        results.append((to_pil(images, display=160), entry.label))
    return results


def _input(entry, upload, example, shared):
    """The uploaded image, or an example of the first model, fitted to this model's size and channels."""
    if upload:
        return load_image(upload, entry)[0]
    first = shared.first
    if example is None or first.examples is None:
        raise gr.Error("upload an image or pick an example")
    picture = np.asarray(first.examples[int(str(example).lstrip("#"))])  # uint8 [H, W, C]
    return load_image(Image.fromarray(picture[..., 0] if picture.shape[2] == 1 else picture), entry)[0]


def build(shared) -> None:
    labels = shared.catalog.labels
    with gr.Tab("Compare", id="compare"):
        with gr.Row():
            with gr.Column():
                # to start: up to 4 models trained on the same dataset as the first, so one picture fits them all
                first = shared.first
                same_data = [label for label in labels if shared.entry(label).dataset == first.dataset][:4]
                models = gr.CheckboxGroup(labels, value=same_data, label="Models")
                source = gr.Radio(SOURCES, value="image", label="Same")
                upload = image_input("Image (fitted to each model's size and channels)")
                names = [f"#{i}" for i in range(0 if first.examples is None else len(first.examples))]
                example = gr.Dropdown(names, value=names[0] if names else None, label=f"…or an example of {first.key}")
                seed = Number(value=0, precision=0, minimum=0, maximum=SEED_MAX, label="Seed")
                button = gr.Button("Compare", variant="primary")
            with gr.Column():
                gallery = gr.Gallery(label="Side by side", columns=4, height="auto", format="png")
        button.click(partial(compare, shared=shared), [models, source, upload, example, seed], gallery, api_name="compare")
