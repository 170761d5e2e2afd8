"""The models the app serves: discovered once at startup, loaded once, looked up by label."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
import torch
from PIL import Image

import metrics
import models
from latent import Explorer
from models import export
from models.pixelcnn import fingerprint

DEFAULT_MODEL = "faces-vae"  # the shipped checkpoint the explorer opens on


@dataclass
class Entry:
    """One loaded model, with what the UI needs to know about it."""

    key: str  # directory name or repo id
    explorer: Explorer
    dataset: str
    data_options: dict = field(default_factory=dict)  # as training.json records them (metrics.classifier_for reads the data version)
    evaluation: dict = field(default_factory=dict)  # the model card's measurements (evaluation.json), if it has them
    decoder: Path | None = None  # decoder.onnx exported from these very weights (models.export), for the page to decode drags
    path: Path | None = None  # the checkpoint directory (a Hub model's: its snapshot in the HF cache)
    prior_key: str = ""  # the PixelCNN prior it samples through: its checkpoint's name (the Lessons tab reads its card)
    prior_evaluation: dict = field(default_factory=dict)  # that prior's measurements (its evaluation.json), if it has them
    budget: str = ""  # the training it had (training_budget): Compare says it beside each model, so unequal runs are not compared unawares

    @property
    def classifier(self) -> models.Classifier | None:
        """The dataset's classifier at the model's image size: rejection sampling, a GAN inversion's feature loss."""
        return self.explorer.classifier

    @property
    def model(self):
        return self.explorer.model

    @property
    def config(self):
        return self.explorer.model.config

    @property
    def label(self) -> str:
        cfg = self.config
        kind = self.model.kind or cfg.model_type
        if getattr(cfg, "beta", 1.0) != 1.0 or getattr(cfg, "gamma", 0.0) > 0:
            kind = "beta-" + kind
        prior = ""
        if self.model.prior == "learned":
            priors = "PixelCNN priors" if len(self.model.code_levels) > 1 else "PixelCNN prior"
            prior = f" + {priors}" if self.explorer.prior is not None else " (no prior)"
        elif self.model.latent_prior is not None:
            prior = " + second-stage prior"
        return f"{self.key} · {kind}{prior}, {self.model.latent_description}, on {self.dataset}"

    @property
    def conditions(self) -> list[str]:
        """Class or attribute names a conditional model (or a VQ-VAE's prior) is conditioned on (empty: unconditional)."""
        return self.explorer.condition_labels

    @property
    def conditioned_on_classes(self) -> bool:
        return self.explorer.conditioned_on_classes

    def condition(self, class_choice, attribute_choice, n: int, sampling: bool = False) -> torch.Tensor | None:
        """y for n images from the UI's two condition controls (a class name; a list of attribute
        names): the one that applies to this model is used, the other ignored. A VQ-VAE's
        class-conditional prior takes y only to sample (sampling=True); encoding and decoding do not."""
        if not self.conditions or (not sampling and self.decodes_without_condition):
            return None
        if self.conditioned_on_classes:
            if class_choice not in self.conditions:
                raise gr.Error(f"choose a class to condition on: one of {', '.join(self.conditions)}")
            return torch.full((n,), self.conditions.index(class_choice), dtype=torch.long)
        on = set(attribute_choice or [])
        return torch.tensor([[float(name in on) for name in self.conditions]] * n)

    @property
    def decodes_without_condition(self) -> bool:
        """Decoding a latent takes no class or attributes (a VQ-VAE's conditional prior takes them only to sample)."""
        return not self.conditions or self.explorer.conditioner is not self.model

    @property
    def default_condition(self) -> tuple:
        """(class choice, attribute choice) the condition controls start with."""
        return (self.conditions[0] if self.conditioned_on_classes else None), []

    @property
    def examples(self) -> torch.Tensor | None:
        """uint8 [E, H, W, C] held-out images stored with the checkpoint."""
        return self.explorer.stats.get("examples")


class Catalog:
    def __init__(self, entries: list[Entry]):
        if not entries:
            raise ValueError("no models to serve: train one (python -m train --preset faces-vae) or pass --model DIR_OR_REPO_ID")
        self.entries = {entry.label: entry for entry in entries}

    @classmethod
    def discover(cls, checkpoints: str | Path | None = "checkpoints", extra: list[str] = ()) -> Catalog:
        """Each `extra` directory or Hub repo id, then every checkpoint directory under `checkpoints` (a folder holding
        config.json or model.safetensors; DEFAULT_MODEL first, the others by name); the first is the one the app opens
        on. A PixelCNN prior is not served on its own: it becomes the sampler of the VQ-VAE it was trained on.

        One damaged checkpoint never stops the app: a checkpoint that fails to load (see load_entry for what each file
        is to it) is skipped with a one-line warning naming the file and the problem, and the others are served. So is
        a prior that fails to load (its VQ-VAE is served without it) and a classifier under <checkpoints>/classifiers
        that fails to load (the models of its dataset are served without one: no guided edits, no rejection sampling,
        no feature loss in a GAN's inversion). ValueError only when nothing is left to serve."""
        entries, priors = [], []
        for source in [*extra, *_checkpoint_dirs(checkpoints)]:
            try:
                if models.model_class(models.model_type_of(source)).models_codes:
                    priors.append((source, models.load(source)))
                else:
                    entries.append(load_entry(source))
            except Exception as err:  # Exception, not BaseException: Ctrl-C still stops the app
                _warn(f"skipping {source}: {_one_line(err)}")
        classifiers: dict[tuple, models.Classifier | None] = {}  # each loaded once
        for entry in entries:  # the checkpoints/classifiers/ one of the entry's dataset, data version and image size
            key = (entry.dataset, entry.config.image_size, tuple(sorted(entry.data_options.items())))
            if key not in classifiers:
                classifiers[key] = None
                try:
                    if checkpoints:
                        classifiers[key] = metrics.classifier_for(entry.dataset, entry.config.image_size, entry.data_options, checkpoints)
                except Exception as err:
                    _warn(
                        f"no classifier for the {entry.dataset} models at {entry.config.image_size} px: {_one_line(err)}; "
                        "they are served without guided edits, rejection sampling and a GAN inversion's feature loss"
                    )
            entry.explorer.classifier = classifiers[key]
        for source, prior in priors:  # each prior samples the VQ-VAE it was trained on, if that is served
            owner = next((e for e in entries if e.model.code_levels and fingerprint(e.model) == prior.config.vqvae_fingerprint), None)
            if owner is None:
                _warn(f"skipping prior {source}: the VQ-VAE it was trained on ({prior.config.vqvae}) is not among the served models")
            elif prior.config.level in owner.explorer.level_priors:
                _warn(f"skipping prior {source}: {owner.key} already samples its {prior.config.level} codes through an earlier prior")
            else:
                try:
                    owner.explorer.set_prior(prior)
                except Exception as err:
                    _warn(f"skipping prior {source}: {_one_line(err)}")
                    continue
                if prior.config.level != owner.model.code_levels[-1]:
                    continue  # the last level's prior (sampled last) has the card that measures the samples
                owner.prior_key = Path(source).name if Path(source).exists() else source
                owner.prior_evaluation = _optional_json(
                    models.checkpoint_dir(source) / metrics.EVALUATION_NAME, "the tabs quote no measurements of it"
                )
        return cls(entries)

    @property
    def labels(self) -> list[str]:
        return list(self.entries)

    def get(self, label: str) -> Entry:
        if not isinstance(label, str) or label not in self.entries:
            raise gr.Error(f"unknown model {label!r}; choose one of: {', '.join(self.entries)}")
        return self.entries[label]


def load_entry(source: str) -> Entry:
    """A checkpoint directory or Hub repo id (read from its snapshot in the HF cache, file for file like a local one).

    What each file is to the app, and what a damaged one (missing, unreadable, cut short, not what `python -m train`
    writes) costs:
        config.json, model.safetensors   the model: required; ValueError naming the file
        stats.safetensors                the latent statistics every tab reads: required; ValueError naming the file
        training.json       the dataset (and its version) the model was trained on: without a readable one the label
                            says "on ?" and no classifier is picked for it
        evaluation.json     the measurements the tabs quote: without a readable one they quote none
        decoder.onnx, decoder.json   the page's decoder, handed out only while decoder.json names these very weights and
                            this very file: otherwise the sliders decode on the server
        README.md, curves.png, metrics.jsonl   the Model tab's card and training curves: it shows what is readable
    A missing optional file is normal (a model that cannot decode in the page has no decoder.onnx) and passes silently;
    a damaged one is reported in one warning naming it, and the model is served without what it provided."""
    path = models.checkpoint_dir(source)
    explorer = Explorer.load(path)
    record = _optional_json(path / "training.json", 'its dataset is shown as "?" and it gets no classifier')
    dataset, options = record.get("data", "?"), record.get("data_options", {})
    if not isinstance(dataset, str) or not isinstance(options, dict) or not all(_scalar(v) for v in options.values()):
        _warn(
            f'{path / "training.json"}: expected "data" a dataset name and "data_options" an object of options; '
            'its dataset is shown as "?" and it gets no classifier'
        )
        dataset, options = "?", {}
    evaluation = _optional_json(path / metrics.EVALUATION_NAME, "the tabs quote no measurements of it")
    _check_model_tab(path)
    return Entry(
        key=Path(source).name if Path(source).exists() else source,
        explorer=explorer,
        dataset=dataset,
        data_options=options,
        evaluation=evaluation,
        decoder=_page_decoder(path),
        path=path,
        budget=training_budget(record),
    )


def training_budget(record: dict) -> str:
    """ "56 min, 12 epochs" from training.json (", after faces-vae" for a run started from another checkpoint's weights;
    the hardware is on the model card): short enough for a Compare tile's caption; "" when the record lacks either."""
    epochs, seconds = record.get("epochs"), record.get("seconds")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (epochs, seconds)):
        return ""
    init = record["train_config"].get("init") if isinstance(record.get("train_config"), dict) else None
    after = f", after {Path(init).name}" if isinstance(init, str) and init else ""
    return f"{seconds / 60:.0f} min, {epochs:g} epoch{'s' * (epochs != 1)}{after}"


def _checkpoint_dirs(checkpoints: str | Path | None) -> list[str]:
    """The checkpoint directories under `checkpoints`: DEFAULT_MODEL first, the others by name. A folder holding
    config.json or model.safetensors is one (so a checkpoint that lost either is reported, not passed over)."""
    if not checkpoints or not Path(checkpoints).is_dir():
        return []
    found = []
    for p in Path(checkpoints).iterdir():
        try:
            if p.is_dir() and any((p / name).exists() for name in (models.CONFIG_NAME, models.WEIGHTS_NAME)):
                found.append(p)
        except OSError as err:  # a folder we may not look into
            _warn(f"skipping {p}: cannot be read ({err.strerror or type(err).__name__})")
    return [str(p) for p in sorted(found, key=lambda p: (p.name != DEFAULT_MODEL, p.name))]


def _optional_json(file: Path, without: str) -> dict:
    """An optional JSON object of a checkpoint: {} if it is missing; {} and a warning (`without`: what the model goes
    without) if it cannot be read or is not an object."""
    if not file.exists():
        return {}
    try:
        return models.read_json(file)
    except ValueError as err:
        _warn(f"{_one_line(err)}; {without}")
        return {}


def _page_decoder(path: Path) -> Path | None:
    """path/decoder.onnx if decoder.json names the weights now in path and this very file (export.decoder_file); else
    None, with a warning naming the file when either is there but they do not fit."""
    onnx_file, record_file = path / export.DECODER_NAME, path / export.RECORD_NAME
    if not onnx_file.exists() and not record_file.exists():
        return None  # not exported: a conditional model, or onnx was not installed when it was trained
    decoder = export.decoder_file(path)
    if decoder is not None:
        return decoder
    if not record_file.exists():
        why = f"{record_file}: missing, so nothing says which weights {export.DECODER_NAME} was exported from"
    elif not onnx_file.exists():
        why = f"{onnx_file}: missing, though {export.RECORD_NAME} records an export"
    else:
        try:
            record = models.read_json(record_file)
            weights, onnx = record.get("weights_sha256"), record.get("onnx_sha256")
            if not isinstance(weights, str) or not isinstance(onnx, str):
                why = f"{record_file}: expected the weights_sha256 and onnx_sha256 that models.export writes"
            elif weights != export.sha256(path / models.WEIGHTS_NAME):
                why = (
                    f"{onnx_file}: exported from other weights than {models.WEIGHTS_NAME} (python -m models.export {path} exports it again)"
                )
            else:
                why = f"{onnx_file}: not the file {export.RECORD_NAME} records (its SHA-256 differs): damaged or replaced"
        except (ValueError, OSError) as err:
            why = _one_line(err)
    _warn(f"{why}; its sliders decode on the server")
    return None


def _check_model_tab(path: Path) -> None:
    """Warn (one line each) about a README.md, curves.png (a GAN's monitor) or metrics.jsonl the Model tab cannot show."""
    checks = {
        models.CARD_NAME: (lambda f: f.read_text(encoding="utf-8"), "the Model tab shows no card"),
        "curves.png": (lambda f: Image.open(f).verify(), "the Model tab draws its curves from metrics.jsonl"),
        "metrics.jsonl": (_metrics_records, "its curves may be incomplete"),
    }
    for name, (read, without) in checks.items():
        file = path / name
        try:
            if file.exists():
                read(file)
        except Exception as err:  # OSError, UnicodeDecodeError, PIL's UnidentifiedImageError, JSONDecodeError
            _warn(f"{file}: cannot be read ({_one_line(err)}); {without}")


def _metrics_records(file: Path) -> None:
    """ValueError unless every line of metrics.jsonl is a JSON object with a numeric step, as training logs them."""
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        record = json.loads(line) if line.strip() else {"step": 0}
        if not isinstance(record, dict) or not isinstance(record.get("step"), (int, float)):
            raise ValueError(f"line {number} is not a record with a step")


def _scalar(value) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _one_line(err: BaseException) -> str:
    """An error's message on one line; an unexpected kind of error is named too (a ValueError's message names the file)."""
    text = " ".join(str(err).split())
    return text if type(err) is ValueError else f"{type(err).__name__}: {text}"


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)
