"""Interpolate: a path through latent space between two images (uploaded or picked) or two
seeds, by lerp or slerp (White 2016), shown as a strip and as an animated GIF. A GAN's images are
inverted first (latent.invert)."""

from __future__ import annotations

import math
import weakref
from functools import partial
from pathlib import Path

import gradio as gr
import torch

from latent import INTERPOLATIONS

from .cache import cache_file
from .common import (
    SEED_MAX,
    Number,
    Slider,
    example_images,
    example_tensor,
    image_input,
    image_output,
    inversion_progress,
    load_image,
    slow_work,
    to_pil,
    union_choices,
)

SOURCES = ("images", "seeds")


STRIP_COLUMNS = 8  # at most this many frames per row of the path
STRIP_TILE = 128  # pixels per frame


def interpolate(
    label,
    source,
    upload_a,
    upload_b,
    example_a,
    example_b,
    seed_a,
    seed_b,
    method,
    steps,
    class_choice,
    attribute_choice,
    progress=gr.Progress(),
    *,
    shared,
):
    entry = shared.entry(label)
    if source not in SOURCES:
        raise gr.Error(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    if method not in INTERPOLATIONS:
        raise gr.Error(f"method must be one of {', '.join(INTERPOLATIONS)}, got {method!r}")
    steps = int(steps)
    if not 2 <= steps <= 32:
        raise gr.Error(f"steps must be between 2 and 32, got {steps}")
    y = entry.condition(class_choice, attribute_choice, 1, sampling=source == "seeds")
    if source == "seeds":
        ends = [entry.explorer.sample_latent(1, seed=int(seed), y=y)[0] for seed in (seed_a, seed_b)]
        what = f"seeds {int(seed_a)} and {int(seed_b)}"
    else:
        pair = torch.cat([_endpoint(entry, upload, example) for upload, example in ((upload_a, example_a), (upload_b, example_b))])
        with slow_work(entry.explorer.is_generator):
            ends = entry.explorer.encode(pair, None if y is None else y.expand(2, *y.shape[1:]), inversion_progress(progress))
        what = "the two images' inverted latents" if entry.explorer.is_generator else "the two images' posterior means"
    path = entry.explorer.interpolate(ends[0], ends[1], steps, method)
    frames = entry.explorer.decode(path, None if y is None else y.expand(steps, *y.shape[1:]))
    note = f"{steps} steps by {method} between {what}."
    if entry.model.code_levels:
        note += " The path runs through the continuous pre-quantisation space; every point is snapped to its nearest codes before decoding, so the images change in jumps, cell by cell."
    rows = math.ceil(steps / STRIP_COLUMNS)
    return (
        to_pil(frames, columns=math.ceil(steps / rows), display=STRIP_TILE),
        _gif(frames, f"{entry.key}-{method}-{steps}-steps.gif".replace("/", "-")),
        note,
    )


def _endpoint(entry, upload, example):
    """An uploaded image if there is one, else the picked example (index as '#k')."""
    if upload:
        return load_image(upload, entry)[0]
    if example and entry.examples is not None:
        return example_tensor(entry, int(str(example).lstrip("#")))
    raise gr.Error("give both images: upload them or pick examples")


def _example_names(entry) -> list[tuple[str, str]]:
    return [(f"#{i}", f"#{i}") for i in range(0 if entry.examples is None else len(entry.examples))]


_opened: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # explorer -> its opening path: strip, GIF bytes and name, note


def opening(entry, source: str, names: list[str], *, shared) -> list:
    """[strip, GIF path, note]: the path the tab opens on -- slerp in 10 steps between the first two examples (or seeds
    0 and 1) under the default condition -- made once per model (a GIF takes a few hundred ms to encode, and every
    page load opens a model); its GIF is written anew each time, since the cache sweep ages files out."""
    kept = _opened.get(entry.explorer)
    if kept is None:
        ends = (names + [None, None])[:2]
        strip, gif, note = interpolate(
            entry.label, source, None, None, *ends, 0, 1, "slerp", 10, *entry.default_condition, progress=None, shared=shared
        )
        kept = _opened[entry.explorer] = (strip, Path(gif).read_bytes(), Path(gif).name, note)
    strip, data, name, note = kept
    path = cache_file(name)
    path.write_bytes(data)
    return [strip, str(path), note]


def _gif(frames, name: str) -> str:
    """An animated GIF that plays the path forth and back, saved as `name` (what a download is called) in a
    directory of its own."""
    pictures = [to_pil(f[None], display=128) for f in frames]
    pictures = pictures + pictures[-2:0:-1]
    path = cache_file(name)
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=120, loop=0)
    return str(path)


def build(shared) -> None:
    # every model's example names to start with: an API client's session never sees a model change narrow them
    every = union_choices(_example_names(entry) for entry in shared.catalog.entries.values())
    with gr.Tab("Interpolate", id="interpolate"):
        with gr.Row():
            with gr.Column():
                source = gr.Radio(SOURCES, value="images", label="Between")
                with gr.Row(visible=True) as images:
                    with gr.Column():
                        upload_a = image_input("Image A")
                        pick_a = _picker("…or pick example A", "interpolate-pick-a")
                        example_a = gr.Dropdown(every, label="…or example A", visible=False)  # what pick_a picked
                    with gr.Column():
                        upload_b = image_input("Image B")
                        pick_b = _picker("…or pick example B", "interpolate-pick-b")
                        example_b = gr.Dropdown(every, label="…or example B", visible=False)
                with gr.Row(visible=False) as seeds:
                    seed_a = Number(value=0, precision=0, minimum=0, maximum=SEED_MAX, label="Seed A")
                    seed_b = Number(value=1, precision=0, minimum=0, maximum=SEED_MAX, label="Seed B")
                with gr.Row():
                    method = gr.Radio(list(INTERPOLATIONS), value="slerp", label="Path (slerp: White 2016)")
                    steps = Slider(2, 32, value=10, step=1, label="Steps")
                button = gr.Button("Interpolate", variant="primary")
            with gr.Column():
                strip = image_output("Path")
                gif = gr.Image(label="Animated GIF (the path forth and back)", type="filepath", interactive=False, height=240)
                note = gr.Markdown()
        source.change(
            lambda s: [gr.update(visible=s == "images"), gr.update(visible=s == "seeds")], source, [images, seeds], api_name=False
        )
        inputs = [shared.model, source, upload_a, upload_b, example_a, example_b, seed_a, seed_b, method, steps, *shared.conditions]
        button.click(partial(interpolate, shared=shared), inputs, [strip, gif, note], api_name="interpolate")

        # a picked example replaces an upload on its side (which would otherwise be interpolated instead)
        for pick, example, upload in ((pick_a, example_a, upload_a), (pick_b, example_b, upload_b)):
            pick.select(_picked, None, [example, upload], api_name=False, show_progress="hidden")

        def on_model(entry):
            names = [name for name, _ in _example_names(entry)]
            # a GAN opens on seeds (images need inverting: seconds), as does a model without examples
            source_value = "seeds" if entry.explorer.is_generator or len(names) < 2 else "images"
            thumbnails = example_images(entry, display=64)
            # the tab opens on the path between the first two examples (or seeds 0 and 1), not on empty boxes
            shown = opening(entry, source_value, names, shared=shared)
            return [
                # no examples: keep the old choices (emptied choices upset the browser's dropdown), select none
                gr.update(choices=names, value=names[0]) if names else gr.update(value=None),
                gr.update(choices=names, value=names[1]) if len(names) > 1 else gr.update(value=None),
                gr.update(value=thumbnails, selected_index=0 if names else None),
                gr.update(value=thumbnails, selected_index=1 if len(names) > 1 else None),
                None,
                None,
                *shown,
                source_value,
                "slerp",
                10,
                0,
                1,
            ]

        shared.when_model_changes(
            [example_a, example_b, pick_a, pick_b, upload_a, upload_b, strip, gif, note, source, method, steps, seed_a, seed_b], on_model
        )


def _picker(label: str, elem_id: str) -> gr.Gallery:
    """A side's example thumbnails: a click picks one (the selected one is ringed)."""
    return gr.Gallery(
        label=label,
        height="auto",
        allow_preview=False,
        object_fit="contain",
        buttons=[],
        elem_id=elem_id,
        elem_classes=["example-picker", "small"],  # every thumbnail shown, as many a row as fit (ui.CSS)
    )


def _picked(evt: gr.SelectData):
    return f"#{evt.index}", None
