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
                          precision/recall, coverage, condition accuracy, InfoGAN code agreement; on faces,
                          inversion of test faces (PSNR) and the Smiling / Eyeglasses edits of their samples,
                          by the stored vector and by the classifier-guided edit, judged by a second classifier
    adversarial AEs       the domain Frechet distance of their prior's samples; with a supervised mixture, how
                          often a test image's code lies nearest its class's component
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
from .edits import condition_scorecard, edit_grid, edit_scorecard, sample_edit_scorecard
from .monitor import Monitor, cell_coverage, cells_for
from .reconstruction import details_kept, error_quantiles, reconstruction
from .samples import class_coverage, coverage, dataset_features, features, frechet_distance, sample_batches

ROOT = Path(__file__).resolve().parent.parent
CLASSIFIERS = ROOT / "checkpoints" / "classifiers"  # the shipped classifiers that measure models (a "-judge" suffix: judges)
SCORECARD_ATTRIBUTES = ("Smiling", "Eyeglasses")
DETAIL_ATTRIBUTES = ("Smiling", "Eyeglasses", "Mustache", "Mouth_Slightly_Open")  # small details a card reports the reconstructions keep
PRIOR_SAMPLES = 1000  # samples drawn to measure a prior
INVERTED_IMAGES = 16  # test faces a GAN's evaluation inverts
GUIDED_EDITS = 300  # samples each classifier-guided edit scorecard edits (a guided edit is 8 gradient steps)
EVALUATION_NAME = "evaluation.json"
RECONSTRUCTION_IMAGES = 20_000  # at most this many test images are reconstructed


def trained_on(checkpoint: str | os.PathLike) -> tuple[str, dict]:
    """(dataset, options as data.load takes them, its data version included) of the checkpoint's training.json."""
    return _data_of(training_record(checkpoint))


def _data_of(record: dict) -> tuple[str, dict]:
    return record["data"], data.recorded(record["data"], record.get("data_options", {}))


def training_record(checkpoint: str | os.PathLike) -> dict:
    """The checkpoint's training.json: which dataset (and options) it was trained on."""
    try:
        return json.loads(Path(resolve_file(checkpoint, "training.json")).read_text())
    except ValueError:
        raise ValueError(f"{checkpoint}: no training.json, so the dataset to evaluate on is unknown") from None


def classifier_for(dataset: str, image_size: int, data_options: dict | None = None, checkpoints: str | os.PathLike | None = None, judge: bool = False) -> models.Classifier | None:
    """The shipped classifier of `dataset` for images of this size and the data version of `data_options` (as a
    training.json records them; see data.recorded), else None: the first by name of the classifier checkpoints in
    <checkpoints>/classifiers/ (default: the shipped ones) trained on that dataset and version. judge=True: a judge
    instead (a name ending in "-judge"), trained apart from the classifier that guides edits, so a guided edit is not
    scored by the classifier whose gradients it followed."""
    root = CLASSIFIERS if checkpoints is None else Path(checkpoints) / "classifiers"
    version = data.recorded(dataset, data_options or {}).get("version") if dataset in data.DATASETS else None
    for candidate in sorted(root.iterdir()) if root.is_dir() else ():
        if candidate.name.endswith("-judge") != judge or not (candidate / "training.json").exists():
            continue
        record = json.loads((candidate / "training.json").read_text())
        if record.get("data") != dataset or data.recorded(dataset, record.get("data_options", {})).get("version") != version:
            continue
        if models.base.read_config_json(str(candidate / models.base.CONFIG_NAME)).get("image_size") == image_size:  # before loading weights
            return models.load(candidate)
    return None


def evaluate(checkpoint: str | os.PathLike, split: str = "test") -> dict:
    """{"dataset", "split", and one entry per metric that applies} for a checkpoint directory or repo id."""
    record = training_record(checkpoint)
    dataset, options = _data_of(record)
    ds = data.load(dataset, split=split, **options)
    result: dict = {"dataset": dataset, "split": split, "images": len(ds)}
    model_type = models.model_type_of(checkpoint)
    if model_type == "classifier":  # no latents, no stats
        classifier = models.load(checkpoint)
        result["accuracy"] = accuracy(classifier, ds, ds.targets(None if classifier.config.num_classes else list(classifier.config.condition_names)))
        return result
    if model_type == "pixelcnn":
        prior = models.load(checkpoint)
        explorer = Explorer.load(prior.config.vqvae, prior=prior)
        y = ds.targets() if prior.config.num_classes else None
        result["prior"] = prior_quality(explorer, ds, y, classifier_for(dataset, explorer.model.config.image_size, options))
        return result
    explorer = Explorer.load(checkpoint)
    model = explorer.model
    if isinstance(model, models.GAN):
        # the shipped classifier of the dataset, or the one the run's monitor used
        own = record.get("train_config", {}).get("monitor_classifier")
        classifier = models.load(own) if own else classifier_for(dataset, model.config.image_size, options)
        if classifier is not None:
            result["gan"] = gan_quality(model, ds, classifier)
        judge = classifier_for(dataset, model.config.image_size, options, judge=True)
        if classifier is not None and classifier.config.num_attributes and judge is not None:
            explorer.classifier = classifier
            result["inversion"] = inversion_quality(explorer, ds)
            result["edits"] = {a: sample_edit_scorecard(explorer, judge, a) for a in SCORECARD_ATTRIBUTES if a in explorer.vectors}
            result["guided_edits"] = {a: sample_edit_scorecard(explorer, judge, a, n=GUIDED_EDITS, edit="guided") for a in SCORECARD_ATTRIBUTES}
        return result
    # a cvae's conditions: class labels, or the named attribute columns
    names = list(getattr(model.config, "condition_names", ())) if getattr(model.config, "num_attributes", 0) else []
    y = ds.targets(names or None) if model.condition_dim else None
    measured = ds, y
    if len(ds) > RECONSTRUCTION_IMAGES:  # dSprites' test split is its whole grid: a seeded sample says as much
        keep = np.sort(np.random.default_rng(0).choice(len(ds), RECONSTRUCTION_IMAGES, replace=False))
        measured = ds.subset(keep), None if y is None else y[keep]
    result["reconstruction"] = reconstruction(model, *measured)
    result["reconstruction"]["error_quantiles"] = error_quantiles(model, *measured)
    if isinstance(model, models.VQVAE):
        result["codebook"] = codebook_usage(model, measured[0])
    classifier = classifier_for(dataset, model.config.image_size, options)
    # edits are judged by the dataset's judge where one ships (robust to a decoder's blur), else by its classifier
    judge = classifier_for(dataset, model.config.image_size, options, judge=True) or classifier
    if ds.attribute_names and judge is not None and (names or y is None):  # vectors, or an attribute condition switched on
        result["edits"] = (
            {a: condition_scorecard(explorer, judge, ds, a) for a in SCORECARD_ATTRIBUTES if a in names}
            if names else {a: edit_scorecard(explorer, judge, ds, a) for a in SCORECARD_ATTRIBUTES if a in explorer.vectors}
        )  # fmt: skip
    if ds.attribute_names and judge is not None and judge is not classifier:  # what the decoder keeps of each attribute
        result["details_kept"] = details_kept(model, ds, judge, y)
        if y is None and cells_for(judge, ds) is not None and not isinstance(model, models.VQVAE):  # which attribute combinations its samples draw (a VQ-VAE's prior is measured apart)
            result["sample_cells"] = {source: sample_cell_coverage(explorer, judge, ds, source) for source in ("prior", "fitted")}
    if ds.factor_sizes and min(ds.factor_sizes) > 0 and y is None:
        result["mig"] = mig(model, ds)
    if ds.labels is not None and classifier is not None and classifier.config.num_classes and not isinstance(model, models.VQVAE):  # its prior is measured apart
        result["samples"] = class_coverage(explorer, classifier)
    if isinstance(model, models.AAE):
        result["prior_samples"] = {"n": PRIOR_SAMPLES}
        if classifier is not None:
            result["prior_samples"]["frechet_distance"] = prior_frechet_distance(explorer, ds, classifier)
        if model.config.num_classes:
            result["prior_samples"]["component_agreement"] = component_agreement(model, ds)
    return result


def grid(checkpoint: str | os.PathLike, attribute: str, split: str = "test", edit: str = "vector") -> np.ndarray:
    """metrics.edits.edit_grid on the split of the dataset (and version) the checkpoint trained on; a GAN inverts
    the test images with its dataset's classifier's features, as its card's inversion does."""
    dataset, options = trained_on(checkpoint)
    explorer = Explorer.load(checkpoint)
    if attribute not in explorer.vectors:
        raise ValueError(f"{checkpoint} has no {attribute!r} vector; it has: {', '.join(explorer.vectors) or 'none'}")
    explorer.classifier = classifier_for(dataset, explorer.model.config.image_size, options)
    return edit_grid(explorer, data.load(dataset, split=split, **options), attribute, edit=edit)


def sample_cell_coverage(explorer: Explorer, judge: models.Classifier, ds, source: str, n: int = PRIOR_SAMPLES) -> dict:
    """How n seeded samples from `source` ("prior": N(0, I); "fitted": the Gaussian fitted to the training codes) spread
    over the data's attribute cells (metrics.monitor.cell_coverage), as the judge reads them."""
    samples = torch.cat(list(sample_batches(explorer, n, seed=0, source=source, batch_size=250)))
    return {"n": n, **cell_coverage(*cells_for(judge, ds), judge.predict(samples).numpy())}


def prior_frechet_distance(explorer: Explorer, ds, classifier: models.Classifier, n: int = PRIOR_SAMPLES) -> float:
    """Domain Frechet distance between n samples of the model's prior N(0, I) -- or the prior an adversarial AE was
    matched to -- and test images (an AE was never trained towards one: this is what matching a prior buys)."""
    samples = torch.cat(list(sample_batches(explorer, n, seed=0, source="prior", batch_size=250)))
    return frechet_distance(features(classifier, samples), dataset_features(classifier, ds))


@torch.no_grad()
def component_agreement(model: models.AAE, ds, batch_size: int = 500) -> float:
    """Fraction of test images whose code lies nearest the mixture component of their class (a supervised AAE)."""
    means = model.component_means().to(model.device)
    nearest = torch.cat([
        torch.cdist(model.encode(ds.batch(np.arange(s, min(s + batch_size, len(ds)))).to(model.device)).mean, means).argmin(1).cpu()
        for s in range(0, len(ds), batch_size)
    ])  # fmt: skip
    return (nearest.numpy() == ds.labels).mean().item()


def inversion_quality(explorer: Explorer, ds, n: int = INVERTED_IMAGES) -> dict:
    """PSNR of the first n test images inverted through a GAN (latent.invert, with explorer.classifier's features)."""
    result = explorer.invert(ds.batch(np.arange(min(n, len(ds)))))
    return {"images": len(result.mse), "psnr": result.psnr.mean().item(), "psnr_min": result.psnr.min().item(), "mse": result.mse.mean().item()}

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
    for key in ("edits", "guided_edits"):
        for attribute, card in result.get(key, {}).items():
            worst = max(card["changed"], key=card["changed"].get)
            how = f"strength {card['strength']:g}" if "strength" in card else "condition switched on"
            what = {"vector": "samples without it, stored vector", "guided": "samples without it, classifier-guided"}.get(card.get("edit"), "faces without it")
            judged = "; judged by a second classifier" if "edit" in card else ""
            name = f"{attribute} {'guided ' if key == 'guided_edits' else ''}edit"
            rows.append((f"{name}: flip rate", f"{card['flip_rate']:.1%} of {card['n']} {what} (unedited: {card['baseline']:.1%}; {how}{judged})"))
            rows.append((f"{name}: other attributes changed", f"at most {card['changed'][worst]:.1%} ({worst})"))
    if "details_kept" in result:
        d = result["details_kept"]
        kept = d["reconstruction"]
        lowest = min(kept, key=kept.get)
        rows.append(("reconstructions that keep an attribute (the judge agrees with the truth)",
                     ", ".join(f"{a} {kept[a]:.1%} (inputs {d['input'][a]:.1%})" for a in DETAIL_ATTRIBUTES if a in kept)
                     + f"; the lowest of all {len(kept)}: {lowest} {kept[lowest]:.1%} ({d['images']} images)"))  # fmt: skip
    for source, c in result.get("sample_cells", {}).items():
        rows.append((f"attribute cells covered by {'prior' if source == 'prior' else 'fitted-Gaussian'} samples",
                     f"{c['coverage']:.1%} of {c['cells']} (KL(samples ‖ data) over the cells {c['cell_kl']:.3f}; {c['outside']:.1%} of {c['n']} samples outside every cell)"))  # fmt: skip
    if "inversion" in result:
        i = result["inversion"]
        rows.append(("inversion of test images (latent.invert)", f"PSNR {i['psnr']:.2f} dB on average, {i['psnr_min']:.2f} dB the worst ({i['images']} images)"))
    if "prior_samples" in result:
        p = result["prior_samples"]
        if "frechet_distance" in p:
            rows.append(("domain Frechet distance of prior samples to test images", f"{p['frechet_distance']:.2f} ({p['n']} samples)"))
        if "component_agreement" in p:
            rows.append(("test codes nearest their class's mixture component", f"{p['component_agreement']:.1%}"))
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


def headline(result: dict) -> list[tuple[str, str, float]]:
    """(metric type, display name, value) of the main numbers of an evaluate() result: a model card's model-index,
    which the Hub shows as the model's evaluation results."""
    rows = []
    rec = result.get("reconstruction", {})
    if rec:
        rows.append(("psnr", "PSNR (dB)", rec["psnr"]))
    if "elbo" in rec:
        rows.append(("elbo", "ELBO (nats)", rec["elbo"]))
    rows += [("accuracy", f"accuracy: {name}", value) for name, value in result.get("accuracy", {}).items()]
    for key in ("edits", "guided_edits"):
        rows += [("flip_rate", f"{attribute} {'guided ' if key == 'guided_edits' else ''}edit flip rate", card["flip_rate"]) for attribute, card in result.get(key, {}).items()]
    for source in ("gan", "prior_samples", "prior"):
        if "frechet_distance" in result.get(source, {}):
            rows.append(("frechet_distance", "domain Frechet distance of samples", result[source]["frechet_distance"]))
    if "prior" in result:
        rows.append(("bits_per_code", "bits per code", result["prior"]["bits_per_code"]))
    if "codebook" in result:
        rows.append(("perplexity", "codebook perplexity", result["codebook"]["perplexity"]))
    if "mig" in result:
        rows.append(("mig", "MIG", result["mig"]["mig"]))
    return [(kind, name, float(value)) for kind, name, value in rows]

