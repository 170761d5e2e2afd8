"""Every metric that applies to a checkpoint, on held-out data: what model cards report and tests hold to bars.

    >>> from metrics import evaluate
    >>> evaluate("checkpoints/faces-vae")["reconstruction"]["psnr"]

What applies follows from the checkpoint's model and dataset (training.json):
    autoencoders          reconstruction on the test split (MSE, PSNR; ELBO, KL, active units for VAEs)
    faces models          the Smiling and Eyeglasses edit scorecards (metrics.edits): attribute vectors, or
                          for a model conditioned on the attribute, the condition switched on
    dsprites models       MIG (metrics.disentanglement)
    fashion-mnist models  class coverage of their samples (metrics.samples)
    classifiers           accuracy per class or attribute on the test split
The classifiers the scorecards and the coverage use ship in checkpoints/classifiers/.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

import data
import models
from latent import Explorer
from models.base import CONFIG_NAME, read_config_json, resolve_file

from .disentanglement import mig
from .edits import condition_scorecard, edit_scorecard
from .reconstruction import reconstruction
from .samples import class_coverage

ROOT = Path(__file__).resolve().parent.parent
CLASSIFIERS = {  # dataset -> the classifier checkpoint that measures models trained on it
    "faces": ROOT / "checkpoints" / "classifiers" / "faces",
    "fashion-mnist": ROOT / "checkpoints" / "classifiers" / "fashion-mnist",
}
SCORECARD_ATTRIBUTES = ("Smiling", "Eyeglasses")
EVALUATION_NAME = "evaluation.json"
RECONSTRUCTION_IMAGES = 20_000  # at most this many test images are reconstructed


def training_record(checkpoint: str | os.PathLike) -> dict:
    """The checkpoint's training.json: which dataset (and options) it was trained on."""
    try:
        return json.loads(Path(resolve_file(checkpoint, "training.json")).read_text())
    except ValueError:
        raise ValueError(f"{checkpoint}: no training.json, so the dataset to evaluate on is unknown") from None


def classifier_for(dataset: str, image_size: int) -> models.Classifier | None:
    """The shipped classifier of `dataset` if there is one for images of this size, else None."""
    path = CLASSIFIERS.get(dataset)
    if path is None or not (path / models.base.CONFIG_NAME).exists():
        return None
    classifier = models.load(path)
    return classifier if classifier.config.image_size == image_size else None


def evaluate(checkpoint: str | os.PathLike, split: str = "test") -> dict:
    """{"dataset", "split", and one entry per metric that applies} for a checkpoint directory or repo id."""
    record = training_record(checkpoint)
    ds = data.load(record["data"], split=split, **record.get("data_options", {}))
    result: dict = {"dataset": record["data"], "split": split, "images": len(ds)}
    if read_config_json(resolve_file(checkpoint, CONFIG_NAME))["model_type"] == "classifier":  # no latents, no stats
        classifier = models.load(checkpoint)
        result["accuracy"] = accuracy(classifier, ds, ds.targets(None if classifier.config.num_classes else list(classifier.config.condition_names)))
        return result
    explorer = Explorer.load(checkpoint)
    model = explorer.model
    # a cvae's conditions: class labels, or the named attribute columns
    names = list(getattr(model.config, "condition_names", ())) if getattr(model.config, "num_attributes", 0) else []
    y = ds.targets(names or None) if model.condition_dim else None
    measured = ds, y
    if len(ds) > RECONSTRUCTION_IMAGES:  # dSprites' test split is its whole grid: a seeded sample says as much
        keep = np.sort(np.random.default_rng(0).choice(len(ds), RECONSTRUCTION_IMAGES, replace=False))
        measured = ds.subset(keep), None if y is None else y[keep]
    result["reconstruction"] = reconstruction(model, *measured)
    classifier = classifier_for(record["data"], model.config.image_size)
    if ds.attribute_names and classifier is not None and (names or y is None):  # vectors, or an attribute condition switched on
        result["edits"] = (
            {a: condition_scorecard(explorer, classifier, ds, a) for a in SCORECARD_ATTRIBUTES if a in names}
            if names else {a: edit_scorecard(explorer, classifier, ds, a) for a in SCORECARD_ATTRIBUTES if a in explorer.vectors}
        )  # fmt: skip
    if ds.factor_sizes and min(ds.factor_sizes) > 0 and y is None:
        result["mig"] = mig(model, ds)
    if ds.labels is not None and classifier is not None and classifier.config.num_classes:
        result["samples"] = class_coverage(explorer, classifier)
    return result

@torch.no_grad()
def accuracy(classifier: models.Classifier, ds, targets: torch.Tensor, batch_size: int = 500) -> dict[str, float]:
    """Held-out accuracy of a classifier: {class or attribute name: accuracy}, plus "all" (per image for
    classes, over images and attributes for attributes)."""
    classifier.eval()
    predicted = torch.cat([classifier.predict(ds.batch(np.arange(s, min(s + batch_size, len(ds))))) for s in range(0, len(ds), batch_size)])
    if classifier.config.num_classes:
        correct = predicted == targets
        per = {name: correct[targets == k].float().mean().item() for k, name in enumerate(classifier.names)}
    else:
        correct = predicted == (targets > 0.5)
        per = dict(zip(classifier.names, correct.float().mean(0).tolist()))
    return {**per, "all": correct.float().mean().item()}


def summary(result: dict) -> list[tuple[str, str]]:
    """(metric, value) rows of an evaluate() result, for model cards and the command line."""
    rows = []
    for name, value in result.get("accuracy", {}).items():
        rows.append((f"accuracy: {name}", f"{value:.2%}"))
    rec = result.get("reconstruction", {})
    if rec:
        rows += [("PSNR", f"{rec['psnr']:.2f} dB ({rec['images']} images)"), ("MSE per pixel", f"{rec['mse']:.5f}")]
    if "elbo" in rec:
        rows += [("ELBO", f"{rec['elbo']:.1f} nats"), ("KL", f"{rec['kl']:.1f} nats"), ("active units (KL > 0.01 nats)", str(rec["active_units"]))]
    for attribute, card in result.get("edits", {}).items():
        worst = max(card["changed"], key=card["changed"].get)
        how = f"strength {card['strength']:g}" if "strength" in card else "condition switched on"
        rows.append((f"{attribute} edit: flip rate", f"{card['flip_rate']:.1%} of {card['n']} faces without it (unedited: {card['baseline']:.1%}; {how})"))
        rows.append((f"{attribute} edit: other attributes changed", f"at most {card['changed'][worst]:.1%} ({worst})"))
    if "mig" in result:
        m = result["mig"]
        rows.append(("MIG", f"{m['mig']:.3f} ({m['n']} images, {m['bins']} bins; per factor: "
                     + ", ".join(f"{n} {g:.2f}" for n, g in zip(m["factor_names"], m["per_factor"])) + ")"))
    if "samples" in result:
        c = result["samples"]
        low = min(c["fractions"], key=c["fractions"].get)
        rows.append(("sample classes covered", f"{c['classes_covered']} of {len(c['fractions'])} (rarest: {low}, {c['fractions'][low]:.1%} of {c['n']})"))
        if "condition_accuracy" in c:
            rows.append(("samples classified as their condition", f"{c['condition_accuracy']:.1%}"))
    return rows
