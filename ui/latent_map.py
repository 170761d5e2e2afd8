"""Latent map: the encoded held-out images on the top two principal directions of the training latents, coloured by
a label or attribute (a GAN: its own samples on its GANSpace directions, coloured by the classifier's labels). Clicking the map decodes the latent at that spot and makes it the current image."""

from __future__ import annotations

import html
from functools import lru_cache, partial
from typing import NamedTuple

import gradio as gr
import numpy as np
import torch
from PIL import Image, ImageDraw

from latent import from_pca, latent_map, to_pca

from .common import Number, image_output, latent_to_state, to_pil, union_choices

MAP_SIZE = 480  # pixels; drawn at this size and shown unscaled, so a click's pixel is a pixel of render_scatter's map
NONE = "none"
CLASS = "class"
MAP_LIMIT = 1e3  # map coordinates accepted: the maps span a few units; far beyond, a decoder only saturates


# categorical colours (Tableau 10): category k is drawn in PALETTE[k % 10], so the UI can draw the legend
PALETTE = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
]
# continuous values: linear interpolation between these anchors of the viridis colour map, low to high
VIRIDIS = np.array([(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)], dtype=np.float64)


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
        return (
            "A GAN has no encoder: its map shows 1,000 of its own samples, labelled by the dataset's attribute classifier, and this "
            "dataset has none. Reconstruct an image (inversion) to make it the current image instead."
        )
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
    items = (
        f'<span style="white-space:nowrap;margin-right:1em"><span style="color:rgb{PALETTE[k % len(PALETTE)]}">&#9679;</span> {html.escape(text)}</span>'
        for k, text in entries
    )
    return '<div style="line-height:1.8">' + " ".join(items) + "</div>"


def axes_text(entry) -> str:
    """What the map's axes are, for this kind of model."""
    if entry.explorer.is_generator:
        return (
            "Axes: the top two GANSpace directions (Härkönen et al. 2020), principal directions of the generator's first feature map over "
            "prior draws, carried back to z. The points are 1,000 of the GAN's own samples (it has no encoder to place real images). "
            "A clicked point (x, y) decodes x·PC1 + y·PC2 from the mean draw; the black ring marks the current image."
        )
    return (
        "Axes: the top two principal directions of the training latents' means. A clicked point (x, y) decodes "
        "mean + x·PC1 + y·PC2, the other directions held at the mean; the black ring marks the current image."
    )


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
        colour_by.input(
            partial(draw_map, shared=shared), [shared.model, colour_by, shared.latent], [picture, legend], api_name="latent_map"
        )
        shared.latent.change(
            partial(redraw, shared=shared),
            [shared.model, colour_by, shared.latent],
            [picture, legend],
            api_name=False,
            show_progress="hidden",
        )
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
            drawn, key = redraw(entry.label, colour, None, shared=shared)
            return {
                explain: gr.update(value=why, visible=bool(why)),
                body: gr.update(visible=not why),
                colour_by: gr.update(choices=choices, value=colour),
                picture: gr.update(value=drawn, label=picture_label(entry)),
                legend: key,
                decoded: None,
                note: "",
                axes: axes_text(entry),
            }

        # drawn here without a ring; shared.latent.change then rings the new model's current image
        shared.when_model_changes([explain, body, colour_by, picture, legend, decoded, note, axes], model_updates)
