"""HubModel: nn.Module + a checkpoint directory (save/load/push through huggingface_hub's PyTorchModelHubMixin),
and the capabilities every model declares. Loading validates config.json strictly and the weights with strict=True
after checking every tensor name and shape, and refuses a config too large to allocate."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import ClassVar

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from .config import Config, ModelConfig
from .storage import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME, push_checkpoint, read_config_json, resolve_file

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

    # What the model can do. The explorer, the UI, training and evaluation read these and never the model's class,
    # so a new kind of model declares them in its own file (and takes one line in models.MODELS).
    kind: ClassVar[str] = ""  # what the app calls it: "VAE", "denoising AE"
    has_latent: ClassVar[bool] = False  # decode(z, y), sample_latent(n): a latent space to explore (autoencoders, GANs)
    has_encoder: ClassVar[bool] = False  # encode(x, y) -> Posterior and reconstruct(x, y); without one, images are inverted
    prior: ClassVar[str] = "none"  # where its samples come from, one of PRIORS
    # the levels of codebooks the latent snaps to (the Codebook tab): level_codebook(level) [K, D], level_codes(z, level)
    # [N, s, s], with_level_codes(z, level, codes), grid_sizes; one level for a VQ-VAE, "top" and "bottom" for a
    # VQ-VAE-2, each sampled through a PixelCNN prior (models/pixelcnn.py)
    code_levels: ClassVar[tuple[str, ...]] = ()
    gradient_editable: ClassVar[bool] = True  # a classifier's gradient through the decoder moves the image smoothly
    has_structured_codes: ClassVar[bool] = False  # an InfoGAN's categorical and continuous codes: code_slices, with_codes
    denoises: ClassVar[bool] = False  # trained to undo corrupt(x, generator, level)
    classifies: ClassVar[bool] = False  # logits(x): a classifier of classes or attributes, no latent
    models_codes: ClassVar[bool] = False  # a prior over a VQ-VAE's codes (trained with --vqvae, then attach(vqvae))
    PRIORS: ClassVar[dict[str, str]] = {
        "none": "no prior: samples come from a Gaussian fitted to the training codes (a deterministic autoencoder)",
        "kl": "N(0, I), which a KL term pulls the posteriors towards (a VAE)",
        "adversarial": "a prior the codes were matched to by a discriminator (an adversarial AE)",
        "noise": "the noise N(0, I) the generator was trained on (a GAN)",
        "learned": "a separately trained prior over its codes (a VQ-VAE's PixelCNN)",
    }

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.prior not in cls.PRIORS:  # a new kind of model names its prior in the vocabulary every tab reads
            raise TypeError(f"{cls.__name__}.prior is {cls.prior!r}; one of {', '.join(cls.PRIORS)}")

    @property
    def condition_labels(self) -> list[str]:
        """Names of the classes or attributes a conditional model takes as y; empty for an unconditional one."""
        return []

    @property
    def latent_description(self) -> str:
        """The latent space in a few words, for the model picker."""
        return f"latent {self.config.latent_dim}"

    def samples_caption(self) -> str:
        """What the card's samples.png shows."""
        return "Top row: validation images; second row: their reconstructions; below: samples from the prior."

    def card_rows(self) -> str:
        """Extra rows for the card's table of where the checkpoint came from (markdown, one per line)."""
        return ""

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

    # A second-stage prior over the codes (models.latent_prior, Dai & Wipf 2019) that the checkpoint carries, attached
    # by from_pretrained. Kept out of the module tree (set_latent_prior): the model's own state dict, weights file,
    # fingerprint and exported decoder stay exactly the first stage's.
    latent_prior = None
    latent_prior_problem: str = ""  # why a checkpoint's prior files were not used (a one-line message), "" if none or fine

    def set_latent_prior(self, prior) -> None:
        """Draw sample_latent from this second-stage prior (models.LatentPrior; None: back to N(0, I))."""
        if prior is not None and not self.takes_latent_prior:
            raise ValueError(f"a second-stage prior models a flat continuous latent; {type(self).__name__} samples otherwise")
        self.__dict__["latent_prior"] = prior  # not nn.Module.__setattr__: no submodule, no new state-dict keys

    @property
    def takes_latent_prior(self) -> bool:
        """An unconditional encoder with a flat continuous latent and no prior of its own kind (a VAE, an AE): what a
        second stage over its codes can sample."""
        return self.has_encoder and not self.code_levels and not self.condition_labels and self.prior in ("kl", "none")

    @property
    def prior_description(self) -> str:
        """What sample_latent draws from, in a few words (the Sample tab says it)."""
        if self.latent_prior is not None:
            return self.latent_prior.description
        return self.PRIORS[self.prior]

    def sample_latent(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> torch.Tensor:
        """n latents from the model's own prior: its second stage where the checkpoint carries one (u ~ N(0,
        temperature^2 I) through the second stage's decoder), else N(0, temperature^2 I), the prior of a VAE. For a
        deterministic AE without a second stage there is no prior; use the aggregate-posterior statistics
        (stats.safetensors) for meaningful samples."""
        if self.latent_prior is not None:
            return self.latent_prior.sample(n, generator, temperature).to(self.device)
        return self.standard_normal(n, generator, temperature)

    def standard_normal(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> torch.Tensor:
        """z ~ N(0, temperature^2 I): the first stage's prior, whatever second stage the model carries."""
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
    # training keeps the weights whose samples measure best (the monitor's Frechet distance), not those of the lowest
    # validation loss: GANs, whose loss says nothing of quality, and a VAE-GAN, whose adversarial term a loss leaves out
    selected_by_samples: ClassVar[bool] = False

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

    def save(
        self, directory: str | os.PathLike, card: str | None = None, dtype: torch.dtype = torch.float32, metadata: dict | None = None
    ) -> Path:
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
        model._load_latent_prior()
        return model

    def _load_latent_prior(self) -> None:
        """Attach the second-stage prior the checkpoint directory carries (prior.json + prior.safetensors), if any. A
        damaged one is an optional file: a one-line warning naming it (kept in latent_prior_problem), and the model
        samples N(0, I) as its first stage does."""
        from .latent_prior import load_latent_prior

        if not self.takes_latent_prior:
            return
        try:
            self.set_latent_prior(load_latent_prior(self.checkpoint, self))
        except ValueError as err:
            self.latent_prior_problem = f"{' '.join(str(err).split())}; loaded without its learned prior: samples come from N(0, I)"
            warnings.warn(self.latent_prior_problem, stacklevel=3)

    checkpoint: Path | None = None  # set by from_pretrained

    def push_to_hub(self, repo_id: str, *, private: bool | None = None, token: str | None = None, **unsupported) -> str:
        """Upload the checkpoint directory this model was loaded from, every file of it (push_checkpoint: the same
        upload as `python -m train push`), provided the weights in memory are still the ones in that directory.
        A model built in code has no statistics, card or samples yet: train it with `python -m train`."""
        if unsupported:
            raise TypeError(f"push_to_hub takes repo_id, private and token; not {', '.join(unsupported)}")
        if self.checkpoint is None:
            raise ValueError(
                "this model was not loaded from a checkpoint directory, so there are no statistics, card or samples to push; "
                "train it with `python -m train ... --out DIR` and push DIR"
            )
        import safetensors.torch

        saved = safetensors.torch.load_file(str(self.checkpoint / WEIGHTS_NAME))
        if any(not torch.equal(v.to(saved[k].dtype).cpu(), saved[k]) for k, v in self.state_dict().items()):
            raise ValueError(
                f"the weights in memory differ from {self.checkpoint / WEIGHTS_NAME}: push a checkpoint directory that `python -m train` wrote"
            )
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
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as e:  # names and shapes match, but a tensor's dtype cannot be copied into its parameter
            raise ValueError(f"{weights_file}: {' '.join(str(e).split())}; expected weights written by save()") from None
        return model.to(map_location).eval()


MAX_PARAMETERS = 100_000_000  # 400 MB of float32 weights; the largest shipped model has about 1 M


def check_size(cls: type[nn.Module], config: Config, source: str) -> None:
    """ValueError if the model config describes has more than MAX_PARAMETERS weights: counted on the meta device,
    so a config.json that asks for billions is refused without allocating them."""
    try:
        with torch.device("meta"):
            count = sum(p.numel() for p in cls(config).parameters())
    except Exception as e:  # fields each valid alone that no model can be built from (a grid smaller than its kernels, ...)
        raise ValueError(
            f"{source}: no {cls.__name__} can be built from its config.json ({type(e).__name__}: {' '.join(str(e).split())})"
        ) from None
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
