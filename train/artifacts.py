"""What a finished run leaves beside its weights: stats.safetensors (the explorer's statistics), samples.png and the
progress/ grids, training.json, the model card README.md with evaluation.json, and decoder.onnx for the page."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import data
import metrics
import models
from latent import latent_statistics, sampled_statistics, save_stats
from models import export

from .config import TrainConfig
from .inputs import conditions, split
from .validation import dataset_classifier

CURVES_NAME = "curves.png"  # a GAN's monitor curves


# stats.safetensors stays small (the shipped checkpoints share a 40 MB budget): at most HELDOUT held-out latents and at
# most HELDOUT_FLOATS floats of them (a VQ-VAE's latent is a whole grid), EXAMPLES pictures, and PCA directions
HELDOUT = 1000  # held-out images encoded into stats: attribute methods that fit (SVM, ...) and ROC-AUC use them
HELDOUT_FLOATS = 125_000  # 0.5 MB
EXAMPLES = 16  # held-out images stored as uint8 so the explorer has pictures to pick without the dataset
PCA_COMPONENTS = 64  # principal directions stored (all of them for latents up to this size)...
PCA_FLOATS = 65_536  # ...and at most this many floats of them (0.25 MB)


def spread(index: np.ndarray, k: int) -> np.ndarray:
    """k of the sorted indices, evenly spaced over them (all of them if there are no more than k). The first k of
    a sorted index would come from one end of the dataset, which may be ordered: dSprites runs through its factor
    grid shape first, an image folder class by class."""
    if len(index) <= k:
        return index
    return index[np.linspace(0, len(index) - 1, k).round().astype(int)]


@torch.no_grad()
def write_stats(model, ds, train_idx, val_idx, y_all, device, limit, out: Path, classifier: models.Classifier | None = None) -> None:
    """Encode training images and store their aggregate-posterior statistics (latent/stats.py),
    plus encoded held-out images with their labels and a few example pictures, so the
    explorer needs no dataset to start. A GAN has no encoder: statistics of its prior's draws, labelled by
    `classifier` (latent.sampled_statistics), and held-out pictures to invert."""
    model.eval()
    if not model.has_encoder:
        stats, meta = sampled_statistics(model, n=limit or 10_000, classifier=classifier)
        stats["examples"] = torch.from_numpy(np.asarray(ds.images[spread(val_idx, EXAMPLES)]))
        with atomic(out / "stats.safetensors") as tmp:
            save_stats(tmp, stats, meta)
        return

    def encode(index):
        means, kls = [], []
        for start in range(0, len(index), 256):
            idx = index[start : start + 256]
            posterior = model.encode(ds.batch(idx).to(device), None if y_all is None else y_all[idx].to(device))
            means.append(posterior.mean.float().cpu())
            if not posterior.deterministic:
                kls.append(posterior.kl().float().cpu())
        return torch.cat(means), torch.cat(kls) if kls else None

    index = np.sort(train_idx[:limit] if limit else train_idx)
    means, kl = encode(index)
    stats, meta = latent_statistics(
        means,
        kl,
        attributes=None if ds.attributes is None else torch.from_numpy(ds.attributes[index]),
        attribute_names=ds.attribute_names,
        labels=None if ds.labels is None else torch.from_numpy(ds.labels[index]),
        label_names=ds.label_names,
        max_components=min(PCA_COMPONENTS, PCA_FLOATS // means.shape[1]),
    )
    for level in model.code_levels:  # the Codebook tab's usage histograms
        stats[metrics.counts_key(level)] = metrics.code_counts(model, means.to(device), level).float().cpu()
    # a large latent (a VQ-VAE's grid) keeps fewer held-out rows, so stats.safetensors stays a few MB
    heldout = spread(val_idx, min(HELDOUT, max(EXAMPLES, HELDOUT_FLOATS // model.latent_shape[0])))
    stats["heldout_latents"] = encode(heldout)[0]
    stats["examples"] = torch.from_numpy(np.asarray(ds.images[heldout[:EXAMPLES]]))  # uint8 [E, H, W, C]
    for key, values in (("attributes", ds.attributes), ("labels", ds.labels)):
        if values is not None:
            stats[f"heldout_{key}"] = torch.from_numpy(values[heldout])  # rows match heldout_latents; examples are the first E
    if y_all is not None:
        stats["heldout_conditions"] = y_all[heldout]
    with atomic(out / "stats.safetensors") as tmp:
        save_stats(tmp, stats, meta)


@torch.no_grad()
def progress_grid(model, x, y, generator_seed: int = 0, sample_rows: int = 2) -> np.ndarray:
    """uint8 image: a row of inputs, a row of their reconstructions (models with an encoder), then rows of prior
    samples (a conditional model's column c takes input c's condition)."""
    model.eval()
    n = x.shape[0]
    generator = torch.Generator(model.device).manual_seed(generator_seed)
    z = model.sample_latent(n * sample_rows, generator=generator)
    y_samples = None if y is None else y.repeat(sample_rows, *([1] * (y.ndim - 1)))
    reconstructions = [model.reconstruct(x, y)] if model.has_encoder else []
    rows = torch.cat([x, *reconstructions, model.decode(z, y_samples)])
    model.train()
    return data.tile(data.to_uint8(rows), columns=n)


@torch.no_grad()
def prior_grid(prior, images: torch.Tensor, rows: int = 6, columns: int = 8) -> np.ndarray:
    """uint8 image of prior samples decoded by its VQ-VAE; a class-conditional prior's row r draws class r. A prior
    over one level of a VQ-VAE-2 draws that level (given the codes of `images` at its condition level) and keeps the
    images' codes at the other level: it shows what its level holds."""
    generator = torch.Generator().manual_seed(0)
    n, k, vqvae = rows * columns, prior.config.num_classes, prior.vqvae
    y = torch.arange(rows).repeat_interleave(columns) % k if k else None
    if len(vqvae.code_levels) == 1:
        codes = prior.sample(n, y=y, generator=generator)
    else:
        codes = vqvae.codes(vqvae.encode(images[:n].to(vqvae.device)).mean)
        given = codes[prior.config.condition_level] if prior.config.condition_level else None
        codes[prior.config.level] = prior.sample(n, y=y, generator=generator, given=given).to(vqvae.device)
    return data.tile(data.to_uint8(vqvae.decode(vqvae.embed(codes))), columns=columns)


def rewrite_stats(out: Path) -> None:
    """Write the stats.safetensors of a finished run again, from its training.json (data, split, classifier): for
    checkpoints written before the statistics gained a field."""
    record = json.loads((out / "training.json").read_text())
    cfg = TrainConfig(**record["train_config"])
    ds = data.load(cfg.data, split="train", **data.recorded(cfg.data, record["data_options"]))
    model = models.load(out)
    y_all, _ = conditions(ds, cfg.condition, type(model.config).__dataclass_fields__)
    classifier = None if model.has_encoder else dataset_classifier(cfg, ds)
    write_stats(model, ds, *split(len(ds), cfg), y_all, model.device, cfg.stats_images, out, classifier)


def write_card(out: Path, model=None, measure: bool = True) -> dict:
    """Measure the checkpoint in `out` on held-out data (metrics.evaluate, stored as evaluation.json; measure=False:
    the stored one) and write its model card README.md from that and training.json. Returns the evaluation."""
    model = model or models.load(out)
    summary = json.loads((out / "training.json").read_text())
    if measure:
        evaluation = metrics.evaluate(out)
        write_text(out / metrics.EVALUATION_NAME, json.dumps(evaluation, indent=2))
    else:
        evaluation = json.loads((out / metrics.EVALUATION_NAME).read_text())
    caption = None
    if (out / "samples.png").exists():  # a GAN's card also shows its monitor's curves
        caption = model.samples_caption() + (f" Monitor curves: ![curves]({CURVES_NAME})" if (out / CURVES_NAME).exists() else "")
    with scratch(out, ".card-", out / models.CARD_NAME) as tmp:  # the mixin writes the card with the weights: keep the card
        model.save(
            tmp,
            card=model_card(summary, evaluation, caption, model.card_rows() + latent_prior_row(out)),
            metadata=card_metadata(out.name, summary, evaluation, model),
        )
        os.replace(tmp / models.CARD_NAME, out / models.CARD_NAME)
    return evaluation


def latent_prior_row(out: Path) -> str:
    """The card's row for a second-stage prior the checkpoint carries (prior.json's training record), else ""."""
    from models.latent_prior import training_record

    try:
        t = training_record(out)
    except ValueError:  # a damaged prior.json: the model loads without it (a warning says so), the card says nothing
        return ""
    if not t:
        return ""
    return (
        f"| second-stage prior | Dai & Wipf 2019, in prior.json + prior.safetensors: `{t.get('command', '?')}`; seed {t.get('seed')}, "
        f"{t.get('epochs')} epochs over the codes of {t.get('images')} training images, u drawn at spread {t.get('spread', 1):.2f} "
        f"(fitted so the draws spread as the training codes), {t.get('seconds', 0) / 60:.1f} min "
        f"({t.get('threads')} thread(s), {t.get('hardware', '?')}) |\n"
    )


def card_metadata(name: str, s: dict, evaluation: dict, model) -> dict:
    """The model card's YAML fields beyond the library's: the dataset (its Hub id where it has one), tags, and the
    held-out measurements as a model-index, which the Hub shows as evaluation results."""
    from huggingface_hub import EvalResult

    version = s["data_options"].get("version")
    dataset = f"{s['data']} version {version}" if version else s["data"]
    results = [
        EvalResult(
            task_type=model.pipeline_tag,
            dataset_type=data.HUB_DATASETS.get(s["data"], s["data"]),
            dataset_name=dataset,
            dataset_split=evaluation["split"],
            metric_type=kind,
            metric_name=label,
            metric_value=round(value, 4),
        )
        for kind, label, value in metrics.headline(evaluation)
    ]
    metadata = {"tags": [model.config.model_type, s["data"]], "model_name": name, "eval_results": results or None}
    if s["data"] in data.HUB_DATASETS:
        metadata["datasets"] = [data.HUB_DATASETS[s["data"]]]
    return metadata


def model_card(s: dict, evaluation: dict, caption: str | None, rows: str = "") -> str:
    """Model card body: where the checkpoint came from, what it cost, what it measures (rows: extra table rows)."""
    options = " ".join(f"--data-{k.replace('_', '-')} {v}" for k, v in s["data_options"].items())
    val = "\n".join(f"| {k} | {v:.4g} |" for k, v in s["validation"].items())
    held_out = "\n".join(f"| {name} | {value} |" for name, value in metrics.summary(evaluation))
    picture = f"\n![samples](samples.png)\n\n{caption}\n" if caption else ""
    data_name = f"`{s['data']}`" + (f" ({options})" if options else "")
    monitor = f", plus {s['monitor_seconds'] / 60:.1f} min in the sample monitor" if s.get("monitor_seconds") else ""
    return f"""Trained with Latent Lab on {data_name}.

| | |
|---|---|
| dataset | {data_name}: the train split, {s["train_config"]["val_fraction"]:.0%} of it held out for validation |
| preset | {f"`python -m train --preset {s['preset']}`" if s["preset"] else "(none)"} |
| command | `{s["command"]}` |
| seed | {s["seed"]} |
| steps / epochs | {s["steps"]} / {s["epochs"]} |
| training time | {s["seconds"] / 60:.1f} min on {s["hardware"]} ({s["processes"]} process(es), {s["train_config"]["threads"] or "all"} thread(s) each, {s["images_per_second"]:.0f} images/s){monitor} |
{rows}
Measured on the `{evaluation["split"]}` split ({evaluation["images"]} images) by `python -m metrics`:

| metric | value |
|---|---|
{held_out}

{"The training monitor at the kept checkpoint (validation images; the lowest Frechet distance of the run):" if "frechet_distance" in s["validation"] else "Validation at the best epoch (the training objective and its parts):"}

| metric | value |
|---|---|
{val}
{picture}"""


def hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {os.cpu_count()} cores"


def export_for_page(model, out: Path) -> None:
    """decoder.onnx beside the weights, so the page decodes this model's slider drags (models.export); where the
    decoder cannot run in a page, or onnx is not installed, the sliders decode on the server."""
    if export.exportable(model) is not None:
        return
    try:
        with disk_errors(out / export.DECODER_NAME):
            export.export_decoder(model, out)
    except DiskFull:  # export_decoder writes both files in place: drop a half-written pair (a stale one is refused anyway)
        for name in (export.DECODER_NAME, export.RECORD_NAME):
            (out / name).unlink(missing_ok=True)
        raise
    except ImportError as err:
        print(f"{out}: {export.DECODER_NAME} not written ({err}; pip install -r requirements-dev.txt): its sliders decode on the server")


# ----------------------------------------------------------------------------- atomic files
# Every file of a run is written through atomic() (or, for a file that is appended to, disk_errors()): a file is either
# its previous content or the whole new one, no temporary is left behind, and a full disk is one DiskFull naming the file.

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFull(OSError):
    """A file of a run could not be written: its disk (or quota) is full. str(): one line naming the file."""

    def __init__(self, path: str | os.PathLike, cause: BaseException | None = None):
        code = cause.errno if isinstance(cause, OSError) and cause.errno in DISK_FULL else errno.ENOSPC
        super().__init__(code, os.strerror(code), str(path))

    def __str__(self) -> str:
        return f"out of disk space writing {self.filename} ({self.strerror}): free some space and rerun with --resume"


def disk_full(err: BaseException) -> bool:
    """Whether err says the disk is full: an OSError's errno, or the message of a library that wraps one in its own
    error type (safetensors: "... (os error 28)")."""
    if isinstance(err, OSError) and err.errno in DISK_FULL:
        return True
    text = str(err)
    return any(f"(os error {code})" in text for code in DISK_FULL) or "No space left on device" in text


@contextlib.contextmanager
def disk_errors(path: str | os.PathLike) -> Iterator[None]:
    """Writes inside the block that fail on a full disk raise DiskFull(path); other errors pass through as they are."""
    try:
        yield
    except Exception as err:
        if disk_full(err) and not isinstance(err, DiskFull):
            raise DiskFull(path, err) from err
        raise


@contextlib.contextmanager
def atomic(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary name beside `path` (path + ".tmp") for the block to write, renamed over `path` when the block
    succeeds. On any failure (Ctrl-C included) the temporary is removed and `path` keeps its previous content; a full
    disk raises DiskFull(path)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with disk_errors(path):
            yield tmp
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def scratch(out: Path, prefix: str, target: str | os.PathLike) -> Iterator[Path]:
    """A temporary folder in `out` for writing several files to move into place (`target`: what a full disk names);
    removed afterwards, whatever happens."""
    tmp = None
    try:
        with disk_errors(target):
            tmp = Path(tempfile.mkdtemp(dir=out, prefix=prefix))
            yield tmp
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def write_text(path: Path, text: str) -> None:
    with atomic(path) as tmp:
        tmp.write_text(text)


def write_bytes(path: Path, data: bytes | memoryview) -> None:
    with atomic(path) as tmp:
        tmp.write_bytes(data)


def write_png(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")
