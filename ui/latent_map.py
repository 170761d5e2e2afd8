"""Latent map: the encoded held-out images on the top two principal directions of the training latents, coloured by
a label or attribute (a GAN: its own samples on its GANSpace directions, coloured by the classifier's labels). Clicking the map decodes the latent at that spot and makes it the current image."""

from __future__ import annotations

import html
from functools import lru_cache, partial

import gradio as gr
import torch

from latent import PALETTE, from_pca, latent_map, render_scatter, to_pca

from .common import Number, image_output, latent_to_state, to_pil, union_choices

MAP_SIZE = 480  # pixels; drawn at this size and shown unscaled, so a click's pixel is a pixel of render_scatter's map
NONE = "none"
CLASS = "class"
MAP_LIMIT = 1e3  # map coordinates accepted: the maps span a few units; far beyond, a decoder only saturates


def colour_choices(explorer) -> list[tuple[str, str]]:
    meta, stats = explorer.metadata, explorer.stats
    choices = [(NONE, NONE)]
    if "heldout_labels" in stats:
        choices.append(("class label", CLASS))
    if "heldout_attributes" in stats:
        choices += [(name, name) for name in meta["attribute_names"]]
    return choices


def unavailable(explorer) -> str:
    """Why this model has no map ('' when it has one)."""
    if explorer.is_generator and "heldout_latents" not in explorer.stats:
        return ("A GAN has no encoder: its map shows 1,000 of its own samples, labelled by the dataset's attribute classifier, and this "
                "dataset has none. Reconstruct an image (inversion) to make it the current image instead.")  # fmt: skip
    if "heldout_latents" not in explorer.stats:
        return "This checkpoint's stats.safetensors stores no encoded held-out images (it predates them), so there is no map to draw; a run of the current `python -m train` stores them."
    if len(explorer.stats["pca_variance"]) < 2:
        return "The latent space has a single principal direction; a 2-D map needs two."
    return ""


@lru_cache(maxsize=16)  # every draw and click of a model projects the same latents; explorers hash by identity
def projection(explorer):
    """(map coordinates [M, 2] of the held-out latents, the PCA basis of the training latents' means)."""
    return latent_map(explorer.stats["heldout_latents"], explorer.stats)


def draw_map(label, colour_by, state=None, *, shared):
    """[map image, legend HTML]: the held-out latents on the map, the current latent (if any) ringed."""
    entry = shared.entry(label)
    explorer = entry.explorer
    if unavailable(explorer):
        raise gr.Error(unavailable(explorer))
    xy, basis = projection(explorer)
    values, legend = _colouring(explorer, colour_by)
    mark = None
    if state and len(state) == explorer.latent_dim:  # ring the current image where it projects
        mark = tuple(to_pca(torch.tensor(state, dtype=torch.float32), basis).tolist())
    image, _ = render_scatter(xy, values, size=MAP_SIZE, mark=mark)
    return image, legend


def redraw(label, colour_by, state, *, shared):
    """draw_map for automatic triggers: a model without a map gets an empty picture (its tab explains why)."""
    if unavailable(shared.entry(label).explorer):
        return None, ""
    return draw_map(label, colour_by, state, shared=shared)


def decode_map_point(label, x, y, colour_by, class_choice, attribute_choice, *, shared):
    """[decoded image, map with the point ringed, note, latent state] for map coordinates (x, y)."""
    entry = shared.entry(label)
    explorer = entry.explorer
    if unavailable(explorer):
        raise gr.Error(unavailable(explorer))
    _, basis = projection(explorer)
    z = from_pca(torch.tensor([float(x), float(y)], dtype=basis.mean.dtype), basis)  # [D] on the plane through the mean
    image = to_pil(explorer.decode(z[None], entry.condition(class_choice, attribute_choice, 1)))
    state = latent_to_state(z)
    picture, _ = draw_map(label, colour_by, state, shared=shared)
    note = f"Map point ({float(x):.3f}, {float(y):.3f}) decoded; it is now the current image for the sliders and attribute tabs."
    return image, picture, note, state


def pixel_to_map(label, col: float, row: float, *, shared) -> tuple[float, float]:
    """Map coordinates of a pixel of the drawn map (render_scatter is deterministic, so its PixelMap is rebuilt)."""
    xy, _ = projection(shared.entry(label).explorer)
    _, pixels = render_scatter(xy, size=MAP_SIZE)
    return pixels.to_map(col, row)


def _colouring(explorer, colour_by) -> tuple[torch.Tensor | None, str]:
    """Point values for render_scatter and the legend, as HTML."""
    stats, meta = explorer.stats, explorer.metadata
    valid = [value for _, value in colour_choices(explorer)]
    if colour_by not in valid:
        raise gr.Error(f"cannot colour by {colour_by!r}; this model offers: {', '.join(valid)}")
    if colour_by == NONE:
        return None, ""
    if colour_by == CLASS:
        return stats["heldout_labels"].long(), _legend([(k, f"class {name}") for k, name in enumerate(meta["label_names"])])
    values = stats["heldout_attributes"][:, meta["attribute_names"].index(colour_by)].bool()
    return values, _legend([(0, f"without {colour_by}"), (1, f"with {colour_by}")])


def _legend(entries: list[tuple[int, str]]) -> str:
    """render_scatter colours category k with PALETTE[k % 10]; the legend repeats that rule."""
    items = (f'<span style="white-space:nowrap;margin-right:1em"><span style="color:rgb{PALETTE[k % len(PALETTE)]}">&#9679;</span> {html.escape(text)}</span>' for k, text in entries)
    return '<div style="line-height:1.8">' + " ".join(items) + "</div>"


def axes_text(entry) -> str:
    """What the map's axes are, for this kind of model."""
    if entry.explorer.is_generator:
        return ("Axes: the top two GANSpace directions (Härkönen et al. 2020), principal directions of the generator's first feature map over "
                "prior draws, carried back to z. The points are 1,000 of the GAN's own samples (it has no encoder to place real images). "
                "A clicked point (x, y) decodes x·PC1 + y·PC2 from the mean draw; the black ring marks the current image.")  # fmt: skip
    return ("Axes: the top two principal directions of the training latents' means. A clicked point (x, y) decodes "
            "mean + x·PC1 + y·PC2, the other directions held at the mean; the black ring marks the current image.")  # fmt: skip


def picture_label(entry) -> str:
    if entry.explorer.is_generator:
        return "The GAN's samples on its top two GANSpace directions: click to decode a point"
    return "Held-out images on the top two principal directions: click to decode a point"


def build(shared) -> None:
    with gr.Tab("Latent map", id="latent-map"):
        explain = gr.Markdown(visible=False)
        with gr.Row() as body:
            with gr.Column(scale=3):
                # every model's choices to start with, so API clients can pass any (see ui/attributes.py build)
                every_colour = union_choices(colour_choices(entry.explorer) for entry in shared.catalog.entries.values())
                colour_by = gr.Dropdown(every_colour, value=NONE, label="Colour by")
                picture = gr.Image(label=picture_label(shared.first), type="numpy", format="png", interactive=False, height=MAP_SIZE + 40)
                legend = gr.HTML()
                axes = gr.Markdown(axes_text(shared.first))
            with gr.Column(scale=2):
                decoded = image_output("Decoded at the clicked point")
                with gr.Row():
                    x = Number(label="map x", value=0.0, minimum=-MAP_LIMIT, maximum=MAP_LIMIT)
                    y = Number(label="map y", value=0.0, minimum=-MAP_LIMIT, maximum=MAP_LIMIT)
                decode_button = gr.Button("Decode this point")
                note = gr.Markdown()
        # a person's choice (or an API call) draws, and says why a model has no map; a model change redraws through model_updates
        colour_by.input(partial(draw_map, shared=shared), [shared.model, colour_by, shared.latent], [picture, legend], api_name="latent_map")
        shared.latent.change(partial(redraw, shared=shared), [shared.model, colour_by, shared.latent], [picture, legend], api_name=False, show_progress="hidden")
        point_outputs = [decoded, picture, note, shared.latent]
        point_inputs = [shared.model, x, y, colour_by, *shared.conditions]
        decode_button.click(partial(decode_map_point, shared=shared), point_inputs, point_outputs, api_name="decode_map_point")

        def click(label, colour, class_choice, attribute_choice, evt: gr.SelectData):
            px, py = pixel_to_map(label, *evt.index, shared=shared)  # evt.index: (column, row) of the unscaled map
            px, py = round(px, 4), round(py, 4)  # what the number boxes show is what is decoded
            return px, py, *decode_map_point(label, px, py, colour, class_choice, attribute_choice, shared=shared)

        picture.select(click, [shared.model, colour_by, *shared.conditions], [x, y, *point_outputs], api_name=False)

        def model_updates(entry):
            why = unavailable(entry.explorer)
            choices = colour_choices(entry.explorer)
            colour = CLASS if any(value == CLASS for _, value in choices) else NONE  # classes make the map informative
            shown = gr.update(value=why, visible=bool(why)), gr.update(visible=not why), gr.update(choices=choices, value=colour)
            drawn, key = redraw(entry.label, colour, None, shared=shared)
            return [*shown, gr.update(value=drawn, label=picture_label(entry)), key, None, "", axes_text(entry)]

        # drawn here without a ring; shared.latent.change then rings the new model's current image
        shared.when_model_changes([explain, body, colour_by, picture, legend, decoded, note, axes], model_updates)
