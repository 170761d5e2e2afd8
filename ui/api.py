"""Endpoints for programs (gr.api): named, typed parameters and named results, on latents the program holds itself
rather than on a browser session's current image. The tabs' own endpoints (/reconstruct, /decode, ...) follow the
page's controls; these follow what a script needs:

    /encode_image(model, image, condition)                  -> {"latent", "note"}
    /decode_latent(model, latent, condition)                -> {"image", "latent"}
    /edit_latent(model, latent, attribute, strength, method, vector, condition, attributes, hold) -> {"image", "latent", "note"}
    /sample_latents(model, n, seed, temperature, source, condition)            -> {"images", "latents"}
    /attribute_vector(model, attribute, method)             -> {"vector", "auc"}: the vector as a safetensors file

`model` is a checkpoint's name ("faces-vae") or its label in the picker; `condition` a class name or a list of
attribute names, for conditional models; images are PNG files (the client downloads them), latents lists of floats
within ±API_RANGE (as the sliders). A file parameter takes only a file uploaded to the app (gradio_client's
handle_file does it): ui.cache.uploaded.
"""

from __future__ import annotations

import functools
import hashlib
import inspect

import gradio as gr
import numpy as np
import torch
from gradio.data_classes import FileData

from latent import ATTRIBUTE_METHODS, DEFAULT_STRENGTH, edit, load_vector, save_vector

from .attribute_vectors import fitted, labelled
from .cache import cache_file, uploaded
from .common import SEED_MAX, checked_number, load_image, slow_work, to_pil
from .sliders import API_RANGE

MAX_LATENTS = 64  # sample_latents' n
STRENGTH_LIMIT = 10.0


def build(shared) -> None:
    for fn in (encode_image, decode_latent, edit_latent, sample_latents, attribute_vector):
        gr.api(_bind(fn, shared), api_name=fn.__name__)


def _bind(fn, shared):
    """fn with `shared` filled in, keeping fn's name, docstring and typed signature (gr.api reads them)."""

    @functools.wraps(fn)
    def bound(*args, **kwargs):
        return fn(shared, *args, **kwargs)

    signature = inspect.signature(fn)
    bound.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])
    return bound


def encode_image(shared, model: str, image: FileData, condition: str | list[str] | None = None) -> dict:
    """The latent of an image (a GAN's: found by inversion, seconds); a conditional model encodes it under
    `condition`."""
    entry = _entry(shared, model)
    y = _condition(entry, condition)
    x, note = load_image(image, entry)
    with slow_work(entry.explorer.is_generator):
        z = entry.explorer.encode(x, y)
    return {"latent": _floats(z[0]), "note": note}


def decode_latent(shared, model: str, latent: list[float], condition: str | list[str] | None = None) -> dict:
    """The image a latent decodes to."""
    entry = _entry(shared, model)
    z = _latent(entry, latent)
    return {"image": _png(entry.explorer.decode(z[None], _condition(entry, condition))), "latent": _floats(z)}


def edit_latent(
    shared,
    model: str,
    latent: list[float],
    attribute: str = "",
    strength: float = DEFAULT_STRENGTH,
    method: str = "mean_difference",
    vector: FileData | None = None,
    condition: str | list[str] | None = None,
    attributes: dict[str, float] | None = None,
    hold: list[str] | None = None,
) -> dict:
    """latent + strength x an attribute vector: the model's own (attribute, method), or one from a file
    /attribute_vector gave (vector); or several attributes at once, as the Latent sliders tab's named attributes move
    them (attributes {name: strength}: each attribute's direction independent of the others', those in hold projected
    out and kept fixed; latent.independent_directions)."""
    entry = _entry(shared, model)
    z = _latent(entry, latent)
    if attributes is not None:
        return _edit_attributes(entry, z, attributes, hold or [], condition)
    strength = float(checked_number("strength", strength, -STRENGTH_LIMIT, STRENGTH_LIMIT))
    if vector is not None:
        try:
            direction, meta = load_vector(uploaded(vector, "vector"), entry.explorer.latent_dim)
        except ValueError as err:
            raise gr.Error(f"vector: {err}") from None
        what = f"the vector from the file ({meta.get('attribute', '?')} of {meta.get('model', '?')})"
    else:
        direction, _ = _fitted(entry, attribute, method)
        what = f"{attribute} ({method})"
    edited = edit(z, direction, strength)
    return {
        "image": _png(entry.explorer.decode(edited[None], _condition(entry, condition))),
        "latent": _floats(edited),
        "note": f"{what} at strength {strength:+g}",
    }


def _edit_attributes(entry, z: torch.Tensor, attributes, hold, condition) -> dict:
    """edit_latent for several attributes {name: strength}, by their independent directions (held ones projected out)."""
    names = entry.explorer.attribute_names
    if not isinstance(attributes, dict) or not attributes:
        raise gr.Error('attributes: expected an object of attribute names and strengths, e.g. {"Smiling": 1, "Eyeglasses": 0.5}')
    if not isinstance(hold, list) or not all(isinstance(name, str) for name in hold):
        raise gr.Error(f"hold: expected a list of attribute names, got {hold!r:.80}")
    unknown = [name for name in [*attributes, *hold] if name not in names]
    if unknown:
        raise gr.Error(f"unknown attribute(s) {', '.join(map(repr, unknown))}; {entry.key} has: {', '.join(names) or 'none'}")
    both = [name for name in attributes if name in hold]
    if both:
        raise gr.Error(f"{', '.join(both)}: held attributes stay fixed; move them or hold them, not both")
    strengths = {
        name: float(checked_number(f"attributes[{name!r}]", value, -STRENGTH_LIMIT, STRENGTH_LIMIT)) for name, value in attributes.items()
    }
    edited = entry.explorer.apply_sliders(z, {names.index(name): value for name, value in strengths.items()}, "attributes", held=hold)
    moved = ", ".join(f"{name} {value:+g}" for name, value in strengths.items())
    return {
        "image": _png(entry.explorer.decode(edited[None], _condition(entry, condition))),
        "latent": _floats(edited),
        "note": f"{moved} (independent directions{', holding ' + ', '.join(hold) if hold else ''})",
    }


def sample_latents(
    shared, model: str, n: int = 1, seed: int = 0, temperature: float = 1.0, source: str = "prior", condition: str | list[str] | None = None
) -> dict:
    """n latents drawn from the model's own prior (or a Gaussian fitted to the training codes: source "fitted"; a
    mixture over the labelled codes: "mixture"; N(0, I) of a first stage whose own prior is a second stage:
    "standard_normal"; where the model offers them), and their images."""
    entry = _entry(shared, model)
    n = int(checked_number("n", n, 1, MAX_LATENTS))
    seed = int(checked_number("seed", seed, 0, SEED_MAX))
    temperature = float(checked_number("temperature", temperature, 1e-3, 3.0))
    if source not in entry.explorer.sample_sources:
        raise gr.Error(f"source: {entry.key} draws from one of {', '.join(entry.explorer.sample_sources)}, got {source!r}")
    y = _condition(entry, condition, n, sampling=True)
    with slow_work(source == "prior" and entry.explorer.prior is not None):  # through a PixelCNN: one pass per grid cell
        z = entry.explorer.sample_latent(n, seed=seed, temperature=temperature, source=source, y=y)
    images = entry.explorer.decode(z, y)
    return {"images": [_png(image[None]) for image in images], "latents": [_floats(v) for v in z]}


def attribute_vector(shared, model: str, attribute: str, method: str = "mean_difference") -> dict:
    """The attribute's vector in the model's latent space, as a safetensors file (tensor "vector"; metadata: model,
    attribute, method, latent_dim) that /edit_latent and the Attribute tab take back; and its held-out ROC-AUC."""
    entry = _entry(shared, model)
    vector, auc = _fitted(entry, attribute, method)
    path = cache_file(f"{entry.key.replace('/', '--')}-{attribute}-{method}.safetensors")
    save_vector(path, vector, model=entry.key, attribute=attribute, method=method, latent_dim=str(len(vector)))
    return {"vector": FileData(path=str(path), orig_name=path.name), "auc": None if auc is None else float(auc)}


# --- checks and conversions


def _entry(shared, model: str):
    if not isinstance(model, str):
        raise gr.Error(f"model: a checkpoint name or a picker label, got {type(model).__name__}")
    for label, entry in shared.catalog.entries.items():
        if model in (label, entry.key):
            return entry
    raise gr.Error(f"model: unknown {model!r}; choose one of: {', '.join(e.key for e in shared.catalog.entries.values())}")


def _latent(entry, latent) -> torch.Tensor:
    dim = entry.explorer.latent_dim
    if not isinstance(latent, list) or len(latent) != dim:
        raise gr.Error(
            f"latent: {entry.key} takes a list of {dim} numbers, got {len(latent) if isinstance(latent, list) else type(latent).__name__}"
        )
    values = [float(checked_number(f"latent[{i}]", v, -API_RANGE, API_RANGE)) for i, v in enumerate(latent)]
    return torch.tensor(values, dtype=torch.float32)


def _condition(entry, condition, n: int = 1, sampling: bool = False):
    """y for n images from a class name or attribute names (the two controls of the page, in one parameter)."""
    if isinstance(condition, str) or condition is None:
        return entry.condition(condition, [], n, sampling)
    if isinstance(condition, list) and all(isinstance(c, str) for c in condition):
        unknown = [c for c in condition if c not in entry.conditions]
        if unknown:
            raise gr.Error(f"condition: unknown attribute(s) {unknown}; {entry.key} takes {', '.join(entry.conditions) or 'none'}")
        return entry.condition(None, condition, n, sampling)
    raise gr.Error("condition: a class name, or a list of attribute names")


def _fitted(entry, attribute: str, method: str):
    names, _ = labelled(entry.explorer)
    if attribute not in names:
        raise gr.Error(f"attribute: unknown {attribute!r}; {entry.key} has {', '.join(names) or 'no labelled attributes'}")
    if method not in ATTRIBUTE_METHODS or method in ("balanced", "conditional"):  # those two need attributes to hold fixed: the page's
        raise gr.Error(f"method: one of mean_difference, svm, got {method!r}")
    return fitted(entry.explorer, attribute, method, ())


def _floats(z: torch.Tensor) -> list[float]:
    return [float(v) for v in z.flatten()]


def _png(images: torch.Tensor) -> FileData:
    """A PNG of one image [1, C, S, S] at the model's size, named by its content."""
    pil = to_pil(images, display=1)
    array = np.asarray(pil)
    path = cache_file(f"{hashlib.sha256(array.tobytes()).hexdigest()[:32]}.png")
    pil.save(path)
    return FileData(path=str(path), orig_name=path.name)
