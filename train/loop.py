"""The training loop of the autoencoder family, top to bottom:
config -> data -> model -> loop -> save.

A run directory holds the checkpoint (config.json, model.safetensors, README.md) of the
best validation epoch, stats.safetensors, samples.png, metrics.jsonl, training.json,
progress/ grids, and, while the run is unfinished, resume.pt. Every file is written to
a temporary name and renamed into place, so a run killed at any moment leaves the last
good checkpoint intact, and `--resume` replays from it to the same weights an
uninterrupted run ends with (shuffling is a function of seed and epoch; the RNG state
is saved with the optimizer).
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image
from tqdm.auto import tqdm

import data
import metrics
import models
from models import export
from latent import latent_statistics, sampled_statistics, save_stats
from metrics.monitor import Monitor, cells_for, collapse_warning, plot_curves

from .config import TrainConfig

RESUME = "resume.pt"
CURVES_NAME = "curves.png"  # a GAN's monitor curves


class NonFiniteLoss(RuntimeError):
    pass


@dataclass
class Progress:
    """Where the run is; saved with every resumable checkpoint."""

    step: int = 0
    epoch: int = 0
    batch: int = 0  # next batch within the epoch
    best: float = math.inf  # best score so far: validation loss, or a GAN's Frechet distance
    bad_checks: int = 0  # checks since the best
    best_coverage: float = 0.0  # a GAN's best monitor coverage, for the collapse warning
    monitor_seconds: float = 0.0  # time spent in a GAN's monitor (not in `seconds`)
    seconds: float = 0.0
    images: int = 0


def train(model_type: str, model_fields: dict, cfg: TrainConfig, command: str = "") -> Path:
    """Train `model_type` with architecture `model_fields` under `cfg`; returns the run directory."""
    # --- processes and device
    world, rank = int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("RANK", 0))
    use_cuda = cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available())
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but no CUDA device is available; use --device auto or cpu")
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    torch.set_num_threads(cfg.threads or max(1, (os.cpu_count() or 1) // world))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    lead = rank == 0
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; name a directory for the checkpoint")
    if lead:
        out.mkdir(parents=True, exist_ok=True)  # an --out that cannot be written fails now, not after the first epoch

    # --- data: a fixed validation slice of the training split; a generated dataset's version is pinned in the record
    data_options = data.pinned(cfg.data, cfg.data_options)
    ds = data.load(cfg.data, split="train", **data_options)
    train_idx, val_idx = split(len(ds), cfg)
    accepted = models.config_class(model_type).__dataclass_fields__
    y_all, condition_fields = conditions(ds, cfg.condition, accepted)
    per_rank = cfg.batch_size // world
    if per_rank < 1 or len(train_idx) < cfg.batch_size:
        raise ValueError(f"--batch-size {cfg.batch_size} does not fit {len(train_idx)} training images on {world} processes")

    # --- model
    # a prior models the codes of a frozen VQ-VAE (--vqvae): its grid and codebook come from it
    vqvae = vqvae_for(model_fields.get("vqvae"), ds, device) if model_type == "pixelcnn" else None
    derived = {"image_size": ds.image_size, "channels": ds.channels, **condition_fields}  # set from the data...
    if vqvae is not None:
        derived |= models.PixelCNN.fields_for(vqvae)  # ...and from the VQ-VAE
    derived = {k: v for k, v in derived.items() if k in accepted}  # a prior's config has no image fields
    for name, value in derived.items():
        if name in model_fields and model_fields[name] != value:
            raise ValueError(f"--{name.replace('_', '-')} {model_fields[name]} does not match {value!r}, set from the data ({cfg.data}){' and --vqvae' if vqvae is not None else ''}; leave it out")
    fields = {**model_fields, **derived}
    torch.manual_seed(cfg.seed)
    model = models.MODELS[model_type](models.config_class(model_type)(**fields)).to(device)
    if vqvae is not None:
        model.attach(vqvae)
    lr = cfg.lr or model.default_lr
    # one optimizer per training phase: a GAN's discriminator and generator each have their own Adam
    optimizers = {
        phase: torch.optim.AdamW(model.phase_parameters(phase), lr=lr, betas=model.adam_betas, weight_decay=cfg.weight_decay) for phase in model.PHASES
    }  # fmt: skip
    adversarial = len(optimizers) > 1
    # a GAN has no encoder, hence no validation loss: a monitor measures its samples (an AAE validates its reconstructions)
    monitored = adversarial and not isinstance(model, models.Encodable)
    progress = Progress()
    torch.manual_seed(cfg.seed + rank)  # sampling noise differs across processes, weights do not
    if cfg.resume and (out / RESUME).exists():
        progress = _load_resume(out / RESUME, model, optimizers, rank)
    elif cfg.resume:
        print(f"--resume: no {RESUME} in {out}; starting from the beginning")
    elif (out / RESUME).exists():
        raise ValueError(f"{out} holds an unfinished run ({RESUME}); pass --resume to continue it, or choose another --out")
    if lead:
        out.mkdir(parents=True, exist_ok=True)
        _truncate_metrics(out / "metrics.jsonl", progress.step)
    # a phase leaves the other phases' parameters without gradients: DDP must be told
    net = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=adversarial) if world > 1 else model
    generative = isinstance(model, models.LatentModel)
    bf16 = cfg.precision == "bfloat16" or (cfg.precision == "auto" and use_cuda)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)
    fixed = _fixed_batch(ds, val_idx, y_all, device)
    steps_per_epoch = len(train_idx) // cfg.batch_size  # drop the last partial batch: every step sees a full batch
    total_steps = min(cfg.epochs * steps_per_epoch, cfg.max_steps or math.inf)
    # the monitor keeps the GAN with the best Frechet distance
    monitor = gan_monitor(cfg, ds, val_idx, train_idx, y_all, model) if monitored and lead else None

    last_check = -1  # the step of the last check

    def check() -> bool:
        """Score the model (validation loss, or the monitor's Frechet distance), keep it if it is the best so
        far, and say whether patience has run out."""
        nonlocal last_check
        last_check = progress.step
        if monitor is not None:
            started = time.perf_counter()
            result = monitor(model)
            progress.monitor_seconds += time.perf_counter() - started
            score = result["frechet_distance"]
            progress.best_coverage = max(progress.best_coverage, result.get("coverage", 0.0))
            _append_metrics(out, {"step": progress.step, "epoch": progress.epoch, **{f"monitor_{k}": v for k, v in result.items()}})
            print(f"step {progress.step}: " + ", ".join(f"{k} {v:.4g}" for k, v in result.items()))
            warning = collapse_warning(result["coverage"], progress.best_coverage) if "coverage" in result else None
            if warning:
                print(f"step {progress.step}: warning: {warning}")
                _append_metrics(out, {"step": progress.step, "epoch": progress.epoch, "warning": warning})
            plot_curves(out / "metrics.jsonl", out / CURVES_NAME)
        elif monitored:  # a GAN's other processes: the lead measures, every process takes its verdict below
            score = math.inf
        else:
            val = evaluate(model, ds, val_idx, y_all, device, cfg.batch_size, progress.step)
            score = val["loss"]
            if lead:
                _append_metrics(out, {"step": progress.step, "epoch": progress.epoch, **{f"val_{k}": v for k, v in val.items()}})
                print(f"epoch {progress.epoch + 1}: " + ", ".join(f"val {k} {v:.4g}" for k, v in val.items()))
        if world > 1 and monitored:
            score = _broadcast(score, device)
        if score < progress.best:
            progress.best, progress.bad_checks = score, 0
            if lead:
                _save_model_atomic(model, out, cfg.save_dtype)
        else:
            progress.bad_checks += 1
        if cfg.patience and progress.bad_checks >= cfg.patience:
            if lead:
                print(f"early stop: no better {'Frechet distance' if monitored else 'validation loss'} for {cfg.patience} checks")
            return True
        return False

    # --- loop
    stop = progress.step >= cfg.max_steps > 0
    while progress.epoch < cfg.epochs and not stop:
        epoch_order = train_idx[np.random.default_rng([cfg.seed, progress.epoch]).permutation(len(train_idx))]
        model.train()
        bar = tqdm(total=steps_per_epoch, initial=progress.batch, desc=f"epoch {progress.epoch + 1}/{cfg.epochs}", disable=not lead, dynamic_ncols=True)
        started = time.perf_counter()
        for b in range(progress.batch, steps_per_epoch):
            batch = epoch_order[b * cfg.batch_size : (b + 1) * cfg.batch_size][rank * per_rank : (rank + 1) * per_rank]
            x = ds.batch(np.sort(batch)).to(device, non_blocking=True)
            y = None if y_all is None else y_all[np.sort(batch)].to(device)
            logged = {}
            for phase in model.phases(progress.step):
                with autocast:
                    parts = net(x, y, step=progress.step, phase=phase)
                if not torch.isfinite(parts["loss"]):
                    raise NonFiniteLoss(
                        f"the {'' if phase == 'model' else phase + ' '}loss became {parts['loss'].item()} at step {progress.step} ("
                        + ", ".join(f"{k}={v.item():.4g}" for k, v in parts.items())
                        + f"); stopped. The last good checkpoint in {out} is kept; try a lower --lr or --grad-clip"
                    )
                optimizer = optimizers[phase]
                optimizer.zero_grad(set_to_none=True)
                parts["loss"].backward()
                for group in optimizer.param_groups:  # a function of the step alone: a resumed run follows the same schedule
                    group["lr"] = learning_rate(cfg, lr * model.phase_lr_scale(phase), progress.step, total_steps)
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(optimizer.param_groups[0]["params"], cfg.grad_clip)
                optimizer.step()
                logged |= {(f"{phase}_loss" if k == "loss" and adversarial else k): v.item() for k, v in parts.items()}
            progress.step, progress.batch = progress.step + 1, b + 1
            progress.images += cfg.batch_size
            bar.update(1)
            bar.set_postfix({k: f"{v:.4g}" for k, v in logged.items()}, refresh=False)
            if lead and progress.step % cfg.log_every == 0:
                _append_metrics(out, {"step": progress.step, "epoch": progress.epoch, **logged})
            if lead and generative and cfg.sample_every and progress.step % cfg.sample_every == 0:
                _write_png(out / "progress" / f"step_{progress.step:07d}.png", progress_grid(model, *fixed))
            stop = progress.step >= cfg.max_steps > 0
            if monitored and cfg.monitor_every and progress.step % cfg.monitor_every == 0:
                progress.seconds += time.perf_counter() - started  # the monitor's time is counted apart
                stop = check() or stop
                started = time.perf_counter()
            if cfg.checkpoint_every and progress.step % cfg.checkpoint_every == 0 and not stop:
                progress.seconds += time.perf_counter() - started
                started = time.perf_counter()
                _save_resume(out, model, optimizers, progress, rank, world)
            if stop:
                break
        bar.close()
        progress.seconds += time.perf_counter() - started

        # --- end of an epoch: validation (a GAN monitored by steps has no epoch check), early stopping, checkpoint
        if progress.batch == steps_per_epoch:
            if not (monitored and cfg.monitor_every):
                stop = check() or stop
            progress.epoch, progress.batch = progress.epoch + 1, 0
        if not stop and progress.epoch < cfg.epochs:
            _save_resume(out, model, optimizers, progress, rank, world)

    # --- save: the best weights, their statistics, samples and card
    if monitored and last_check != progress.step:
        check()  # a GAN's steps since its last check are measured too
    if lead:
        if not (out / models.base.WEIGHTS_NAME).exists():  # stopped (max_steps) before any validation
            _save_model_atomic(model, out, cfg.save_dtype)
        best = models.load(out, device=device)
        if generative:  # a classifier has no latents to describe and nothing to sample
            write_stats(best, ds, train_idx, val_idx, y_all, device, cfg.stats_images, out, monitor and monitor.classifier)
            _write_png(out / "samples.png", progress_grid(best, *fixed, sample_rows=6))
        if vqvae is not None:
            best.attach(vqvae)
            _write_png(out / "samples.png", prior_grid(best))
        val = monitor(best) if monitor is not None else evaluate(best, ds, val_idx, y_all, device, cfg.batch_size, progress.step)
        summary = {
            "model_type": model_type, "data": cfg.data, "data_options": data_options, "preset": cfg.preset,
            "command": command, "seed": cfg.seed, "steps": progress.step, "epochs": progress.epoch,
            "seconds": round(progress.seconds, 1), "monitor_seconds": round(progress.monitor_seconds, 1), "images_per_second": round(progress.images / max(progress.seconds, 1e-9), 1),
            "processes": world, "hardware": hardware(device), "validation": val, "train_config": asdict(cfg),
        }  # fmt: skip
        _write_text(out / "training.json", json.dumps(summary, indent=2, default=str))
        write_card(out, best)
        export_for_page(best, out)
        (out / RESUME).unlink(missing_ok=True)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return out


def export_for_page(model, out: Path) -> None:
    """decoder.onnx beside the weights, so the page decodes this model's slider drags (models.export); where the
    decoder cannot run in a page, or onnx is not installed, the sliders decode on the server."""
    if export.exportable(model) is not None:
        return
    try:
        export.export_decoder(model, out)
    except ImportError as err:
        print(f"{out}: {export.DECODER_NAME} not written ({err}; pip install -r requirements-dev.txt): its sliders decode on the server")


def gan_monitor(cfg: TrainConfig, ds, val_idx, train_idx, y_all, model) -> Monitor:
    """The monitor of a GAN's run: the first monitor_images validation images (and their conditions), measured by
    the dataset's classifier; on data with attributes (faces), coverage over the training data's attribute cells."""
    classifier = dataset_classifier(cfg, ds).to(model.device).eval()
    index = val_idx[: cfg.monitor_images]
    return Monitor(classifier, ds.batch(index), None if y_all is None else y_all[index], cells_for(classifier, ds, train_idx))


def dataset_classifier(cfg: TrainConfig, ds) -> models.Classifier:
    """--monitor-classifier, else the shipped classifier of the dataset at its image size (ValueError if none)."""
    if cfg.monitor_classifier:
        classifier = models.load(cfg.monitor_classifier)
    else:
        classifier = metrics.classifier_for(cfg.data, ds.image_size, data.pinned(cfg.data, cfg.data_options))
        if classifier is None:
            raise ValueError(
                f"a GAN's training monitor measures samples with a classifier of {cfg.data} at {ds.image_size}x{ds.image_size}, and none ships: "
                f"train one (python -m train classifier --data {cfg.data} --condition labels|attributes --out DIR) and pass --monitor-classifier DIR"
            )
    if not isinstance(classifier, models.Classifier) or (classifier.config.image_size, classifier.config.channels) != (ds.image_size, ds.channels):
        raise ValueError(f"--monitor-classifier {cfg.monitor_classifier}: not a classifier of {ds.image_size}x{ds.image_size} images with {ds.channels} channel(s)")
    return classifier


def split(n: int, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """(training indices in a seeded order, sorted validation indices): the fixed validation slice of a run."""
    order = np.random.default_rng(cfg.seed).permutation(n)
    n_val = max(1, int(round(cfg.val_fraction * n)))
    return order[n_val:], np.sort(order[:n_val])


def _broadcast(value: float, device) -> float:
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(tensor, 0)
    return tensor.item()


def learning_rate(cfg: TrainConfig, lr: float, step: int, total_steps: int) -> float:
    """The learning rate of optimizer step `step` (0-based) out of total_steps, starting at lr."""
    if cfg.lr_schedule == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * step / total_steps))
    return lr


def conditions(ds, spec: str, accepted: dict) -> tuple[torch.Tensor | None, dict]:
    """What a conditional model (one whose config has num_classes) is conditioned on: class labels or chosen
    attributes, and the config fields that say so. A model whose num_classes defaults to 0 (a prior) may be unconditional."""
    if "num_classes" not in accepted:
        if spec:
            raise ValueError("--condition only applies to conditional models (cvae, pixelcnn) and classifiers")
        return None, {}
    if not spec and accepted["num_classes"].default == 0:
        return None, {}
    if spec not in ("", "labels") and "num_attributes" not in accepted:
        raise ValueError(f"this model conditions on class labels only (--condition labels), not on {spec!r}")
    spec = spec or ("labels" if ds.labels is not None else "")
    if spec == "labels":
        if ds.labels is None:
            raise ValueError(f"dataset {ds.name} has no class labels; condition on attributes: --condition {','.join((ds.attribute_names or ['NAME'])[:4])}")
        return ds.targets(), {"num_classes": len(ds.label_names), "num_attributes": 0, "condition_names": tuple(ds.label_names)}
    names = ds.attribute_names or [] if spec == "attributes" else [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise ValueError(f"a conditional model needs --condition labels or attribute names; {ds.name} has no labels")
    # ds.targets raises, listing the dataset's attributes, for an unknown name
    return ds.targets(names), {"num_classes": 0, "num_attributes": len(names), "condition_names": tuple(names)}


def vqvae_for(source: str | None, ds, device) -> models.VQVAE:
    """The frozen VQ-VAE a prior is trained on, checked against the data."""
    if not source:
        raise ValueError("a pixelcnn prior models a VQ-VAE's codes: pass --vqvae DIR_OR_REPO_ID (a trained vqvae checkpoint)")
    vqvae = models.load(source, device)
    if not isinstance(vqvae, models.VQVAE):
        raise ValueError(f"--vqvae {source} is a {type(vqvae).__name__}, not a VQ-VAE")
    cfg = vqvae.config
    if (cfg.image_size, cfg.channels) != (ds.image_size, ds.channels):
        raise ValueError(
            f"--vqvae {source} takes {cfg.image_size}x{cfg.image_size} images with {cfg.channels} channel(s); the data ({ds.name}) "
            f"has {ds.image_size}x{ds.image_size} with {ds.channels}: train the prior on the VQ-VAE's dataset"
        )
    return vqvae.eval().requires_grad_(False)


@torch.no_grad()
def evaluate(model, ds, index, y_all, device, batch_size, step) -> dict[str, float]:
    """Mean loss parts, pixel MSE and PSNR over `index`, with fixed noise so epochs compare fairly."""
    model.eval()
    generator = torch.Generator(device).manual_seed(0)
    totals: dict[str, float] = {}
    code_counts = 0
    for start in range(0, len(index), batch_size):
        idx = index[start : start + batch_size]
        x = ds.batch(idx).to(device)
        y = None if y_all is None else y_all[idx].to(device)
        parts = {k: v.item() for k, v in model.loss(x, y, step=step, generator=generator).items()}
        if isinstance(model, models.Encodable):
            z = model.encode(x, y).mode()
            parts["mse"] = (model.decode(z, y) - x).pow(2).mean().item()  # the reconstruction through the posterior mode
        if isinstance(model, models.VQVAE):
            code_counts = code_counts + metrics.code_counts(model, z)
        for k, v in parts.items():
            totals[k] = totals.get(k, 0.0) + v * len(idx)
    model.train()
    result = {k: v / len(index) for k, v in totals.items()}
    if "mse" in result:
        result["psnr"] = metrics.psnr(result["mse"])
    if isinstance(model, models.VQVAE):  # over the whole validation set: a batch's perplexity depends on the batch size
        result.update(metrics.code_usage(code_counts))
    return result


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
    if not isinstance(model, models.Encodable):
        stats, meta = sampled_statistics(model, n=limit or 10_000, classifier=classifier)
        stats["examples"] = torch.from_numpy(np.asarray(ds.images[spread(val_idx, EXAMPLES)]))
        save_stats(out / "stats.safetensors.tmp", stats, meta)
        os.replace(out / "stats.safetensors.tmp", out / "stats.safetensors")
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
    if isinstance(model, models.VQVAE):  # the Codebook tab's usage histogram
        stats["code_counts"] = metrics.code_counts(model, means.to(device)).float().cpu()
    # a large latent (a VQ-VAE's grid) keeps fewer held-out rows, so stats.safetensors stays a few MB
    heldout = spread(val_idx, min(HELDOUT, max(EXAMPLES, HELDOUT_FLOATS // model.latent_shape[0])))
    stats["heldout_latents"] = encode(heldout)[0]
    stats["examples"] = torch.from_numpy(np.asarray(ds.images[heldout[:EXAMPLES]]))  # uint8 [E, H, W, C]
    for key, values in (("attributes", ds.attributes), ("labels", ds.labels)):
        if values is not None:
            stats[f"heldout_{key}"] = torch.from_numpy(values[heldout])  # rows match heldout_latents; examples are the first E
    if y_all is not None:
        stats["heldout_conditions"] = y_all[heldout]
    tmp = out / "stats.safetensors.tmp"
    save_stats(tmp, stats, meta)
    os.replace(tmp, out / "stats.safetensors")


@torch.no_grad()
def progress_grid(model, x, y, generator_seed: int = 0, sample_rows: int = 2) -> np.ndarray:
    """uint8 image: a row of inputs, a row of their reconstructions (models with an encoder), then rows of prior
    samples (a conditional model's column c takes input c's condition)."""
    model.eval()
    n = x.shape[0]
    generator = torch.Generator(model.device).manual_seed(generator_seed)
    z = model.sample_latent(n * sample_rows, generator=generator)
    y_samples = None if y is None else y.repeat(sample_rows, *([1] * (y.ndim - 1)))
    reconstructions = [model.reconstruct(x, y)] if isinstance(model, models.Encodable) else []
    rows = torch.cat([x, *reconstructions, model.decode(z, y_samples)])
    model.train()
    return data.tile(data.to_uint8(rows), columns=n)


@torch.no_grad()
def prior_grid(prior, rows: int = 6, columns: int = 8) -> np.ndarray:
    """uint8 image of prior samples decoded by its VQ-VAE; a class-conditional prior's row r draws class r."""
    generator = torch.Generator().manual_seed(0)
    k = prior.config.num_classes
    y = torch.arange(rows).repeat_interleave(columns) % k if k else None
    codes = prior.sample(rows * columns, y=y, generator=generator)
    vqvae = prior.vqvae
    return data.tile(data.to_uint8(vqvae.decode(vqvae.embed(codes))), columns=columns)


def rewrite_stats(out: Path) -> None:
    """Write the stats.safetensors of a finished run again, from its training.json (data, split, classifier): for
    checkpoints written before the statistics gained a field."""
    record = json.loads((out / "training.json").read_text())
    cfg = TrainConfig(**record["train_config"])
    ds = data.load(cfg.data, split="train", **data.recorded(cfg.data, record["data_options"]))
    model = models.load(out)
    y_all, _ = conditions(ds, cfg.condition, type(model.config).__dataclass_fields__)
    classifier = None if isinstance(model, models.Encodable) else dataset_classifier(cfg, ds)
    write_stats(model, ds, *split(len(ds), cfg), y_all, model.device, cfg.stats_images, out, classifier)


def write_card(out: Path, model=None, measure: bool = True) -> dict:
    """Measure the checkpoint in `out` on held-out data (metrics.evaluate, stored as evaluation.json; measure=False:
    the stored one) and write its model card README.md from that and training.json. Returns the evaluation."""
    model = model or models.load(out)
    summary = json.loads((out / "training.json").read_text())
    if measure:
        evaluation = metrics.evaluate(out)
        _write_text(out / metrics.EVALUATION_NAME, json.dumps(evaluation, indent=2))
    else:
        evaluation = json.loads((out / metrics.EVALUATION_NAME).read_text())
    tmp = Path(tempfile.mkdtemp(dir=out, prefix=".card-"))
    caption = samples_caption(model) if (out / "samples.png").exists() else None
    rows = f"| prior over the codes of | `{model.config.vqvae}` (weights SHA-256 `{model.config.vqvae_fingerprint[:16]}...`) |\n" if isinstance(model, models.PixelCNN) else ""
    model.save(tmp, card=model_card(summary, evaluation, caption, rows), metadata=card_metadata(out.name, summary, evaluation, model))
    os.replace(tmp / models.base.CARD_NAME, out / models.base.CARD_NAME)
    shutil.rmtree(tmp)
    return evaluation


def card_metadata(name: str, s: dict, evaluation: dict, model) -> dict:
    """The model card's YAML fields beyond the library's: the dataset (its Hub id where it has one), tags, and the
    held-out measurements as a model-index, which the Hub shows as evaluation results."""
    from huggingface_hub import EvalResult

    version = s["data_options"].get("version")
    dataset = f"{s['data']} version {version}" if version else s["data"]
    results = [
        EvalResult(task_type=model.pipeline_tag, dataset_type=data.HUB_DATASETS.get(s["data"], s["data"]), dataset_name=dataset,
                   dataset_split=evaluation["split"], metric_type=kind, metric_name=label, metric_value=round(value, 4))
        for kind, label, value in metrics.headline(evaluation)
    ]  # fmt: skip
    metadata = {"tags": [model.config.model_type, s["data"]], "model_name": name, "eval_results": results or None}
    if s["data"] in data.HUB_DATASETS:
        metadata["datasets"] = [data.HUB_DATASETS[s["data"]]]
    return metadata


def samples_caption(model) -> str:
    """What samples.png shows for this model."""
    if isinstance(model, models.PixelCNN):
        rows = "; row r draws class r" if model.config.num_classes else ""
        return f"Samples from the prior (seed 0, temperature 1), decoded by its VQ-VAE{rows}."
    if isinstance(model, models.GAN):
        below = "; column c draws input c's condition" if getattr(model, "condition_labels", None) else ""
        return f"Top row: validation images; below: samples of the generator (seed 0){below}. Monitor curves: ![curves]({CURVES_NAME})"
    below = "samples from the prior"
    if isinstance(model, models.VQVAE):
        below = "code grids drawn uniformly at random (a VQ-VAE samples through its PixelCNN prior, whose card shows those samples)"
    return f"Top row: validation images; second row: their reconstructions; below: {below}."


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
| dataset | {data_name}: the train split, {s['train_config']['val_fraction']:.0%} of it held out for validation |
| preset | {f"`python -m train --preset {s['preset']}`" if s['preset'] else '(none)'} |
| command | `{s['command']}` |
| seed | {s['seed']} |
| steps / epochs | {s['steps']} / {s['epochs']} |
| training time | {s['seconds'] / 60:.1f} min on {s['hardware']} ({s['processes']} process(es), {s['train_config']['threads'] or 'all'} thread(s) each, {s['images_per_second']:.0f} images/s){monitor} |
{rows}
Measured on the `{evaluation['split']}` split ({evaluation['images']} images) by `python -m metrics`:

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


def _fixed_batch(ds, val_idx, y_all, device):
    idx = val_idx[:8]
    return ds.batch(idx).to(device), None if y_all is None else y_all[idx].to(device)


# ----------------------------------------------------------------------------- atomic files


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_png(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    Image.fromarray(image).save(tmp, format="PNG")
    os.replace(tmp, path)


def _append_metrics(out: Path, record: dict) -> None:
    with open(out / "metrics.jsonl", "a") as f:
        f.write(json.dumps(record) + "\n")


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop records logged after the checkpoint we resume from (a killed run wrote them)."""
    if not path.exists():
        return
    keep = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line)["step"] <= step:
                keep.append(line)
        except (ValueError, KeyError):
            continue  # a line cut short by the kill
    _write_text(path, "".join(line + "\n" for line in keep))


def _save_model_atomic(model, out: Path, dtype: str = "float32") -> None:
    """config.json + model.safetensors (floating-point weights stored as dtype), each renamed into place."""
    tmp = Path(tempfile.mkdtemp(dir=out, prefix=".save-"))
    model.save(tmp, dtype=getattr(torch, dtype))
    for name in (models.base.CONFIG_NAME, models.base.WEIGHTS_NAME):
        os.replace(tmp / name, out / name)
    shutil.rmtree(tmp)


def _save_resume(out: Path, model, optimizers, progress: Progress, rank: int, world: int) -> None:
    rng = [torch.get_rng_state()]
    if world > 1:  # every process's noise state, so a resumed DDP run draws the same noise
        gathered = [None] * world
        dist.all_gather_object(gathered, rng[0])
        rng = gathered
    if rank != 0:
        return
    state = {
        "model": model.state_dict(),
        "optimizers": {phase: optimizer.state_dict() for phase, optimizer in optimizers.items()},
        "rng": rng,
        "progress": asdict(progress),
    }
    tmp = out / (RESUME + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, out / RESUME)


def _load_resume(path: Path, model, optimizers, rank: int) -> Progress:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # a file this loop wrote
        model.load_state_dict(state["model"], strict=True)
        for phase, optimizer in optimizers.items():
            optimizer.load_state_dict(state["optimizers"][phase])
        torch.set_rng_state(state["rng"][min(rank, len(state["rng"]) - 1)])
        progress = Progress(**state["progress"])
    except Exception as err:  # unpickling, a missing key, a mismatched shape: the file is not this run's
        raise ValueError(f"{path} is damaged or from another run ({type(err).__name__}); delete it to train from the start "
                         f"(the best checkpoint beside it is kept and still loads)") from None  # fmt: skip
    print(f"resuming from step {progress.step} (epoch {progress.epoch + 1}, batch {progress.batch})")
    return progress
