"""Datasets: one registry, one `load`.

>>> import data
>>> ds = data.load("faces", split="test", n=64)
>>> ds.batch(slice(0, 8)).shape          # float32 NCHW in [0, 1]
torch.Size([8, 3, 64, 64])
>>> ds.attribute("Smiling")[:8]          # CelebA attribute names
"""

from __future__ import annotations

import inspect
import types
import typing

from . import celeba, digits, dsprites, faces, folder, idx
from .base import ImageDataset, cache_dir, tile, to_tensor, to_uint8

# name -> loader(split=..., **options) -> ImageDataset
DATASETS = {
    "faces": faces.load,
    "dsprites": dsprites.load,
    "digits": digits.load,
    "fashion-mnist": idx.load_fashion_mnist,
    "mnist": idx.load_mnist,
    "celeba": celeba.load,
    "folder": folder.load,
}

# The Hub's ids of the public datasets a loader reads (a model card's `datasets`); the others are generated here
HUB_DATASETS = {"fashion-mnist": "zalando-datasets/fashion_mnist", "mnist": "ylecun/mnist"}


def options(name: str) -> dict[str, object]:
    """The options a dataset accepts, with their defaults (`inspect.Parameter.empty` if required)."""
    loader = _loader(name)
    return {p.name: p.default for p in inspect.signature(loader).parameters.values() if p.name != "split"}


def option_types(name: str) -> dict[str, type]:
    """The type of each option, from the loader's annotations (`int | None` -> int), for CLIs."""
    hints = typing.get_type_hints(_loader(name))
    result = {}
    for option in options(name):
        hint = hints.get(option, str)
        if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
            hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
        result[option] = hint if hint in (bool, int, float, str) else str  # paths and the like arrive as str
    return result


def load(name: str, split: str = "train", **opts) -> ImageDataset:
    """Load dataset `name` ('faces', 'dsprites', 'digits', 'fashion-mnist', 'mnist', 'celeba', 'folder')."""
    accepted = options(name)
    unknown = sorted(set(opts) - set(accepted))
    if unknown:
        raise ValueError(f"dataset {name!r} has no option {', '.join(unknown)}; it accepts: {', '.join(accepted) or 'none'}")
    return _loader(name)(split=split, **opts)


def pinned(name: str, opts: dict, version: int | None = None) -> dict:
    """opts with the renderer version of a generated dataset (faces) made explicit where they give none: `version`, or
    the newest. What a training run records, so a newer renderer never changes what its checkpoint is measured on."""
    accepted = options(name)
    return {**opts, "version": opts.get("version", version or accepted["version"])} if "version" in accepted else dict(opts)


def recorded(name: str, opts: dict) -> dict:
    """The options a checkpoint's training.json records, as data.load takes them: a run of a versioned dataset that
    recorded no version trained before the renderer was versioned, on its version 1."""
    return pinned(name, opts, version=1)


def _loader(name: str):
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    return DATASETS[name]


__all__ = [
    "DATASETS",
    "HUB_DATASETS",
    "ImageDataset",
    "load",
    "options",
    "pinned",
    "recorded",
    "option_types",
    "cache_dir",
    "tile",
    "to_tensor",
    "to_uint8",
]
