"""Every metric that applies to a checkpoint, on held-out data: what model cards report and tests hold to bars.

    >>> from metrics import evaluate
    >>> evaluate("checkpoints/faces-vae")["reconstruction"]["psnr"]

What applies follows from the checkpoint's model and dataset (training.json):
    autoencoders          reconstruction on the test split (MSE, PSNR; ELBO, KL, active units for VAEs)
    faces models          the Smiling and Eyeglasses edit scorecards (metrics.edits): attribute vectors, or
                          for a model conditioned on the attribute, the condition switched on
    dsprites models       MIG (metrics.disentanglement)
    fashion-mnist models  class coverage of their samples (metrics.samples)
    GANs                  their samples against test images (metrics.monitor): Frechet distance, KID,
                          precision/recall, coverage, condition accuracy, InfoGAN code agreement
    VQ-VAEs               codebook usage on the test split (metrics.codebook)
    PixelCNN priors       bits per code, sampling time, domain Frechet distance of samples against uniform
                          random codes; class-conditional: condition accuracy and rejection sampling
    classifiers           accuracy per class or attribute on the test split
The classifiers the scorecards and the coverage use ship in checkpoints/classifiers/.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import torch

import data
import models
from latent import Explorer
from models.base import resolve_file

from .codebook import codebook_usage
from .disentanglement import mig
from .edits import condition_scorecard, edit_scorecard
from .monitor import Monitor, cells_for
from .reconstruction import reconstruction
from .samples import class_coverage, coverage, dataset_features, features, frechet_distance, sample_batches

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
    """The shipped classifier of `dataset` for images of this size (CLASSIFIERS[dataset], or the same path with
    "-<size>" appended for another size, e.g. classifiers/faces-32), else None."""
    path = CLASSIFIERS.get(dataset)
    for candidate in () if path is None else (path, path.with_name(f"{path.name}-{image_size}")):
        if (candidate / models.base.CONFIG_NAME).exists():
            classifier = models.load(candidate)
            if classifier.config.image_size == image_size:
                return classifier
    return None


def evaluate(checkpoint: str | os.PathLike, split: str = "test") -> dict:
    """{"dataset", "split", and one entry per metric that applies} for a checkpoint directory or repo id."""
    record = training_record(checkpoint)
    ds = data.load(record["data"], split=split, **record.get("data_options", {}))
    result: dict = {"dataset": record["data"], "split": split, "images": len(ds)}
    model_type = models.model_type_of(checkpoint)
    if model_type == "classifier":  # no latents, no stats
        classifier = models.load(checkpoint)
        result["accuracy"] = accuracy(classifier, ds, ds.targets(None if classifier.config.num_classes else list(classifier.config.condition_names)))
        return result
    if model_type == "pixelcnn":
        prior = models.load(checkpoint)
        explorer = Explorer.load(prior.config.vqvae, prior=prior)
        y = ds.targets() if prior.config.num_classes else None
        result["prior"] = prior_quality(explorer, ds, y, classifier_for(record["data"], explorer.model.config.image_size))
        return result
    explorer = Explorer.load(checkpoint)
    model = explorer.model
    if isinstance(model, models.GAN):
        # the shipped classifier of the dataset, or the one the run's monitor used
        own = record.get("train_config", {}).get("monitor_classifier")
        classifier = models.load(own) if own else classifier_for(record["data"], model.config.image_size)
        if classifier is not None:
            result["gan"] = gan_quality(model, ds, classifier)
        return result
    # a cvae's conditions: class labels, or the named attribute columns
    names = list(getattr(model.config, "condition_names", ())) if getattr(model.config, "num_attributes", 0) else []
    y = ds.targets(names or None) if model.condition_dim else None
    measured = ds, y
    if len(ds) > RECONSTRUCTION_IMAGES:  # dSprites' test split is its whole grid: a seeded sample says as much
        keep = np.sort(np.random.default_rng(0).choice(len(ds), RECONSTRUCTION_IMAGES, replace=False))
        measured = ds.subset(keep), None if y is None else y[keep]
    result["reconstruction"] = reconstruction(model, *measured)
    if isinstance(model, models.VQVAE):
        result["codebook"] = codebook_usage(model, measured[0])
    classifier = classifier_for(record["data"], model.config.image_size)
    if ds.attribute_names and classifier is not None and (names or y is None):  # vectors, or an attribute condition switched on
        result["edits"] = (
            {a: condition_scorecard(explorer, classifier, ds, a) for a in SCORECARD_ATTRIBUTES if a in names}
            if names else {a: edit_scorecard(explorer, classifier, ds, a) for a in SCORECARD_ATTRIBUTES if a in explorer.vectors}
        )  # fmt: skip
    if ds.factor_sizes and min(ds.factor_sizes) > 0 and y is None:
        result["mig"] = mig(model, ds)
    if ds.labels is not None and classifier is not None and classifier.config.num_classes and not isinstance(model, models.VQVAE):  # its prior is measured apart
        result["samples"] = class_coverage(explorer, classifier)
    return result

PRIOR_SAMPLES = 1000  # samples drawn to measure a prior
REJECTION_THRESHOLD = 0.9  # class probability a classifier must give a sample for rejection sampling to keep it


@torch.no_grad()
def prior_quality(explorer: Explorer, ds, y: torch.Tensor | None, classifier: models.Classifier | None, n: int = PRIOR_SAMPLES) -> dict:
    """A VQ-VAE's PixelCNN prior (explorer.prior) on held-out data:

    bits_per_code              negative log-likelihood of the test images' codes, in bits per grid cell
    seconds_per_image          sampling time (this machine; the prior samples the grid cell by cell)
    frechet_distance           domain Frechet distance between prior samples and test images (classifier features)
    uniform_frechet_distance   the same for code grids drawn uniformly at random: what a prior must beat
    reconstruction_frechet_distance  the same for the test images' reconstructions: the floor the VQ-VAE sets
    samples                    class-conditional priors: class_coverage, and rejection sampling's acceptance rate
    """
    prior, vqvae = explorer.prior, explorer.model
    index = np.arange(min(len(ds), 5000))
    nll = 0.0
    for start in range(0, len(index), 250):
        idx = index[start : start + 250]
        nll += prior.loss(ds.batch(idx).to(vqvae.device), None if y is None else y[idx])["loss"].item() * len(idx)
    result = {"images": len(index), "bits_per_code": nll / len(index) / np.log(2), "samples": n}
    wanted = torch.arange(n) % prior.config.num_classes if prior.config.num_classes else None
    started = time.perf_counter()
    samples = torch.cat(list(sample_batches(explorer, n, seed=0, y=wanted, batch_size=250)))
    result["seconds_per_image"] = (time.perf_counter() - started) / n
    if classifier is None:
        return result
    real = dataset_features(classifier, ds)
    uniform = vqvae.decode(vqvae.sample_latent(n, generator=torch.Generator().manual_seed(0)))
    reconstructed = torch.cat([vqvae.reconstruct(ds.batch(index[s : s + 250])) for s in range(0, min(n, len(index)), 250)])
    result.update(
        frechet_distance=frechet_distance(features(classifier, samples), real),
        uniform_frechet_distance=frechet_distance(features(classifier, uniform), real),
        reconstruction_frechet_distance=frechet_distance(features(classifier, reconstructed), real),
    )
    if wanted is not None and prior.config.num_classes == classifier.config.num_classes:
        result["class_coverage"] = coverage(classifier, classifier.predict(samples), wanted)  # the samples above, classified
        _, acceptance, never = explorer.sample_confident(wanted[:200], classifier, REJECTION_THRESHOLD)
        result["rejection"] = {"threshold": REJECTION_THRESHOLD, "acceptance_rate": acceptance, "never_accepted": never, "n": 200}
    return result


GAN_SAMPLES = 2000  # samples (and test images) a GAN's evaluation compares


def gan_quality(model: models.GAN, ds, classifier: models.Classifier, n: int = GAN_SAMPLES) -> dict:
    """A generator's samples against n test images (a seeded subset), by the training monitor's measures
    (metrics.monitor.Monitor): Frechet distance, KID, precision and recall, coverage; a conditional model
    samples the test images' conditions and is scored on condition accuracy, an InfoGAN on the agreement of
    its categorical code with the classes."""
    index = np.arange(len(ds)) if len(ds) <= n else np.sort(np.random.default_rng(0).choice(len(ds), n, replace=False))
    y = None
    if getattr(model, "condition_labels", None):
        names = list(model.config.condition_names) if model.config.num_attributes else None
        y = ds.targets(names)[index]
    return {"n": len(index), **Monitor(classifier, ds.batch(index), y, cells_for(classifier, ds))(model)}


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
    if "codebook" in result:
        c = result["codebook"]
        rows.append(("codebook usage", f"{c['codes_used']:.1%} of the codes used on {c['images']} images ({c['dead_codes']} dead), perplexity {c['perplexity']:.1f}"))
    if "prior" in result:
        p = result["prior"]
        rows += [("bits per code", f"{p['bits_per_code']:.3f} ({p['images']} images)"), ("sampling time", f"{p['seconds_per_image'] * 1000:.0f} ms per image ({p['samples']} samples, CPU)")]
        if "frechet_distance" in p:
            rows.append(("domain Frechet distance to test images", f"{p['frechet_distance']:.2f} (uniform random codes: {p['uniform_frechet_distance']:.2f}; "
                         f"reconstructions: {p['reconstruction_frechet_distance']:.2f})"))  # fmt: skip
        if "class_coverage" in p:
            c = p["class_coverage"]
            rows.append(("samples classified as their condition", f"{c['condition_accuracy']:.1%} (classes covered: {c['classes_covered']} of {len(c['fractions'])})"))
            r = p["rejection"]
            rows.append((f"rejection sampling at p >= {r['threshold']:g}", f"{r['acceptance_rate']:.1%} of draws accepted ({r['never_accepted']} of {r['n']} never)"))
    if "gan" in result:
        g = result["gan"]
        rows += [
            ("domain Frechet distance to test images", f"{g['frechet_distance']:.2f} ({g['n']} samples)"),
            ("KID", f"{g['kid']:.4f}"),
            ("precision / recall (k = 3)", f"{g['precision']:.3f} / {g['recall']:.3f}"),
        ]  # fmt: skip
        if "cell_kl" in g:
            rows.append(("attribute cells covered", f"{g['coverage']:.1%} (KL(samples || data) over the cells {g['cell_kl']:.3f}; {g['outside']:.1%} of samples outside every cell)"))
        elif "coverage" in g:
            rows.append(("classes covered (>= 1% of samples)", f"{g['coverage']:.0%}"))
        if "condition_accuracy" in g:
            rows.append(("samples classified as their condition", f"{g['condition_accuracy']:.1%}"))
        if "code_agreement" in g:
            rows.append(("categorical code vs classes (best one-to-one matching)", f"{g['code_agreement']:.1%}"))
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
