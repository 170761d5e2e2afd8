"""The models the app serves: discovered once at startup, loaded once, looked up by label."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
import torch

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
            prior = " + PixelCNN prior" if self.explorer.prior is not None else " (no prior)"
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
        """Each `extra` directory or Hub repo id, then every checkpoint directory under `checkpoints`
        (DEFAULT_MODEL first, the others by name); the first is the one the app opens on. A PixelCNN prior
        is not served on its own: it becomes the sampler of the VQ-VAE it was trained on.
        A checkpoint that fails to load is reported and skipped; the others are served."""
        found = (
            [p for p in Path(checkpoints).iterdir() if (p / "config.json").exists()] if checkpoints and Path(checkpoints).is_dir() else []
        )
        sources = [str(p) for p in sorted(found, key=lambda p: (p.name != DEFAULT_MODEL, p.name))]
        entries, priors = [], []
        for source in [*extra, *sources]:
            try:
                if models.model_class(models.model_type_of(source)).models_codes:
                    priors.append((source, models.load(source)))
                else:
                    entries.append(load_entry(source))
            except ValueError as err:
                warnings.warn(f"skipping {source}: {err}", stacklevel=2)
        classifiers: dict[tuple, models.Classifier | None] = {}  # each loaded once
        for entry in entries:  # the checkpoints/classifiers/ one of the entry's dataset, data version and image size
            key = (entry.dataset, entry.config.image_size, tuple(sorted(entry.data_options.items())))
            if key not in classifiers:
                classifiers[key] = (
                    metrics.classifier_for(entry.dataset, entry.config.image_size, entry.data_options, checkpoints=checkpoints)
                    if checkpoints
                    else None
                )
            entry.explorer.classifier = classifiers[key]
        for source, prior in priors:  # each prior samples the VQ-VAE it was trained on, if that is served
            owner = next((e for e in entries if e.model.has_codes and fingerprint(e.model) == prior.config.vqvae_fingerprint), None)
            if owner is None:
                warnings.warn(
                    f"skipping prior {source}: the VQ-VAE it was trained on ({prior.config.vqvae}) is not among the served models",
                    stacklevel=2,
                )
            elif owner.explorer.prior is not None:
                warnings.warn(f"skipping prior {source}: {owner.key} already samples through an earlier prior", stacklevel=2)
            else:
                owner.explorer.set_prior(prior)
        return cls(entries)

    @property
    def labels(self) -> list[str]:
        return list(self.entries)

    def get(self, label: str) -> Entry:
        if not isinstance(label, str) or label not in self.entries:
            raise gr.Error(f"unknown model {label!r}; choose one of: {', '.join(self.entries)}")
        return self.entries[label]


def load_entry(source: str) -> Entry:
    """A checkpoint directory or Hub repo id (read from its snapshot in the HF cache, file for file like a local one)."""
    path = models.checkpoint_dir(source)
    explorer = Explorer.load(path)
    record = json.loads((path / "training.json").read_text()) if (path / "training.json").exists() else {}
    dataset = record.get("data", "?")
    options = record.get("data_options", {})
    evaluation = json.loads((path / metrics.EVALUATION_NAME).read_text()) if (path / metrics.EVALUATION_NAME).exists() else {}
    return Entry(
        key=Path(source).name if Path(source).exists() else source,
        explorer=explorer,
        dataset=dataset,
        data_options=options,
        evaluation=evaluation,
        decoder=export.decoder_file(path),
        path=path,
    )
