"""Model configs: frozen dataclasses whose fields carry their help, choices and bounds, checked on construction
(types, ranges, choices), plus the condition helpers every conditional model shares."""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "silu": nn.SiLU, "gelu": nn.GELU}


@dataclass(frozen=True)
class Bounds:
    """The numeric range a field accepts: each end inclusive, open (exclusive) or absent (None)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: Any) -> bool:
        # phrased as what passes, so NaN lies outside every range
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def __str__(self) -> str:
        if self.low is not None and self.high is not None:
            return f"in {'(' if self.low_open else '['}{self.low}, {self.high}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low}"
        return f"{'<' if self.high_open else '<='} {self.high}"


def option(
    default: Any,
    help: str,
    choices: tuple | None = None,
    *,
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
    below: float | None = None,
) -> Any:
    """A config field with its help text, and its allowed values or numeric bounds, in metadata, for argparse,
    --help and the checks on construction. Bounds: low <= value <= high (inclusive), above < value < below
    (exclusive), mixed as needed, e.g. `low=0, below=1` for [0, 1); a tuple field's bounds hold for each item."""
    metadata: dict[str, Any] = {"help": help}
    if choices is not None:
        metadata["choices"] = tuple(choices)
    if (low is not None and above is not None) or (high is not None and below is not None):
        raise TypeError("give each end of a range once: low or above, high or below")
    if (low, high, above, below) != (None,) * 4:
        metadata["bounds"] = Bounds(
            low if above is None else above, high if below is None else below, low_open=above is not None, high_open=below is not None
        )
    return field(default=default, metadata=metadata)


def check_bounds(obj: Any, label: Callable[[str], str] = lambda name: f"field {name!r}") -> None:
    """ValueError for the first field of a dataclass instance outside the bounds `option` declared for it;
    label(name) names the field in the message (a config field, or a command-line flag)."""
    for f in dataclasses.fields(obj):
        bounds, value = f.metadata.get("bounds"), getattr(obj, f.name)
        if bounds is None:
            continue
        items = {f"{f.name}[{i}]": item for i, item in enumerate(value)} if isinstance(value, tuple) else {f.name: value}
        for name, item in items.items():
            if item not in bounds:
                raise ValueError(f"{label(name)} must be {bounds}, got {item}")


@dataclass(frozen=True)
class Config:
    """What every config does: a model_type fixed by the class, fields checked against their annotations
    (and allowed values and bounds), strict construction from config.json. Subclasses set `model_type`'s default."""

    model_type: str = option("", "registry key in models.MODELS; fixed by the config class")

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = _check_type(f.name, getattr(self, f.name), hints[f.name])
            object.__setattr__(self, f.name, value)  # frozen: coerce int -> float, list -> tuple
            choices = f.metadata.get("choices")
            if choices is not None and value not in choices:
                raise ValueError(f"field {f.name!r} must be one of {', '.join(map(repr, choices))}, got {value!r}")
        check_bounds(self)  # after the type checks: bounds compare numbers
        expected = type(self).__dataclass_fields__["model_type"].default
        if self.model_type != expected:
            raise ValueError(f"{type(self).__name__} has model_type {expected!r}, got {self.model_type!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any, source: str = "config") -> Config:
        """Build from parsed config.json, refusing unknown fields and wrong types (missing fields take defaults)."""
        if not isinstance(data, dict):
            raise ValueError(f"{source}: expected a JSON object of config fields, got {type(data).__name__}")
        accepted = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(accepted))
        if unknown:
            raise ValueError(
                f"{source}: unknown field(s) {', '.join(map(repr, unknown))} for model_type "
                f"{cls.model_type!r}; accepted fields: {', '.join(accepted)}"
            )
        try:
            return cls(**data)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{source}: {e}") from None


@dataclass(frozen=True)
class ModelConfig(Config):
    """Fields every image model shares (autoencoders, classifiers)."""

    image_size: int = option(32, "height = width of the input images in pixels (8, 28, 32, 64, 128, ...)", low=1)
    channels: int = option(1, "image channels: 1 for grey, 3 for RGB", low=1)
    latent_dim: int = option(16, "size of the latent vector z", low=1)
    mlp: bool = option(False, "fully connected encoder/decoder instead of convolutional (for tiny images, e.g. 8x8)")
    hidden_dims: tuple[int, ...] = option((256,), "MLP hidden widths in encoder order; the decoder mirrors them (mlp only)", low=1)
    base_width: int = option(32, "conv channels at full resolution; doubles at every halving of the feature map", low=1)
    max_width: int = option(256, "cap on conv channels", low=1)
    activation: str = option("silu", "nonlinearity between layers", choices=tuple(ACTIVATIONS))
    norm: str = option("group", "conv normalisation; GroupNorm is per image (no batch statistics)", choices=("group", "none"))
    res_blocks: int = option(
        0, "residual blocks (two 3x3 convs and a skip, He et al. 2016) at each resolution of the conv encoder and decoder", low=0
    )


def field_specs(cls) -> list[dict[str, Any]]:
    """One dict per field of a config dataclass, for building a CLI: name, type (resolved, e.g. int
    or tuple[int, ...]), default, help (ending in the accepted range where bounded), choices and bounds
    (None if free). Works for any dataclass whose fields were made with `option`."""
    hints = typing.get_type_hints(cls)
    specs = []
    for f in dataclasses.fields(cls):
        bounds, help = f.metadata.get("bounds"), f.metadata["help"]
        if bounds is not None:  # --help shows the range the constructor enforces
            each = "each " if typing.get_origin(hints[f.name]) is tuple else ""
            help = f"{help}; {each}must be {bounds}"
        specs.append(
            {
                "name": f.name,
                "type": hints[f.name],
                "default": f.default,
                "help": help,
                "choices": f.metadata.get("choices"),
                "bounds": bounds,
            }
        )
    return specs


def check_targets(config: ModelConfig, role: str) -> None:
    """Validate the num_classes / num_attributes / condition_names fields shared by the models that take
    class labels or binary attributes (a CVAE conditions on them, a classifier predicts them).
    role says what the model does with them, e.g. "CVAE conditions on"."""
    if (config.num_classes > 0) == (config.num_attributes > 0):  # negative counts: refused by the fields' bounds
        raise ValueError(
            f"{role} exactly one of: num_classes > 0 (class labels) or num_attributes > 0 "
            f"with num_classes = 0 (binary attributes); got num_classes={config.num_classes}, num_attributes={config.num_attributes}"
        )
    k = config.num_classes or config.num_attributes
    if config.condition_names and len(config.condition_names) != k:
        raise ValueError(f"condition_names has {len(config.condition_names)} names for {k} conditions")


def condition_labels(config) -> list[str]:
    """Display names of the classes or attributes a config's num_classes / num_attributes stand for."""
    prefix, k = ("class", config.num_classes) if config.num_classes else ("attribute", config.num_attributes)
    return list(config.condition_names) or [f"{prefix} {i}" for i in range(k)]


def condition_vector(config, y: torch.Tensor | None, n: int, device: torch.device, who: str) -> torch.Tensor:
    """The condition [n, K] a conditional model takes from y: class ids [n] -> one-hot [n, num_classes], or binary
    attributes [n, num_attributes] -> float. ValueError, naming what `who` accepts, for anything else."""
    if config.num_classes:
        accepted = f"class ids: an integer tensor [{n}] with values in [0, {config.num_classes})"
        if y is None or not torch.is_tensor(y) or y.shape != (n,) or y.is_floating_point() or y.dtype == torch.bool:
            raise ValueError(f"{who} needs y as {accepted}, got {_describe(y)}")
        if n and (y.min() < 0 or y.max() >= config.num_classes):
            raise ValueError(f"{who} needs y as {accepted}, got values in [{int(y.min())}, {int(y.max())}]")
        return F.one_hot(y.long(), config.num_classes).float().to(device)
    accepted = f"attributes: a tensor [{n}, {config.num_attributes}] of 0/1 values"
    if y is None or not torch.is_tensor(y) or y.shape != (n, config.num_attributes):
        raise ValueError(f"{who} needs y as {accepted}, got {_describe(y)}")
    return y.float().to(device)


def _describe(y) -> str:
    return f"tensor {tuple(y.shape)} {y.dtype}" if torch.is_tensor(y) else repr(y)


def _check_type(name: str, value: Any, hint: Any) -> Any:
    """Check a field value against its annotation (int, float, bool, str, tuple[T, ...]); return it coerced."""
    if typing.get_origin(hint) is tuple:
        (item, _) = typing.get_args(hint)  # tuple[T, ...]
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"field {name!r} must be a list of {item.__name__}, got {value!r}")
        return tuple(_check_type(f"{name}[{i}]", v, item) for i, v in enumerate(value))
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }
    if hint not in ok:
        raise TypeError(f"field {name!r}: unsupported annotation {hint!r}")
    if not ok[hint]:
        raise ValueError(f"field {name!r} must be {hint.__name__}, got {value!r} ({type(value).__name__})")
    if hint is float and not (math.isfinite(value)):
        raise ValueError(f"field {name!r} must be a finite number, got {value!r}")
    return float(value) if hint is float else value
