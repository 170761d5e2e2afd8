"""Codebook (VQ-VAE models): how the codes are used, where they lie, what each one draws, and the current
image's code grid, whose cells you can change to see the decoded image change. A VQ-VAE-2 has two levels of codes:
the tab shows one at a time, top (global structure) or bottom (local detail)."""

from __future__ import annotations

from functools import lru_cache, partial

import gradio as gr
import numpy as np
import torch
from PIL import Image, ImageDraw

from latent.codebook import code_colours, code_patches, codebook_projection, replace_codes
from metrics import code_usage, counts_key
from models import VQVAE

from .common import Number, Slider, image_output, state_to_latent, to_pil

MAP_SIZE = 384  # pixels on a side of the drawn code grid
NOT_VQ = "This model's latent is a continuous vector. The Codebook tab explores the discrete codes of the VQ-VAE models ({names})."
LEVEL_INFO = {
    "codes": "its one grid of codes",
    "top": "the coarse grid: each code spans a large patch, meant for global structure (Razavi et al. 2019); swap one "
    "and see what it holds here (on faces-vqvae2: mostly the background's colour and the tone)",
    "bottom": "the fine grid, computed knowing the top codes: each code a small patch, meant for local detail (on "
    "faces-vqvae2 it holds nearly the whole face)",
}


def code_map(codes: torch.Tensor, colours: torch.Tensor, selected: tuple[int, int] | None = None) -> Image.Image:
    """The code grid [g, g] as coloured cells holding their code numbers; `selected` is outlined."""
    g = codes.shape[-1]
    cell = MAP_SIZE // g
    image = Image.new("RGB", (cell * g, cell * g), "white")
    draw = ImageDraw.Draw(image)
    for row in range(g):
        for col in range(g):
            code = int(codes[row, col])
            box = (col * cell, row * cell, (col + 1) * cell - 1, (row + 1) * cell - 1)
            draw.rectangle(box, fill=tuple(int(v) for v in colours[code]))
            if cell >= 20:
                draw.text((box[0] + cell / 2, box[1] + cell / 2), str(code), fill="black", anchor="mm")
    if selected is not None:
        row, col = selected
        draw.rectangle((col * cell, row * cell, (col + 1) * cell - 1, (row + 1) * cell - 1), outline="white", width=3)
        draw.rectangle((col * cell - 1, row * cell - 1, (col + 1) * cell, (row + 1) * cell), outline="black", width=1)
    return image


def usage_chart(counts: torch.Tensor, width: int = 640, height: int = 160) -> Image.Image:
    """Bars of how often each code is chosen (code 0 on the left); dead codes get a red tick under the axis."""
    k = len(counts)
    image = Image.new("RGB", (width, height + 14), "white")
    draw = ImageDraw.Draw(image)
    bar = width / k
    top = float(counts.max()) or 1.0
    for code, count in enumerate(counts.tolist()):
        x0, x1 = code * bar, max(code * bar + 1, (code + 1) * bar - 1)
        if count > 0:
            draw.rectangle((x0, height - height * count / top, x1, height), fill=(79, 70, 229))
        else:
            draw.rectangle((x0, height + 3, x1, height + 12), fill=(220, 38, 38))
    draw.line((0, height, width, height), fill="gray")
    return image


@lru_cache(maxsize=8)
def colours(model: VQVAE, level: str) -> torch.Tensor:
    """code_colours, computed once per model and level: every click redraws the code map."""
    return code_colours(model, level)


@lru_cache(maxsize=8)
def projection_picture(model: VQVAE, level: str, counts: tuple[int, ...], base: tuple[float, ...], size: int = 480) -> Image.Image:
    """The level's code vectors on their top two principal directions, each drawn as the patch it decodes to (dead
    codes outlined in red; a VQ-VAE-2's other level keeps the codes of the latent `base`, the mean training code)."""
    xy = codebook_projection(model, level)
    patches = code_patches(model, level, torch.tensor(base))
    patches = (patches.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()  # [K, p, p, C]
    side = max(12, 4 * patches.shape[1])
    low, high = xy.min(0).values, xy.max(0).values
    place = (xy - low) / (high - low).clamp_min(1e-8) * (size - side - 8) + 4  # top-left corners inside the canvas
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    for code in np.argsort(np.asarray(counts)):  # the most used codes end up on top
        x, y = int(place[code, 0]), int(size - side - place[code, 1])  # y grows upwards on the map
        tile = Image.fromarray(patches[code][..., 0] if patches.shape[3] == 1 else patches[code]).resize((side, side), Image.NEAREST)
        image.paste(tile.convert("RGB"), (x, y))
        draw.rectangle((x - 1, y - 1, x + side, y + side), outline=(220, 38, 38) if counts[code] == 0 else (160, 160, 160))
    return image


def _vq(entry, level, strict: bool = True) -> tuple[VQVAE, str]:
    """The entry's model and the level asked for (None or "": its first), or gr.Error. strict=False: a level the model
    lacks is its first too (the level picker still shows the previous model's while the tab follows a model change)."""
    if not entry.model.code_levels:
        raise gr.Error(f"{entry.key} has no codebook: the Codebook tab is for VQ-VAE models")
    levels = entry.model.code_levels
    if not strict and level not in levels:
        level = None
    if level not in (None, "", *levels):
        raise gr.Error(f"unknown code level {level!r} for {entry.key}; it has {', '.join(levels)}")
    return entry.model, level or levels[0]


def _grid(entry, state, edits, level) -> tuple[torch.Tensor, torch.Tensor, dict, torch.Tensor]:
    """(the level's codes of the current image [g, g], those codes with the edits applied, the edits that still
    apply, the current image's latent [1, D])."""
    model, level = _vq(entry, level)
    z = state_to_latent(state, entry)[None].to(model.device)
    codes = model.level_codes(z, level)[0].cpu()
    fresh = edits and edits.get("base") == state and edits.get("level", level) == level
    cells = {(r, c): k for r, c, k in edits["cells"]} if fresh else {}
    return codes, replace_codes(codes, cells, model.config.num_codes), cells, z


def show_codes(label, state, level=None, *, shared):
    """The current image's code map at `level` and its decoding, edits cleared."""
    entry = shared.entry(label)
    if not entry.model.code_levels or not state or len(state) != entry.explorer.latent_dim:
        return None, None, "", {"base": None, "cells": []}
    model, level = _vq(entry, level, strict=False)
    codes, _, _, z = _grid(entry, state, None, level)
    decoded = model.decode(model.with_level_codes(z, level, codes[None])).cpu()
    g = codes.shape[-1]
    where = f"{g}x{g} {level} grid: {LEVEL_INFO[level]}. " if len(model.code_levels) > 1 else ""
    note = (
        f"{where}{codes.numel()} cells using {len(codes.unique())} different codes. Click a cell, choose a code, press *Put code in cell*."
    )
    return code_map(codes, colours(model, level)), to_pil(decoded), note, {"base": state, "level": level, "cells": []}


def edit_code(label, row, col, code, state, edits, level=None, *, shared):
    """Put `code` in cell (row, col) of the current image's grid at `level`, on top of earlier edits, and decode (a
    VQ-VAE-2's other level keeps its codes)."""
    entry = shared.entry(label)
    model, level = _vq(entry, level)
    if row is None or col is None or code is None:
        raise gr.Error("choose a cell (click the code map) and a code")
    codes, _, cells, z = _grid(entry, state, edits, level)
    cell = (int(row), int(col))
    cells[cell] = int(code)
    try:
        edited = replace_codes(codes, cells, model.config.num_codes)
    except ValueError as err:
        raise gr.Error(str(err)) from None
    decoded = model.decode(model.with_level_codes(z, level, edited[None])).cpu()
    before = model.decode(model.with_level_codes(z, level, codes[None])).cpu()
    changed = (decoded - before).abs().amax(1) > 1 / 255  # [1, S, S] pixels that visibly moved
    note = (
        f"Cell {cell}: code {int(codes[cell])} -> {int(code)}. {len(cells)} cell(s) edited; "
        f"{int(changed.sum())} pixels changed (the decoder spreads a cell over its neighbours)."
    )
    return (
        code_map(edited, colours(model, level), cell),
        to_pil(decoded),
        note,
        {"base": state, "level": level, "cells": [[r, c, k] for (r, c), k in cells.items()]},
    )


def select_cell(label, state, edits, index, level=None, *, shared):
    """A click at pixel `index` (x, y) of the code map: that cell's row, column and code."""
    entry = shared.entry(label)
    model, level = _vq(entry, level, strict=False)
    _, edited, _, _ = _grid(entry, state, edits, level)
    g = edited.shape[-1]
    col, row = (min(int(v) // (MAP_SIZE // g), g - 1) for v in index)
    return row, col, int(edited[row, col]), code_map(edited, colours(model, level), (row, col))


def level_views(entry, level) -> list:
    """[usage chart, usage note, projection] of one level of the entry's codes."""
    model, level = _vq(entry, level)
    counts = entry.explorer.stats.get(counts_key(level))
    if counts is None:
        counts = torch.zeros(model.config.num_codes)
    counts = counts.long()
    usage = code_usage(counts)  # what the model card measures (metrics.code_usage), here over the training images
    used = len(counts) - usage["dead_codes"]
    dead = (counts == 0).nonzero().flatten().tolist()
    note = (
        f"**{used} of {len(counts)} codes used** ({used / len(counts):.0%}) over {int(counts.sum())} grid cells of training images; "
        f"perplexity {usage['perplexity']:.1f} (the number of equally used codes with the same entropy). "
        + (f"Dead codes: {', '.join(map(str, dead[:40]))}{' ...' if len(dead) > 40 else ''}." if dead else "No dead codes.")
    )
    return [
        usage_chart(counts),
        note,
        projection_picture(model, level, tuple(counts.tolist()), tuple(entry.explorer.stats["mean"].tolist())),
    ]


def _model_updates(entry, vq_names: str) -> list:
    """[explanation, controls, level, usage chart, usage note, projection, code slider]"""
    if not entry.model.code_levels:
        return [
            gr.update(value=NOT_VQ.format(names=vq_names or "none are served"), visible=True),
            gr.update(visible=False),
            gr.update(),
            None,
            "",
            None,
            gr.update(),
        ]
    levels = entry.model.code_levels
    return [
        gr.update(visible=False),
        gr.update(visible=True),
        gr.update(choices=list(levels), value=levels[0], visible=len(levels) > 1),
        *level_views(entry, levels[0]),
        gr.update(maximum=entry.model.config.num_codes - 1, value=0),
    ]


def build(shared) -> None:
    vq = [e for e in shared.catalog.entries.values() if e.model.code_levels]
    vq_names = ", ".join(e.key for e in vq)
    most_codes = max([e.model.config.num_codes for e in vq], default=2)
    every_level = list(dict.fromkeys(level for e in vq for level in e.model.code_levels)) or ["codes"]
    with gr.Tab("Codebook", id="codebook"):
        explain = gr.Markdown(visible=False)
        with gr.Column(visible=False) as controls:
            level = gr.Radio(
                every_level,
                value=None,  # the model's first level; a model change sets it
                label="Level of codes",
                info="A VQ-VAE-2 has two: top (coarse, global structure) and bottom (fine, local detail)",
                visible=False,
            )
            with gr.Row():
                with gr.Column():
                    gr.Markdown(
                        "### The current image's code grid\nColours follow the code vectors (similar vectors, similar colours). Reconstruct or pick an image in the Reconstruct tab to change it."
                    )
                    with gr.Row():
                        grid_map = gr.Image(
                            label="Code map (click a cell)", type="pil", format="png", interactive=False, height=MAP_SIZE + 40
                        )
                        decoded = image_output("Decoded")
                    with gr.Row():
                        row = Number(label="Row", precision=0, minimum=0)
                        col = Number(label="Column", precision=0, minimum=0)
                        code = Slider(0, most_codes - 1, value=0, step=1, label="Code")
                    with gr.Row():
                        put = gr.Button("Put code in cell", variant="primary")
                        reset = gr.Button("Undo all edits")
                    cell_note = gr.Markdown()
                with gr.Column():
                    gr.Markdown("### Code usage")
                    usage = gr.Image(
                        label="How often each code is chosen (code 0 left; red: dead)", type="pil", format="png", interactive=False
                    )
                    usage_note = gr.Markdown()
                    projection = gr.Image(
                        label="Code vectors on their top two principal directions, drawn as the patch each decodes to",
                        type="pil",
                        format="png",
                        interactive=False,
                    )
        edits = gr.State({"base": None, "cells": []})
        show = partial(show_codes, shared=shared)
        outputs = [grid_map, decoded, cell_note, edits]
        shown = [shared.model, shared.latent, level]
        shared.latent.change(show, shown, outputs, api_name=False)
        reset.click(show, shown, outputs, api_name=False)
        level.input(show, shown, outputs, api_name=False).then(
            lambda label, chosen: level_views(shared.entry(label), chosen),
            [shared.model, level],
            [usage, usage_note, projection],
            api_name=False,
        )
        put.click(
            partial(edit_code, shared=shared), [shared.model, row, col, code, shared.latent, edits, level], outputs, api_name="edit_code"
        )

        def select(label, state, edits, chosen, evt: gr.SelectData):
            return select_cell(label, state, edits, evt.index, chosen, shared=shared)

        grid_map.select(select, [shared.model, shared.latent, edits, level], [row, col, code, grid_map], api_name=False)
        shared.when_model_changes(
            [explain, controls, level, usage, usage_note, projection, code], partial(_model_updates, vq_names=vq_names)
        )
