"""Every metric that applies to a checkpoint, on held-out data: what model cards report and tests hold to bars.

    >>> from metrics import evaluate
    >>> evaluate("checkpoints/faces-vae")["reconstruction"]["psnr"]

What applies follows from the checkpoint's model and dataset (training.json):
    autoencoders          reconstruction on the test split (MSE, PSNR; ELBO, KL, active units for VAEs); for a
                          continuous code, how far masking noise moves it (metrics.reconstruction.noise_robustness)
    faces models          the Smiling and Eyeglasses edit scorecards (metrics.edits): attribute vectors, or
                          for a model conditioned on the attribute, the condition switched on; each named attribute
                          slider's scorecard at full scale (slider_edits)
    dsprites models       MIG, SAP, DCI and the FactorVAE score (metrics.disentanglement)
    fashion-mnist models  class coverage of their samples (metrics.samples)
    GANs                  their samples against test images (metrics.monitor): Frechet distance, KID,
                          precision/recall, coverage, condition accuracy, InfoGAN code agreement; on faces,
                          inversion of test faces (PSNR) and the Smiling / Eyeglasses edits of their samples,
                          by the stored vector and by the classifier-guided edit, judged by a second classifier
    unconditional autoencoders with a judge: the domain Frechet distance of 1,000 samples of the model's own prior
                          (a plain AE's: N(0, I)) next to its floor (its reconstructions; judge features), and of
                          N(0, I) where that differs; their sharpness against the test images (prior_fd)
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
import warnings
from pathlib import Path

import numpy as np
import torch

import data
import models
from latent import Explorer
from latent.sliders import ATTRIBUTE_RANGE
from models import resolve_file
from models.pixelcnn import fingerprint

from .codebook import codebook_usage
from .disentanglement import disentanglement_suite, mig, seed_spread, suite_scores
from .edits import condition_scorecard, edit_grid, edit_scorecard, factor_slider_scorecard, sample_edit_scorecard, slider_scorecard
from .monitor import Monitor, cell_coverage, cells_for, precision_recall
from .pictures import Row, labelled_rows
from .reconstruction import details_kept, error_quantiles, noise_robustness, reconstruction
from .samples import class_coverage, coverage, dataset_features, feature_index, features, frechet_distance, sample_batches, sharpness_ratio

ROOT = Path(__file__).resolve().parent.parent
CLASSIFIERS = ROOT / "checkpoints" / "classifiers"  # the shipped classifiers that measure models (a "-judge" suffix: judges)
# the default model of a dataset: its reconstructions of the test images are the floor every prior's samples are
# measured against (prior_fd), so the cards of all the dataset's models share one floor
FLOOR_MODELS = {"faces": ROOT / "checkpoints" / "faces-vae"}
SCORECARD_ATTRIBUTES = ("Smiling", "Eyeglasses")
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


def classifier_for(
    dataset: str, image_size: int, data_options: dict | None = None, checkpoints: str | os.PathLike | None = None, judge: bool = False
) -> models.Classifier | None:
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
        record = models.read_json(candidate / "training.json")  # ValueError naming the file, as models.load's
        if not isinstance(record.get("data_options", {}), dict):
            raise ValueError(f"{candidate / 'training.json'}: data_options is not a JSON object")
        if record.get("data") != dataset or data.recorded(dataset, record.get("data_options", {})).get("version") != version:
            continue
        if models.read_config_json(str(candidate / models.CONFIG_NAME)).get("image_size") == image_size:  # before loading weights
            return models.load(candidate)
    return None


def evaluate(checkpoint: str | os.PathLike, split: str = "test") -> dict:
    """{"dataset", "split", and one entry per metric that applies} for a checkpoint directory or repo id."""
    record = training_record(checkpoint)
    dataset, options = _data_of(record)
    ds = data.load(dataset, split=split, **options)
    result: dict = {"dataset": dataset, "split": split, "images": len(ds)}
    cls = models.model_class(models.model_type_of(checkpoint))
    if cls.classifies:  # no latents, no stats
        classifier = models.load(checkpoint)
        result["accuracy"] = accuracy(
            classifier, ds, ds.targets(None if classifier.config.num_classes else list(classifier.config.condition_names))
        )
    elif cls.models_codes:
        prior = models.load(checkpoint)
        explorer = Explorer.load(prior.config.vqvae, prior=prior)
        add_priors_beside(explorer, checkpoint)  # a VQ-VAE-2's priors of its other levels
        y = ds.targets() if prior.config.num_classes else None
        size = explorer.model.config.image_size
        classifier = classifier_for(dataset, size, options)
        result["prior"] = prior_quality(explorer, prior, ds, y, classifier)
        judge = classifier_for(dataset, size, options, judge=True)
        if "frechet_distance" in result["prior"] and judge is not None and y is None:
            result["prior_fd"] = prior_fd(explorer, ds, judge, floor_model(dataset, options), rejector=classifier)
    elif cls.has_encoder:
        result |= _autoencoder_metrics(Explorer.load(checkpoint), ds, dataset, options)
    else:
        result |= _generator_metrics(Explorer.load(checkpoint), ds, dataset, options, record)
    return result


def _generator_metrics(explorer: Explorer, ds, dataset: str, options: dict, record: dict) -> dict:
    """A GAN's samples against the test images; with an attribute classifier and a judge, its inversions and edits."""
    model, result = explorer.model, {}
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
    floor = floor_model(dataset, options)
    if judge is not None and floor is not None and not model.condition_labels:  # its samples against the dataset's floor
        result["prior_fd"] = prior_fd(explorer, ds, judge, floor, rejector=classifier)
    return result


def floor_model(dataset: str, data_options: dict) -> Path | None:
    """The dataset's default model (FLOOR_MODELS) where it ships and was trained on the same data version, else None."""
    path = FLOOR_MODELS.get(dataset)
    if path is None or not (path / "training.json").exists():
        return None
    floor_dataset, floor_options = _data_of(training_record(path))
    same_version = data.recorded(dataset, floor_options).get("version") == data.recorded(dataset, data_options).get("version")
    return path if floor_dataset == dataset and same_version else None


def _autoencoder_metrics(explorer: Explorer, ds, dataset: str, options: dict) -> dict:
    """Reconstructions, and what applies of: codebook use, edits, details kept, sample coverage, MIG, the prior."""
    model = explorer.model
    # a cvae's conditions: class labels, or the named attribute columns
    names = list(getattr(model.config, "condition_names", ())) if getattr(model.config, "num_attributes", 0) else []
    y = ds.targets(names or None) if model.condition_dim else None
    measured = ds, y
    if len(ds) > RECONSTRUCTION_IMAGES:  # dSprites' test split is its whole grid: a seeded sample says as much
        keep = np.sort(np.random.default_rng(0).choice(len(ds), RECONSTRUCTION_IMAGES, replace=False))
        measured = ds.subset(keep), None if y is None else y[keep]
    result = {"reconstruction": reconstruction(model, *measured)}
    result["reconstruction"]["error_quantiles"] = error_quantiles(model, *measured)
    if model.code_levels:
        result["codebook"] = codebook_usage(model, measured[0])
    elif y is None:  # how far noise moves a continuous code (a denoising AE's lesson)
        result["noise"] = noise_robustness(model, measured[0])
    classifier = classifier_for(dataset, model.config.image_size, options)
    # edits are judged by the dataset's judge where one ships (robust to a decoder's blur), else by its classifier
    judge = classifier_for(dataset, model.config.image_size, options, judge=True) or classifier
    if ds.attribute_names and judge is not None and (names or y is None):  # vectors, or an attribute condition switched on
        result["edits"] = (
            {a: condition_scorecard(explorer, judge, ds, a) for a in SCORECARD_ATTRIBUTES if a in names}
            if names
            else {a: edit_scorecard(explorer, judge, ds, a) for a in SCORECARD_ATTRIBUTES if a in explorer.vectors}
        )
    if ds.attribute_names and judge is not None and judge is not classifier and y is None and explorer.attribute_names:
        result["slider_edits"] = slider_edits(explorer, judge, ds)
    # a model with a learned prior (a VQ-VAE's PixelCNN) has its samples measured on the prior's card
    own_samples = model.prior != "learned"
    if ds.attribute_names and judge is not None and judge is not classifier:  # what the decoder keeps of each attribute
        result["details_kept"] = details_kept(model, ds, judge, y)
        if y is None and cells_for(judge, ds) is not None and own_samples:  # which attribute combinations its samples draw
            sources = [source for source in CELL_SOURCES if source in explorer.sample_sources]
            result["sample_cells"] = {source: sample_cell_coverage(explorer, judge, ds, source) for source in sources}
    # its prior's samples against their floor; a plain AE's N(0, I) too (what it shows: an AE cannot generate)
    if y is None and own_samples and judge is not None:
        result["prior_fd"] = prior_fd(
            explorer, ds, judge, floor_model(dataset, options), rejector=None if judge is classifier else classifier
        )
    # ground-truth factors (dsprites; the faces' continuous ones binned), against each dimension of a continuous code (a
    # code grid's thousands of cells are not meant to carry one factor each)
    if ds.factor_sizes and y is None and not model.code_levels:
        result["mig"] = mig(model, ds)
        result["disentanglement"] = disentanglement_suite(model, ds)
        if ds.attribute_names and judge is not None and judge is not classifier:  # does each dim's slider move its factor?
            result["factor_sliders"] = factor_slider_scorecard(explorer, judge, ds, result["disentanglement"]["dims"])
    if ds.labels is not None and classifier is not None and classifier.config.num_classes and own_samples:
        result["samples"] = class_coverage(explorer, classifier)
    if model.prior == "adversarial":
        result["prior_samples"] = prior_sample_metrics(explorer, ds, classifier)
    return result


def seed_spread_of(checkpoint: str | os.PathLike, others: list[str | os.PathLike], split: str = "test") -> dict:
    """metrics.disentanglement.seed_spread over `checkpoint` (the run shipped) and the runs `others` of the same
    preset, each trained with another seed. ValueError for a run that differs in anything but its seed and output
    directory (model config, training settings or data), or two runs with one seed."""
    record = training_record(checkpoint)
    shipped = models.load(checkpoint)
    runs: dict[int, models.Encodable] = {}
    for run in [checkpoint, *others]:  # every run checked before any is measured
        other, model = training_record(run), models.load(run)
        # the training settings both records carry (an older run's training.json lacks the flags added since)
        shared = (set(other["train_config"]) & set(record["train_config"])) - {"seed", "out"}
        differs = any(other["train_config"][k] != record["train_config"][k] for k in shared) or _data_of(other) != _data_of(record)
        if differs or model.config != shipped.config:
            raise ValueError(f"{run} was not trained like {checkpoint} apart from its seed: a seed spread compares seeds alone")
        if other["seed"] in runs:
            raise ValueError(f"{run}: seed {other['seed']} is given twice")
        runs[other["seed"]] = model
    dataset, options = _data_of(record)
    ds = data.load(dataset, split=split, **options)
    return seed_spread({seed: disentanglement_suite(model, ds) for seed, model in runs.items()}, record["seed"])


def stored_seed_spread(checkpoint: str | os.PathLike, result: dict) -> dict:
    """{"seed_spread": ...} from the checkpoint's stored evaluation.json when its shipped run scores what `result`
    measures now (the other seeds' runs are not shipped, so rewriting the card keeps their numbers); else {}."""
    path = Path(checkpoint) / EVALUATION_NAME
    stored = json.loads(path.read_text()).get("seed_spread") if path.is_file() else None
    if stored and "disentanglement" in result:
        now = suite_scores(result["disentanglement"])
        if all(np.isclose(now[name], stored["runs"][str(stored["shipped_seed"])][name]) for name in now):
            return {"seed_spread": stored}
        print(f"{checkpoint}: the stored seed spread was measured on other weights; dropped (measure it again with --seeds)")
    return {}


SLIDER_EDIT_IMAGES = 500  # test faces each attribute slider's scorecard edits


def slider_edits(explorer: Explorer, judge: models.Classifier, ds) -> dict:
    """{attribute: metrics.edits.slider_scorecard at full scale (+ATTRIBUTE_RANGE)}: the Latent sliders tab's named
    attribute sliders, each alone, on SLIDER_EDIT_IMAGES test faces without the attribute; what each slider shows as
    its help."""
    return {
        name: slider_scorecard(explorer, judge, ds, {name: ATTRIBUTE_RANGE}, n=SLIDER_EDIT_IMAGES)
        for name in explorer.attribute_names
        if name in judge.names
    }


def prior_sample_metrics(explorer: Explorer, ds, classifier) -> dict:
    """An adversarial AE's prior samples: their Frechet distance to the test images, and for a supervised mixture
    prior, how often a component's samples are classified as its class."""
    result = {"n": PRIOR_SAMPLES}
    if classifier is not None:
        result["frechet_distance"] = prior_frechet_distance(explorer, ds, classifier)
    if explorer.model.config.num_classes:
        result["component_agreement"] = component_agreement(explorer.model, ds)
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


PRIOR_ROW_SIZE = 128  # pixels per side of each sample in prior_rows: a 64x64 face at 2x, a 32x32 one at 4x


@torch.no_grad()
def prior_rows(checkpoints: list[str | os.PathLike], n: int = 8, seed: int = 0) -> np.ndarray:
    """One row per checkpoint: its name, then n samples of its own prior (Explorer source "prior"; an AE's is N(0, I),
    which it was never trained towards; a VQ-VAE's, its priors beside it), seed `seed`, each shown at PRIOR_ROW_SIZE pixels (nearest neighbour), so models
    of different image sizes are compared at one display size. uint8 [H, W, 3]."""
    rows = []
    for checkpoint in checkpoints:
        explorer = with_priors(checkpoint)
        size = explorer.model.config.image_size
        note = f"{explorer.model.kind}, {size}x{size} at {PRIOR_ROW_SIZE // size}x"
        rows.append(Row(Path(checkpoint).name, note, explorer.sample(n, seed=seed, source="prior")))
    return labelled_rows(rows, PRIOR_ROW_SIZE)


@torch.no_grad()
def level_rows(checkpoints: list[str | os.PathLike], n: int = 8, split: str = "test") -> np.ndarray:
    """The first n test images of the first checkpoint's dataset, then two rows per VQ-VAE-2 checkpoint: its
    reconstructions, and the same images decoded from their top codes alone (the bottom level zeroed), each at
    PRIOR_ROW_SIZE pixels. ValueError for a checkpoint without a top level. uint8 [H, W, 3]."""
    dataset, options = _data_of(training_record(checkpoints[0]))
    images = data.load(dataset, split=split, **options).batch(np.arange(n))
    rows = [Row(f"{split} images", dataset, images)]
    for checkpoint in checkpoints:
        model = models.load(checkpoint)
        if "top" not in model.code_levels:
            raise ValueError(f"{checkpoint}: a {model.kind} has no top level of codes (a VQ-VAE-2 has)")
        z = model.encode(images.to(model.device)).mean
        rows += [Row(Path(checkpoint).name, "reconstructions", model.decode(z)), Row("", "top codes alone", model.decode_top_alone(z))]
    return labelled_rows(rows, PRIOR_ROW_SIZE)


CELL_SOURCES = ("prior", "standard_normal", "fitted", "mixture")  # the sample sources whose attribute cells are counted, where offered


def sample_cell_coverage(explorer: Explorer, judge: models.Classifier, ds, source: str, n: int = PRIOR_SAMPLES) -> dict:
    """How n seeded samples from `source` ("prior": the model's own prior; "standard_normal": N(0, I) where that
    differs; "fitted": the Gaussian fitted to the training codes; "mixture": the mixture over the labelled codes)
    spread over the data's attribute cells
    (metrics.monitor.cell_coverage), as the judge reads them."""
    samples = torch.cat(list(sample_batches(explorer, n, seed=0, source=source, batch_size=250)))
    return {"n": n, **cell_coverage(*cells_for(judge, ds), judge.predict(samples).numpy())}


def prior_frechet_distance(explorer: Explorer, ds, classifier: models.Classifier, n: int = PRIOR_SAMPLES) -> float:
    """Domain Frechet distance between n samples of the model's prior N(0, I) -- or the prior an adversarial AE was
    matched to -- and test images (an AE was never trained towards one: this is what matching a prior buys)."""
    samples = torch.cat(list(sample_batches(explorer, n, seed=0, source="prior", batch_size=250)))
    return frechet_distance(features(classifier, samples), dataset_features(classifier, ds))


@torch.no_grad()
def prior_fd(
    explorer: Explorer,
    ds,
    extractor: models.Classifier,
    floor: Path | None,
    n: int = PRIOR_SAMPLES,
    rejector: models.Classifier | None = None,
) -> dict:
    """The domain Frechet distance of n seeded samples of the model's own prior (Explorer source "prior": a second
    stage where the checkpoint carries one; a GAN's noise) against test images, next to a floor: the same distance
    for the reconstructions of n of those very test images by the checkpoint `floor` (the dataset's default model,
    FLOOR_MODELS, so every card of the dataset shares it, scaled to the model's image size where they differ; None: the
    model's own), what a good decoder draws (n images, as many as the samples:
    the distance's bias depends on the count). Features: `extractor`'s (the dataset's judge where one ships) of the
    test images of dataset_features.

    frechet_distance, floor, floor_model (whose reconstructions), ratio (frechet_distance / floor), features (the
    extractor: its kind and attributes or classes), prior (what the samples came from), sharpness and floor_sharpness
    (the samples' and the reconstructions' high-frequency energy relative to those n test images, metrics.samples.
    sharpness_ratio: 1 is as sharp as the test images), and where the model's prior differs from N(0, I) (a second
    stage) standard_normal_frechet_distance: the first stage's N(0, I) draws. With a `rejector` (the dataset's
    classifier, not the judge that measures), `rejection`: n samples of the same prior kept by rejection sampling at
    REJECTION_THRESHOLD (Explorer.sample_confident), their acceptance rate and Frechet distance."""
    model = explorer.model
    real = dataset_features(extractor, ds)
    index = feature_index(ds)[:n]
    reconstructor, floor_ds = explorer, ds
    size = model.config.image_size
    if floor is not None:
        reconstructor = Explorer.load(floor)
        if reconstructor.model.config.image_size != size:  # the same test faces at the floor model's size, scaled back
            floor_dataset, floor_options = _data_of(training_record(floor))
            floor_ds = data.load(floor_dataset, split=ds.split, **floor_options)
    test = torch.cat([ds.batch(index[s : s + 250]) for s in range(0, len(index), 250)])
    inputs = test if floor_ds is ds else torch.cat([floor_ds.batch(index[s : s + 250]) for s in range(0, len(index), 250)])
    reconstructed = torch.cat(
        [
            torch.nn.functional.interpolate(reconstructor.reconstruct(inputs[s : s + 250]), size=size, mode="area")
            for s in range(0, len(index), 250)
        ]
    )
    samples = _samples(explorer, "prior", n)
    result = {
        "n": n,
        "features": described(extractor),
        "prior": UNTRAINED_PRIOR if model.prior == "none" and model.latent_prior is None else model.prior_description,
        "frechet_distance": frechet_distance(features(extractor, samples), real),
        "floor": frechet_distance(features(extractor, reconstructed), real),
        "floor_model": "its own" if floor is None else floor.name + "'s",
        "sharpness": sharpness_ratio(samples, test),
        "floor_sharpness": sharpness_ratio(reconstructed, test),
    }
    result["ratio"] = result["frechet_distance"] / result["floor"]
    if "standard_normal" in explorer.sample_sources:
        standard_normal = _samples(explorer, "standard_normal", n)
        result["standard_normal_frechet_distance"] = frechet_distance(features(extractor, standard_normal), real)
    if rejector is not None:
        kept, acceptance, never = explorer.sample_confident(n, rejector, REJECTION_THRESHOLD, seed=0, source="prior")
        result["rejection"] = {
            "threshold": REJECTION_THRESHOLD,
            "classifier": described(rejector),
            "acceptance_rate": acceptance,
            "never_accepted": never,
            "frechet_distance": frechet_distance(features(extractor, kept), real),
        }
        result["rejection"]["ratio"] = result["rejection"]["frechet_distance"] / result["floor"]
    return result


def described(classifier: models.Classifier) -> str:
    """A classifier in a few words, for a card: "Classifier of 16 attributes"."""
    return f"{type(classifier).__name__} of {len(classifier.names)} {'classes' if classifier.config.num_classes else 'attributes'}"


# what a plain autoencoder's "prior" source draws: N(0, I), which nothing in its training pulled the codes towards
UNTRAINED_PRIOR = "N(0, I), which a plain autoencoder was never trained towards"


def _samples(explorer: Explorer, source: str, n: int) -> torch.Tensor:
    return torch.cat(list(sample_batches(explorer, n, seed=0, source=source, batch_size=250)))


@torch.no_grad()
def component_agreement(model: models.AAE, ds, batch_size: int = 500) -> float:
    """Fraction of test images whose code lies nearest the mixture component of their class (a supervised AAE)."""
    means = model.component_means().to(model.device)
    nearest = torch.cat(
        [
            torch.cdist(model.encode(ds.batch(np.arange(s, min(s + batch_size, len(ds)))).to(model.device)).mean, means).argmin(1).cpu()
            for s in range(0, len(ds), batch_size)
        ]
    )
    return (nearest.numpy() == ds.labels).mean().item()


def inversion_quality(explorer: Explorer, ds, n: int = INVERTED_IMAGES) -> dict:
    """PSNR of the first n test images inverted through a GAN (latent.invert, with explorer.classifier's features)."""
    result = explorer.invert(ds.batch(np.arange(min(n, len(ds)))))
    return {
        "images": len(result.mse),
        "psnr": result.psnr.mean().item(),
        "psnr_min": result.psnr.min().item(),
        "mse": result.mse.mean().item(),
    }


REJECTION_THRESHOLD = 0.9  # the confidence (models.Classifier.confidence) rejection sampling keeps a draw at


def add_priors_beside(explorer: Explorer, checkpoint: str | os.PathLike) -> None:
    """Give the explorer's VQ-VAE(-2) the PixelCNN priors trained on it (by weights, models.pixelcnn.fingerprint) that
    lie in the checkpoint directories beside `checkpoint`, by directory name, for each code level it has no prior for."""
    here, weights = Path(checkpoint), fingerprint(explorer.model)
    for candidate in sorted(here.parent.iterdir()) if here.is_dir() else []:
        if candidate == here:
            continue
        try:
            config = models.read_config_json(str(candidate / models.CONFIG_NAME))
            if (
                config.get("model_type") == "pixelcnn"
                and config.get("vqvae_fingerprint") == weights
                and config.get("level", "codes") not in explorer.level_priors
            ):
                explorer.set_prior(models.load(candidate))
        except ValueError as err:  # not a checkpoint, or one still training or damaged: not a prior to sample with
            if (candidate / models.CONFIG_NAME).exists():
                warnings.warn(f"skipping {candidate}: {err}", stacklevel=2)


def with_priors(checkpoint: str | os.PathLike) -> Explorer:
    """Explorer.load(checkpoint); for a VQ-VAE(-2), with the priors trained on it that lie beside it (the first per level)."""
    explorer = Explorer.load(checkpoint)
    if explorer.model.code_levels:
        add_priors_beside(explorer, checkpoint)
    return explorer


@torch.no_grad()
def prior_quality(
    explorer: Explorer, prior: models.PixelCNN, ds, y: torch.Tensor | None, classifier: models.Classifier | None, n: int = PRIOR_SAMPLES
) -> dict:
    """A VQ-VAE's PixelCNN prior on held-out data; for a VQ-VAE-2's priors, `prior` is one level's, explorer.prior all
    levels' (the samples are measured on the card of the last level's prior, whose sampling completes a picture):

    bits_per_code              negative log-likelihood of the test images' codes at the prior's level, in bits per grid cell
    seconds_per_image          sampling time (this machine; the prior samples the grid cell by cell)
    frechet_distance           domain Frechet distance between prior samples and test images (classifier features)
    uniform_frechet_distance   the same for code grids drawn uniformly at random: what a prior must beat
    reconstruction_frechet_distance  the same for the test images' reconstructions: the floor the VQ-VAE sets
    samples                    class-conditional priors: class_coverage, and rejection sampling's acceptance rate
    """
    vqvae = explorer.model
    index = np.arange(min(len(ds), 5000))
    nll = 0.0
    for start in range(0, len(index), 250):
        idx = index[start : start + 250]
        nll += prior.loss(ds.batch(idx).to(vqvae.device), None if y is None else y[idx])["loss"].item() * len(idx)
    result = {"images": len(index), "bits_per_code": nll / len(index) / np.log(2)}
    if explorer.prior is None or prior.config.level != vqvae.code_levels[-1]:
        return result
    result["samples"] = n
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
        result["rejection"] = rejection_quality(explorer, classifier, wanted, real, samples)
    return result


def rejection_quality(
    explorer: Explorer, classifier: models.Classifier, wanted: torch.Tensor, real: torch.Tensor, drawn: torch.Tensor
) -> dict:
    """Rejection sampling (Explorer.sample_confident at REJECTION_THRESHOLD) of one sample per class id in `wanted`, against
    the samples `drawn` without it (as many, the same classes): its acceptance rate, the slots never accepted, and for
    the accepted samples and for the drawn ones, the Frechet distance, precision and recall (metrics.monitor) to the test
    images' features `real` -- the classifier's, the one that rejects: precision is what rejection buys, recall what
    it may cost."""
    accepted, acceptance, never = explorer.sample_confident(len(wanted), classifier, REJECTION_THRESHOLD, y=wanted)
    accepted, drawn = features(classifier, accepted), features(classifier, drawn)
    precision, recall = precision_recall(real, accepted)
    drawn_precision, drawn_recall = precision_recall(real, drawn)
    return {
        "threshold": REJECTION_THRESHOLD,
        "acceptance_rate": acceptance,
        "never_accepted": never,
        "n": len(wanted),
        "frechet_distance": frechet_distance(accepted, real),
        "precision": precision,
        "recall": recall,
        "drawn_precision": drawn_precision,
        "drawn_recall": drawn_recall,
    }


GAN_SAMPLES = 2000  # samples (and test images) a GAN's evaluation compares


def gan_quality(model: models.GAN, ds, classifier: models.Classifier, n: int = GAN_SAMPLES) -> dict:
    """A generator's samples against n test images (a seeded subset), by the training monitor's measures
    (metrics.monitor.Monitor): Frechet distance, KID, precision and recall, coverage; a conditional model
    samples the test images' conditions and is scored on condition accuracy, an InfoGAN on the agreement of
    its categorical code with the classes."""
    index = np.arange(len(ds)) if len(ds) <= n else np.sort(np.random.default_rng(0).choice(len(ds), n, replace=False))
    y = None
    if model.condition_labels:
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
