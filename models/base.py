"""Shared pieces of every model: the config base, the posterior, conv/MLP builders, checkpoints.

A model is `Model(config)`; the config dataclass fully defines the architecture and
the training objective. Checkpoints are directories written by `save()` through
huggingface_hub's `PyTorchModelHubMixin`:

    config.json          asdict(config), including "model_type"
    model.safetensors    the state dict (nothing pickled)
    README.md            model card (YAML metadata + text passed to `save(card=...)`)

Loading goes through `models.load(path_or_repo_id)` (class picked by model_type) or
`<Model>.from_pretrained(...)`; both validate config.json strictly (unknown field,
wrong type, bad JSON -> ValueError) and load weights with strict=True after checking
every tensor name and shape (-> ValueError naming the file and the tensors).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
import huggingface_hub.constants
from huggingface_hub import HfApi, PyTorchModelHubMixin, hf_hub_download, snapshot_download
from torch import nn

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "silu": nn.SiLU, "gelu": nn.GELU}


# ----------------------------------------------------------------------------- configs


def option(default: Any, help: str, choices: tuple | None = None) -> Any:
    """A config field with its help text (and allowed values) in metadata, for argparse and --help."""
    metadata = {"help": help}
    if choices is not None:
        metadata["choices"] = tuple(choices)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Config:
    """What every config does: a model_type fixed by the class, fields checked against their annotations
    (and allowed values), strict construction from config.json. Subclasses set `model_type`'s default."""

    model_type: str = option("", "registry key in models.MODELS; fixed by the config class")

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = _check_type(f.name, getattr(self, f.name), hints[f.name])
            object.__setattr__(self, f.name, value)  # frozen: coerce int -> float, list -> tuple
            choices = f.metadata.get("choices")
            if choices is not None and value not in choices:
                raise ValueError(f"field {f.name!r} must be one of {', '.join(map(repr, choices))}, got {value!r}")
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

    image_size: int = option(32, "height = width of the input images in pixels (8, 28, 32, 64, 128, ...)")
    channels: int = option(1, "image channels: 1 for grey, 3 for RGB")
    latent_dim: int = option(16, "size of the latent vector z")
    mlp: bool = option(False, "fully connected encoder/decoder instead of convolutional (for tiny images, e.g. 8x8)")
    hidden_dims: tuple[int, ...] = option((256,), "MLP hidden widths in encoder order; the decoder mirrors them (mlp only)")
    base_width: int = option(32, "conv channels at full resolution; doubles at every halving of the feature map")
    max_width: int = option(256, "cap on conv channels")
    activation: str = option("silu", "nonlinearity between layers", choices=tuple(ACTIVATIONS))
    norm: str = option("group", "conv normalisation; GroupNorm is per image (no batch statistics)", choices=("group", "none"))
    res_blocks: int = option(0, "residual blocks (two 3x3 convs and a skip, He et al. 2016) at each resolution of the conv encoder and decoder")

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("image_size", "channels", "latent_dim", "base_width", "max_width"):
            if getattr(self, name) < 1:
                raise ValueError(f"field {name!r} must be >= 1, got {getattr(self, name)}")
        if self.res_blocks < 0:
            raise ValueError(f"field 'res_blocks' must be >= 0, got {self.res_blocks}")
        if any(h < 1 for h in self.hidden_dims):
            raise ValueError(f"field 'hidden_dims' must hold widths >= 1, got {self.hidden_dims}")


def field_specs(cls) -> list[dict[str, Any]]:
    """One dict per field of a config dataclass, for building a CLI: name, type (resolved, e.g. int
    or tuple[int, ...]), default, help, choices (None if free). Works for any dataclass whose fields
    were made with `option`."""
    hints = typing.get_type_hints(cls)
    return [
        {"name": f.name, "type": hints[f.name], "default": f.default, "help": f.metadata["help"], "choices": f.metadata.get("choices")}
        for f in dataclasses.fields(cls)
    ]


def check_targets(config: ModelConfig, role: str) -> None:
    """Validate the num_classes / num_attributes / condition_names fields shared by the models that take
    class labels or binary attributes (a CVAE conditions on them, a classifier predicts them).
    role says what the model does with them, e.g. "CVAE conditions on"."""
    if (config.num_classes > 0) == (config.num_attributes > 0) or min(config.num_classes, config.num_attributes) < 0:
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


# ----------------------------------------------------------------------------- posterior


class Posterior:
    """q(z|x): a diagonal Gaussian (mean, logvar), or a point mass at `mean` when logvar is None."""

    def __init__(self, mean: torch.Tensor, logvar: torch.Tensor | None = None):
        self.mean = mean  # [N, D]
        self.logvar = None if logvar is None else logvar.clamp(-30.0, 20.0)  # avoid exp overflow

    @property
    def deterministic(self) -> bool:
        return self.logvar is None

    @property
    def std(self) -> torch.Tensor:
        return torch.zeros_like(self.mean) if self.logvar is None else torch.exp(0.5 * self.logvar)

    def mode(self) -> torch.Tensor:
        return self.mean

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.logvar is None:
            return self.mean
        # reparameterisation z = mu + sigma * eps, Kingma & Welling 2014, sec. 2.4
        eps = torch.randn(self.mean.shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype)
        return self.mean + self.std * eps

    def kl(self) -> torch.Tensor:
        """Per-dimension KL(q(z|x) || N(0, I)) [N, D]."""
        if self.logvar is None:
            raise ValueError("a deterministic posterior (autoencoder code) has no KL to a prior; use a VAE")
        # KL(q(z|x) || N(0, I)) = -1/2 (1 + logvar - mu^2 - exp(logvar)), Kingma & Welling 2014, appendix B
        return -0.5 * (1.0 + self.logvar - self.mean.pow(2) - self.logvar.exp())

    def log_density(self, z: torch.Tensor) -> torch.Tensor:
        """Per-dimension log N(z; mean, exp(logvar)), broadcasting z against the posterior."""
        if self.logvar is None:
            raise ValueError("a deterministic posterior has no density")
        return gaussian_log_density(z, self.mean, self.logvar)


def gaussian_log_density(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Element-wise log N(z; mean, exp(logvar))."""
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mean).pow(2) * torch.exp(-logvar))


# ----------------------------------------------------------------------------- per-image losses


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log Bernoulli(x; sigmoid(logits)) summed over pixels: [N]."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def gaussian_nll(mean: torch.Tensor, x: torch.Tensor, std: float) -> torch.Tensor:
    """-log N(x; mean, std^2 I) summed over pixels, constant included: [N]."""
    per_pixel = (x - mean).pow(2) / (2 * std**2) + 0.5 * math.log(2 * math.pi * std**2)
    return per_pixel.flatten(1).sum(1)


def squared_error(mean: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """||x - mean||^2 summed over pixels: [N]."""
    return (x - mean).pow(2).flatten(1).sum(1)


# ----------------------------------------------------------------------------- encoder / decoder builders


def feature_sizes(image_size: int) -> list[int]:
    """Feature-map sides of the conv stack: halve (rounding up) until <= 4. 28 -> [28, 14, 7, 4]."""
    sizes = [image_size]
    while sizes[-1] > 4:
        sizes.append(math.ceil(sizes[-1] / 2))
    return sizes


def _act(config: ModelConfig, linear: bool) -> nn.Module:
    return nn.Identity() if linear else ACTIVATIONS[config.activation]()


def _norm(config: ModelConfig, width: int, linear: bool) -> nn.Module:
    if linear or config.norm == "none":
        return nn.Identity()
    return nn.GroupNorm(math.gcd(8, width), width)


class ResBlock(nn.Module):
    """x + conv(act(norm(conv(act(norm(x)))))): depth at one resolution without a longer gradient path (He et al. 2016)."""

    def __init__(self, config: ModelConfig, width: int, linear: bool):
        super().__init__()
        self.body = nn.Sequential(
            _norm(config, width, linear), _act(config, linear), nn.Conv2d(width, width, 3, padding=1),
            _norm(config, width, linear), _act(config, linear), nn.Conv2d(width, width, 3, padding=1),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _res_blocks(config: ModelConfig, width: int, linear: bool) -> list[nn.Module]:
    return [ResBlock(config, width, linear) for _ in range(config.res_blocks)]


class Encoder(nn.Module):
    """x [N, C, S, S] (+ condition c [N, K]) -> h [N, out_dim]. The condition joins at the head."""

    def __init__(self, body: nn.Module, features: int, out_dim: int, cond_dim: int = 0):
        super().__init__()
        self.body = body
        self.head = nn.Linear(features + cond_dim, out_dim)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x).flatten(1)  # [N, C*H*W] of the last feature map
        if c is not None:
            h = torch.cat([h, c], dim=1)
        return self.head(h)


class Decoder(nn.Module):
    """z [N, D] (+ condition c [N, K]) -> logits [N, C, S, S]. The condition joins z at the input."""

    def __init__(self, body: nn.Module, in_dim: int, start_shape: tuple[int, ...]):
        super().__init__()
        self.start_shape = start_shape  # (C, H, W) of the first feature map, or (F,) for an MLP
        self.fc = nn.Linear(in_dim, math.prod(start_shape))
        self.body = body

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if c is not None:
            z = torch.cat([z, c], dim=1)
        h = self.fc(z).view(z.shape[0], *self.start_shape)  # [N, C, 4, 4]-ish: sizes from feature_sizes()
        return self.body(h)


def conv_widths(config: ModelConfig) -> list[int]:
    return [min(config.base_width * 2**i, config.max_width) for i in range(len(feature_sizes(config.image_size)))]


def build_encoder(config: ModelConfig, out_dim: int, cond_dim: int = 0, linear: bool = False) -> Encoder:
    """Conv (or MLP) encoder whose depth follows config.image_size. linear=True: no activations, no norm."""
    if config.mlp:
        dims = [config.channels * config.image_size**2, *config.hidden_dims]
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), _act(config, linear)]
        return Encoder(nn.Sequential(*layers), dims[-1], out_dim, cond_dim)
    sizes, widths = feature_sizes(config.image_size), conv_widths(config)
    layers = [nn.Conv2d(config.channels, widths[0], 3, padding=1), *_res_blocks(config, widths[0], linear)]
    for i in range(len(sizes) - 1):
        # stride-2 3x3 conv with padding 1 maps side s to ceil(s / 2), matching feature_sizes()
        layers += [_norm(config, widths[i], linear), _act(config, linear), nn.Conv2d(widths[i], widths[i + 1], 3, 2, 1)]
        layers += _res_blocks(config, widths[i + 1], linear)
    layers += [_norm(config, widths[-1], linear), _act(config, linear)]
    return Encoder(nn.Sequential(*layers), widths[-1] * sizes[-1] ** 2, out_dim, cond_dim)


def build_decoder(config: ModelConfig, cond_dim: int = 0, linear: bool = False) -> Decoder:
    """Mirror of build_encoder: z -> logits [N, C, S, S] of the pixel means (apply sigmoid for images)."""
    in_dim = config.latent_dim + cond_dim
    if config.mlp:
        dims = [*reversed(config.hidden_dims), config.channels * config.image_size**2]
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [_act(config, linear), nn.Linear(a, b)]
        layers.append(nn.Unflatten(1, (config.channels, config.image_size, config.image_size)))
        # fc maps z to the last hidden width (or straight to pixels when hidden_dims is empty)
        return Decoder(nn.Sequential(*layers), in_dim, (dims[0],))
    sizes, widths = feature_sizes(config.image_size), conv_widths(config)
    layers = _res_blocks(config, widths[-1], linear)
    for i in reversed(range(len(sizes) - 1)):
        # transposed 3x3 stride-2 conv gives 2s - 1 + output_padding; pick output_padding to hit sizes[i] exactly
        output_padding = sizes[i] - (2 * sizes[i + 1] - 1)
        layers += [
            _norm(config, widths[i + 1], linear),
            _act(config, linear),
            nn.ConvTranspose2d(widths[i + 1], widths[i], 3, 2, 1, output_padding=output_padding),
            *_res_blocks(config, widths[i], linear),
        ]
    layers += [_norm(config, widths[0], linear), _act(config, linear), nn.Conv2d(widths[0], config.channels, 3, padding=1)]
    return Decoder(nn.Sequential(*layers), in_dim, (widths[-1], sizes[-1], sizes[-1]))


# ----------------------------------------------------------------------------- protocols


@runtime_checkable
class LatentModel(Protocol):
    """Anything with a latent space the explorer can decode (autoencoders, GANs)."""

    config: ModelConfig

    @property
    def latent_shape(self) -> tuple[int, ...]: ...

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor: ...

    def sample_latent(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> torch.Tensor: ...


@runtime_checkable
class Encodable(Protocol):
    """A model with an encoder."""

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> Posterior: ...

    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor: ...


# ----------------------------------------------------------------------------- checkpoints

CARD_TEMPLATE = """---
{{ card_data }}
---

# {{ title | default("Latent Lab model", true) }}

{{ body | default("A Latent Lab checkpoint.", true) }}

Load it with [Latent Lab]({{ repo_url }}) (the code): `models.load(path_or_repo_id)`, or explore it in the browser
with `python app.py --model path_or_repo_id`.
{% if paper_url %}Paper: {{ paper_url }}{% endif %}
"""
# Where the code lives: the Space that serves the explorer holds the whole repository. A fork that deploys elsewhere
# sets LATENT_LAB_CODE_URL when it trains or re-cards, so its cards link to its own code.
CODE_URL = os.environ.get("LATENT_LAB_CODE_URL", "https://huggingface.co/spaces/latent-lab/latent-lab")


class HubModel(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="latent-lab",
    license="mit",
    tags=["latent-lab"],
    repo_url=CODE_URL,
    model_card_template=CARD_TEMPLATE,
):
    """nn.Module + checkpoint directory save/load. Subclasses set `config_class` and take `config` only."""

    config_class: ClassVar[type[Config]] = ModelConfig

    def __init__(self, config: Config):
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} takes a {self.config_class.__name__}, got {type(config).__name__}")
        super().__init__()
        self.config = config

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.config.latent_dim,)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def sample_latent(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> torch.Tensor:
        """z ~ N(0, temperature^2 I): the prior of a VAE. For a deterministic AE there is no prior; use the
        aggregate-posterior statistics (stats.safetensors) for meaningful samples."""
        device = generator.device if generator is not None else self.device
        return temperature * torch.randn((n, *self.latent_shape), generator=generator, device=device).to(self.device)

    def check_images(self, x: torch.Tensor) -> None:
        c, s = self.config.channels, self.config.image_size
        if not torch.is_tensor(x) or x.ndim != 4 or tuple(x.shape[1:]) != (c, s, s) or not x.is_floating_point():
            got = f"{tuple(x.shape)} {x.dtype}" if torch.is_tensor(x) else type(x).__name__
            raise ValueError(f"{type(self).__name__} expects float images [N, {c}, {s}, {s}] in [0, 1], got {got}")

    # training: a step updates one or more phases, each with its own optimizer over phase_parameters(phase).
    # One phase ("model") for everything but adversarial models, which alternate discriminator and generator.
    PHASES: ClassVar[tuple[str, ...]] = ("model",)  # every phase phases() may name, in order
    adam_betas: ClassVar[tuple[float, float]] = (0.9, 0.999)
    default_lr: ClassVar[float] = 1e-3  # the learning rate when the run gives none

    def phases(self, step: int) -> tuple[str, ...]:
        """The updates of training step `step`, in order: every phase, unless a model alternates them."""
        return self.PHASES

    def phase_parameters(self, phase: str) -> list[nn.Parameter]:
        return list(self.parameters())

    def phase_lr_scale(self, phase: str) -> float:
        """The phase's learning rate as a multiple of the run's."""
        return 1.0

    def loss(self, x, y=None, step=None, generator=None) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, step: int | None = None, generator=None, phase: str = "model"):
        """loss() of one phase: training goes through forward so DistributedDataParallel sees the call."""
        return self.loss(x, y, step=step, generator=generator)

    # --- save

    pipeline_tag: ClassVar[str] = "unconditional-image-generation"  # the Hub's task for the card; a classifier's differs

    def save(self, directory: str | os.PathLike, card: str | None = None, dtype: torch.dtype = torch.float32, metadata: dict | None = None) -> Path:
        """Write config.json + model.safetensors + README.md (model card; `card` is its body text, `metadata` more of
        its YAML header: ModelCardData fields such as datasets, tags, model_name and eval_results). dtype: how
        floating-point weights are stored (float16 halves the file; loading casts them back to the model's float32)."""
        directory = Path(directory)
        (directory / CARD_NAME).unlink(missing_ok=True)  # the mixin never overwrites a card: always write a fresh one
        title = f"Latent Lab {type(self).__name__} (model_type `{self.config.model_type}`)"
        self._storage_dtype, self._card_metadata = dtype, metadata or {}
        self.save_pretrained(directory, config=self.config, model_card_kwargs={"title": title, "body": card})
        return directory

    def generate_model_card(self, *args, **kwargs):
        """The mixin's card (library_name, license, the code's URL) with this model's task and save()'s metadata."""
        card = super().generate_model_card(*args, **kwargs)
        metadata = {"pipeline_tag": self.pipeline_tag, **getattr(self, "_card_metadata", {})}
        metadata["tags"] = sorted({*(card.data.tags or []), *metadata.get("tags", [])})
        for key, value in metadata.items():
            setattr(card.data, key, value)
        return card

    def _save_pretrained(self, save_directory: Path) -> None:
        """model.safetensors: the state dict, floating-point tensors in the dtype save() was given."""
        import safetensors.torch

        dtype = getattr(self, "_storage_dtype", torch.float32)
        state = {k: (v.to(dtype) if v.is_floating_point() else v).detach().cpu().contiguous().clone() for k, v in self.state_dict().items()}
        safetensors.torch.save_file(state, str(Path(save_directory) / WEIGHTS_NAME), metadata={"format": "pt"})

    # --- load

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        *,
        map_location: str | torch.device = "cpu",
        strict: bool = True,
        force_download: bool = False,
        token: str | bool | None = None,
        cache_dir: str | os.PathLike | None = None,
        local_files_only: bool = False,
        revision: str | None = None,
    ):
        """Load a checkpoint directory or Hub repo id of this class (models.load picks the class for you)."""
        if not strict:
            raise ValueError("Latent Lab checkpoints load with strict=True only")
        hub = dict(force_download=force_download, token=token, cache_dir=cache_dir, local_files_only=local_files_only, revision=revision)
        config_file = resolve_file(pretrained_model_name_or_path, CONFIG_NAME, **hub)
        data = read_config_json(config_file)
        model_type = data.get("model_type")
        if model_type != cls.config_class.model_type:
            raise ValueError(
                f"{config_file}: model_type is {model_type!r} but {cls.__name__} loads {cls.config_class.model_type!r}; "
                "use models.load(), which picks the class from model_type"
            )
        config = cls.config_class.from_dict(data, source=config_file)
        # the mixin re-reads config.json (already validated) and calls our _from_pretrained with this config
        model = super().from_pretrained(pretrained_model_name_or_path, config=config, map_location=map_location, strict=True, **hub)
        model.checkpoint = Path(config_file).parent  # the directory, or the Hub snapshot, it came from: push_to_hub uploads it
        return model

    checkpoint: Path | None = None  # set by from_pretrained

    def push_to_hub(self, repo_id: str, *, private: bool | None = None, token: str | None = None, **unsupported) -> str:
        """Upload the checkpoint directory this model was loaded from, every file of it (push_checkpoint: the same
        upload as `python -m train push`), provided the weights in memory are still the ones in that directory.
        A model built in code has no statistics, card or samples yet: train it with `python -m train`."""
        if unsupported:
            raise TypeError(f"push_to_hub takes repo_id, private and token; not {', '.join(unsupported)}")
        if self.checkpoint is None:
            raise ValueError("this model was not loaded from a checkpoint directory, so there are no statistics, card or samples to push; "
                             "train it with `python -m train ... --out DIR` and push DIR")  # fmt: skip
        import safetensors.torch

        saved = safetensors.torch.load_file(str(self.checkpoint / WEIGHTS_NAME))
        if any(not torch.equal(v.to(saved[k].dtype).cpu(), saved[k]) for k, v in self.state_dict().items()):
            raise ValueError(f"the weights in memory differ from {self.checkpoint / WEIGHTS_NAME}: push a checkpoint directory that `python -m train` wrote")
        return push_checkpoint(self.checkpoint, repo_id, private=private, token=token)

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir: str | os.PathLike | None,
        force_download: bool,
        local_files_only: bool,
        token: str | bool | None,
        config: ModelConfig | dict,
        map_location: str | torch.device = "cpu",
        strict: bool = True,
    ):
        """Build from config, then load model.safetensors after checking every tensor name and shape."""
        import safetensors.torch

        if isinstance(config, dict):
            config = cls.config_class.from_dict(config)
        check_size(cls, config, model_id)
        model = cls(config)
        hub = dict(force_download=force_download, token=token, cache_dir=cache_dir, local_files_only=local_files_only, revision=revision)
        weights_file = resolve_file(model_id, WEIGHTS_NAME, **hub)
        try:
            state = safetensors.torch.load_file(weights_file)
        except Exception as e:  # safetensors raises its own error type for corrupt headers
            raise ValueError(f"{weights_file}: not a readable safetensors file ({e}); expected weights written by save()") from None
        check_state_dict(model, state, weights_file)
        model.load_state_dict(state, strict=True)
        return model.to(map_location).eval()


MAX_PARAMETERS = 100_000_000  # 400 MB of float32 weights; the largest shipped model has about 1 M


def check_size(cls: type[nn.Module], config: Config, source: str) -> None:
    """ValueError if the model config describes has more than MAX_PARAMETERS weights: counted on the meta device,
    so a config.json that asks for billions is refused without allocating them."""
    with torch.device("meta"):
        count = sum(p.numel() for p in cls(config).parameters())
    if count > MAX_PARAMETERS:
        raise ValueError(f"{source}: its config describes a model of {count:,} parameters; Latent Lab loads up to {MAX_PARAMETERS:,}")


def check_state_dict(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Raise ValueError naming missing, unexpected and mis-shaped tensors."""
    expected = model.state_dict()
    problems = []
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    misshaped = [
        f"{k} (file {list(state[k].shape)}, model {list(expected[k].shape)})"
        for k in sorted(set(expected) & set(state))
        if state[k].shape != expected[k].shape
    ]
    if missing:
        problems.append(f"missing tensor(s): {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected tensor(s): {', '.join(unexpected)}")
    if misshaped:
        problems.append(f"mis-shaped tensor(s): {', '.join(misshaped)}")
    if problems:
        raise ValueError(
            f"{source}: does not match {type(model).__name__} built from config.json: {'; '.join(problems)}. "
            "Accepted: the model.safetensors that save() wrote together with this config.json"
        )


HUB_TIMEOUT = 2.0  # seconds to wait for the Hub before a repo id counts as unreachable (huggingface_hub's default: 10)
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}")  # owner/name, as the Hub spells repo ids


def resolve_file(path_or_repo_id: str | os.PathLike, filename: str, **hub_kwargs) -> str:
    """Local path of `filename` in a checkpoint directory, or in a Hub repo (downloaded / from the HF cache).
    Only a string shaped like a repo id (owner/name) that is not an existing path goes to the Hub, within
    HUB_TIMEOUT seconds; anything else that does not exist is a missing directory."""
    path = str(path_or_repo_id)
    if os.path.isdir(path):
        file = os.path.join(path, filename)
        if not os.path.isfile(file):
            raise ValueError(f"{file} not found; a checkpoint directory holds {CONFIG_NAME} and {WEIGHTS_NAME}")
        return file
    if os.path.exists(path):
        raise ValueError(f"{path} is a file; pass the checkpoint directory that holds {CONFIG_NAME} and {WEIGHTS_NAME}")
    if isinstance(path_or_repo_id, os.PathLike) or not _REPO_ID.fullmatch(path):
        raise ValueError(f"{path}: no such directory (and not a Hub repo id, which reads owner/name)")
    try:
        if not (hub_kwargs.get("local_files_only") or huggingface_hub.constants.HF_HUB_OFFLINE):
            # one quick request first: hf_hub_download retries an unreachable Hub for about 20 s
            HfApi().model_info(path, revision=hub_kwargs.get("revision"), token=hub_kwargs.get("token"), timeout=HUB_TIMEOUT)
        return hf_hub_download(repo_id=path, filename=filename, etag_timeout=HUB_TIMEOUT, **hub_kwargs)
    except Exception as e:  # HFValidationError, LocalEntryNotFoundError, RepositoryNotFoundError, HTTP errors, timeouts, ...
        raise ValueError(
            f"{path!r} is neither a local checkpoint directory (no such directory) nor a Hub model repo with {filename} "
            f"(or it is not in the local cache when offline): {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        ) from None


def checkpoint_dir(path_or_repo_id: str | os.PathLike, **hub_kwargs) -> Path:
    """The directory of a checkpoint: a local one as it is, or a Hub repo's snapshot in the HF cache (every file,
    downloaded once; offline, the cached one), so a Hub model is read exactly like a local one: its statistics,
    training.json, evaluation.json and exported decoder included. Errors as resolve_file's."""
    config_file = resolve_file(path_or_repo_id, CONFIG_NAME, **hub_kwargs)
    if os.path.isdir(str(path_or_repo_id)):
        return Path(path_or_repo_id)
    try:
        return Path(snapshot_download(str(path_or_repo_id), etag_timeout=HUB_TIMEOUT, **hub_kwargs))
    except Exception as e:  # the config came, the rest did not: a connection lost half-way, a cache pruned by hand
        raise ValueError(f"{path_or_repo_id}: got {os.path.basename(config_file)} but not the rest of the repo: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None


PUSH_IGNORE = ["resume.pt", ".*", ".*/*", "progress/*"]  # a run's resume state, temp files, per-step progress grids


def push_checkpoint(directory: str | os.PathLike, repo_id: str, private: bool | None = None, token: str | None = None) -> str:
    """Upload a checkpoint directory that `python -m train` wrote to the Hub model repo `repo_id` (created if
    needed): config, weights, statistics, card, samples, training.json, evaluation.json and exported decoder, all but
    PUSH_IGNORE. Returns the repo's URL. A directory that does not load, no token, no connection: one-line ValueError."""
    from huggingface_hub import get_token
    from huggingface_hub.errors import HfHubHTTPError

    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory}: no such directory")
    missing = [name for name in (CONFIG_NAME, WEIGHTS_NAME, CARD_NAME, "training.json") if not (directory / name).is_file()]
    if missing:
        raise ValueError(f"{directory}: not a finished checkpoint (no {', '.join(missing)}); push the directory `python -m train` wrote at the end of a run")
    if not _REPO_ID.fullmatch(repo_id):
        raise ValueError(f"{repo_id!r} is not a Hub repo id; it reads owner/name")
    if huggingface_hub.constants.HF_HUB_OFFLINE:
        raise ValueError("cannot push: HF_HUB_OFFLINE is set (unset it to reach the Hub)")
    token = token or get_token()
    if not token:
        raise ValueError("cannot push: not logged in to the Hugging Face Hub; run `hf auth login` (or set HF_TOKEN) and push again")
    api = HfApi(token=token)
    try:
        repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
        api.upload_folder(folder_path=directory, repo_id=repo_id, ignore_patterns=PUSH_IGNORE, commit_message=f"Latent Lab checkpoint {directory.name}")
    except HfHubHTTPError as e:
        status = e.response.status_code if e.response is not None else "?"
        reason = "the token may not write to it" if status in (401, 403) else str(e).splitlines()[0]
        raise ValueError(f"cannot push to {repo_id}: the Hub answered HTTP {status}; {reason}") from None
    except Exception as e:  # no DNS, refused, timed out (httpx's and OSError's kinds)
        raise ValueError(f"cannot push to {repo_id}: the Hub is unreachable ({type(e).__name__}); check the connection and push again") from None
    return f"https://huggingface.co/{repo_id}"


def read_config_json(config_file: str) -> dict[str, Any]:
    """Parse config.json, refusing bad JSON and a missing/non-string model_type."""
    try:
        with open(config_file, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{config_file}: not valid JSON ({e}); expected the config.json written by save()") from None
    if not isinstance(data, dict):
        raise ValueError(f"{config_file}: expected a JSON object of config fields, got {type(data).__name__}")
    if not isinstance(data.get("model_type"), str):
        raise ValueError(f"{config_file}: missing or non-string 'model_type'")
    return data


# ----------------------------------------------------------------------------- autoencoder base


class Autoencoder(HubModel):
    """Encoder/decoder plumbing shared by AE, DAE, CAE, VAE, CVAE. Subclasses build self.encoder/self.decoder."""

    encoder: Encoder
    decoder: Decoder

    @property
    def condition_dim(self) -> int:
        """Width of the condition vector fed to encoder and decoder (0: unconditional)."""
        return 0

    def condition(self, y: torch.Tensor | None, n: int) -> torch.Tensor | None:
        """Condition vector [N, K] from y, or None. Unconditional models ignore y."""
        return None

    def check_latent(self, z: torch.Tensor) -> None:
        if not torch.is_tensor(z) or z.ndim != 2 or tuple(z.shape[1:]) != self.latent_shape:
            got = tuple(z.shape) if torch.is_tensor(z) else type(z).__name__
            raise ValueError(f"{type(self).__name__} expects latents [N, {self.config.latent_dim}], got {got}")

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> Posterior:
        self.check_images(x)
        return self.posterior(self.encoder(x, self.condition(y, x.shape[0])))

    def posterior(self, h: torch.Tensor) -> Posterior:
        """Encoder output -> Posterior. Deterministic by default."""
        return Posterior(h)

    def decode_logits(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Decoder output before the output nonlinearity (logits of the pixel means)."""
        self.check_latent(z)
        return self.decoder(z, self.condition(y, z.shape[0]))

    def output(self, logits: torch.Tensor) -> torch.Tensor:
        """Decoder output -> pixel means in [0, 1]."""
        return torch.sigmoid(logits)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z [N, D] -> images [N, C, S, S] in [0, 1]."""
        return self.output(self.decode_logits(z, y))

    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Decode the posterior mode of x."""
        return self.decode(self.encode(x, y).mode(), y)

def detached(loss: torch.Tensor, **parts: torch.Tensor | float) -> dict[str, torch.Tensor]:
    """The loss dict: "loss" with its graph plus detached named parts."""
    out = {"loss": loss}
    for name, value in parts.items():
        out[name] = value.detach() if torch.is_tensor(value) else torch.tensor(float(value), device=loss.device)
    return out
