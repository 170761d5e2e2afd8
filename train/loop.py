"""The training loop of the autoencoder family, top to bottom:
config -> data -> model -> loop -> save.

A run directory holds the checkpoint (config.json, model.safetensors, README.md) of the
best validation epoch, stats.safetensors, samples.png, metrics.jsonl, training.json,
progress/ grids, and, while the run is unfinished, resume.pt. Every file is written to
a temporary name and renamed into place, so a run killed at any moment leaves the last
good checkpoint intact, and `--resume` replays from it to the same weights an
uninterrupted run ends with (shuffling is a function of seed and epoch; the RNG state
is saved with the optimizer).

What the run writes lives beside this loop: the checkpoint, resume.pt and metrics.jsonl in train/checkpoint.py, the
statistics, grids and card in train/artifacts.py; what it is built from (data, model) in train/inputs.py, how it is
scored in train/validation.py.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

import data
import models
from metrics.monitor import Monitor, collapse_warning, plot_curves

from .artifacts import CURVES_NAME, export_for_page, hardware, prior_grid, progress_grid, write_card, write_png, write_stats, write_text
from .checkpoint import RESUME, Progress, append_metrics, load_resume, save_model_atomic, save_resume, truncate_metrics
from .config import TrainConfig
from .inputs import build_model, fixed_batch, load_data
from .validation import broadcast, evaluate, gan_monitor


class NonFiniteLoss(RuntimeError):
    pass


def train(model_type: str, model_fields: dict, cfg: TrainConfig, command: str = "") -> Path:
    """Train `model_type` with architecture `model_fields` under `cfg`; returns the run directory."""
    device, world, rank = _start_processes(cfg)
    out = _run_directory(cfg, lead=rank == 0)
    data_options, ds, (train_idx, val_idx), y_all, condition_fields = load_data(model_type, cfg, world)
    model, vqvae = build_model(model_type, model_fields, cfg, ds, condition_fields, device)
    lr = cfg.lr or model.default_lr
    optimizers = _optimizers(model, cfg, lr)
    progress = _resume(cfg, out, model, optimizers, rank)
    run = Run(cfg, out, device, world, rank, ds, train_idx, val_idx, y_all, model, vqvae, optimizers, lr, progress)
    _prepare(run)
    while run.progress.epoch < cfg.epochs and not run.stop:
        _train_epoch(run)
    _finish(run, model_type, command, data_options)
    return out


@dataclass
class Run:
    """What the steps of one run share: its place, its data, the model and its optimizers, and where it is."""

    cfg: TrainConfig
    out: Path
    device: torch.device
    world: int  # processes (torchrun)
    rank: int
    ds: data.ImageDataset
    train_idx: np.ndarray  # in a seeded order
    val_idx: np.ndarray  # sorted
    y_all: torch.Tensor | None  # every image's condition, for a conditional model
    model: torch.nn.Module
    vqvae: models.VQVAE | None  # a prior's frozen VQ-VAE
    optimizers: dict[str, torch.optim.Optimizer]  # one per training phase
    lr: float
    progress: Progress
    # set by _prepare, once the weights are in place
    net: torch.nn.Module | None = None  # the model, or its DDP wrapper across processes
    autocast: torch.autocast | None = None
    fixed: tuple = ()  # the progress grids' inputs and their conditions
    total_steps: float = 0  # the learning rate schedule's length
    monitor: Monitor | None = None  # the lead's monitor of a GAN
    # the loop's own
    stop: bool = False
    last_check: int = -1  # the step of the last check
    started: float = 0.0  # when the training time not yet counted in progress.seconds began

    @property
    def lead(self) -> bool:
        return self.rank == 0

    @property
    def adversarial(self) -> bool:
        return len(self.optimizers) > 1

    @property
    def monitored(self) -> bool:
        # a monitor measures a GAN's or a VAE-GAN's samples (an AAE validates its reconstructions)
        return self.model.selected_by_samples

    @property
    def generative(self) -> bool:
        return self.model.has_latent  # a classifier has no latents to describe and nothing to sample

    @property
    def per_rank(self) -> int:
        return self.cfg.batch_size // self.world

    @property
    def steps_per_epoch(self) -> int:
        return len(self.train_idx) // self.cfg.batch_size  # drop the last partial batch: every step sees a full batch

    def lap(self) -> None:
        """Count the time since `started` as training time, and start again."""
        now = time.perf_counter()
        self.progress.seconds += now - self.started
        self.started = now


# ----------------------------------------------------------------------------- setup


def _start_processes(cfg: TrainConfig) -> tuple[torch.device, int, int]:
    """This process's device, the number of processes and this one's rank; joins torchrun's process group."""
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
    return device, world, rank


def _run_directory(cfg: TrainConfig, lead: bool) -> Path:
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; name a directory for the checkpoint")
    if lead:
        out.mkdir(parents=True, exist_ok=True)  # an --out that cannot be written fails now, not after the first epoch
    return out


def native_bfloat16(device: torch.device) -> bool:
    """Whether bfloat16 autocast runs natively: on CUDA, or on a CPU with AVX-512 BF16 or AMX (elsewhere it is emulated)."""
    return device.type == "cuda" or torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def _optimizers(model, cfg: TrainConfig, lr: float) -> dict[str, torch.optim.Optimizer]:
    # one optimizer per training phase: a GAN's discriminator and generator each have their own Adam
    return {
        phase: torch.optim.AdamW(model.phase_parameters(phase), lr=lr, betas=model.adam_betas, weight_decay=cfg.weight_decay)
        for phase in model.PHASES
    }


def _resume(cfg: TrainConfig, out: Path, model, optimizers: dict, rank: int) -> Progress:
    """Where the run starts: the beginning, or (--resume) the weights, optimizers, RNG and progress of resume.pt."""
    progress = Progress()
    torch.manual_seed(cfg.seed + rank)  # sampling noise differs across processes, weights do not
    if cfg.resume and (out / RESUME).exists():
        progress = load_resume(out / RESUME, model, optimizers, rank)
    elif cfg.resume:
        print(f"--resume: no {RESUME} in {out}; starting from the beginning")
    elif (out / RESUME).exists():
        raise ValueError(f"{out} holds an unfinished run ({RESUME}); pass --resume to continue it, or choose another --out")
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        truncate_metrics(out / "metrics.jsonl", progress.step)
    return progress


def _prepare(run: Run) -> None:
    """Wrap the model for DDP; set the precision, the progress grids' batch, the schedule's length and a GAN's monitor."""
    cfg = run.cfg
    # a phase leaves the other phases' parameters without gradients: DDP must be told
    run.net = torch.nn.parallel.DistributedDataParallel(run.model, find_unused_parameters=run.adversarial) if run.world > 1 else run.model
    bf16 = cfg.precision == "bfloat16" or (cfg.precision == "auto" and native_bfloat16(run.device))
    run.autocast = torch.autocast(run.device.type, dtype=torch.bfloat16, enabled=bf16)
    run.fixed = fixed_batch(run.ds, run.val_idx, run.y_all, run.device)
    run.total_steps = min(cfg.epochs * run.steps_per_epoch, cfg.max_steps or math.inf)
    # the monitor keeps the GAN with the best Frechet distance
    run.monitor = gan_monitor(cfg, run.ds, run.val_idx, run.train_idx, run.y_all, run.model) if run.monitored and run.lead else None
    run.stop = run.progress.step >= cfg.max_steps > 0


# ----------------------------------------------------------------------------- loop


def _train_epoch(run: Run) -> None:
    """One pass over the training split in this epoch's order (from the batch a resumed run stopped at), then the
    epoch's check and resumable checkpoint."""
    cfg, progress = run.cfg, run.progress
    epoch_order = run.train_idx[np.random.default_rng([cfg.seed, progress.epoch]).permutation(len(run.train_idx))]
    run.model.train()
    bar = tqdm(
        total=run.steps_per_epoch,
        initial=progress.batch,
        desc=f"epoch {progress.epoch + 1}/{cfg.epochs}",
        disable=not run.lead,
        dynamic_ncols=True,
    )
    run.started = time.perf_counter()
    for b in range(progress.batch, run.steps_per_epoch):
        batch = epoch_order[b * cfg.batch_size : (b + 1) * cfg.batch_size][run.rank * run.per_rank : (run.rank + 1) * run.per_rank]
        logged = _train_step(run, np.sort(batch))
        progress.step, progress.batch = progress.step + 1, b + 1
        progress.images += cfg.batch_size
        bar.update(1)
        bar.set_postfix({k: f"{v:.4g}" for k, v in logged.items()}, refresh=False)
        _after_step(run, logged)
        if run.stop:
            break
    bar.close()
    run.lap()

    # --- end of an epoch: validation (a GAN monitored by steps has no epoch check), early stopping, checkpoint
    if progress.batch == run.steps_per_epoch:
        if not (run.monitored and cfg.monitor_every):
            run.stop = check(run) or run.stop
        progress.epoch, progress.batch = progress.epoch + 1, 0
    if not run.stop and progress.epoch < cfg.epochs:
        save_resume(run.out, run.model, run.optimizers, progress, run.rank, run.world)


def _train_step(run: Run, batch: np.ndarray) -> dict[str, float]:
    """One optimizer step per phase of the model on the images `batch`; returns the loss parts to log."""
    x = run.ds.batch(batch).to(run.device, non_blocking=True)
    y = None if run.y_all is None else run.y_all[batch].to(run.device)
    step, logged = run.progress.step, {}
    for phase in run.model.phases(step):
        with run.autocast:
            parts = run.net(x, y, step=step, phase=phase)
        if not torch.isfinite(parts["loss"]):
            raise NonFiniteLoss(
                f"the {'' if phase == 'model' else phase + ' '}loss became {parts['loss'].item()} at step {step} ("
                + ", ".join(f"{k}={v.item():.4g}" for k, v in parts.items())
                + f"); stopped. The last good checkpoint in {run.out} is kept; try a lower --lr or --grad-clip"
            )
        _optimize(run, phase, parts["loss"])
        logged |= {(f"{phase}_loss" if k == "loss" and run.adversarial else k): v.item() for k, v in parts.items()}
    return logged


def _optimize(run: Run, phase: str, loss: torch.Tensor) -> None:
    optimizer = run.optimizers[phase]
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    for group in optimizer.param_groups:  # a function of the step alone: a resumed run follows the same schedule
        group["lr"] = learning_rate(run.cfg, run.lr * run.model.phase_lr_scale(phase), run.progress.step, run.total_steps)
    if run.cfg.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(optimizer.param_groups[0]["params"], run.cfg.grad_clip)
    optimizer.step()


def learning_rate(cfg: TrainConfig, lr: float, step: int, total_steps: int) -> float:
    """The learning rate of optimizer step `step` (0-based) out of total_steps, starting at lr."""
    if cfg.lr_schedule == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * step / total_steps))
    return lr


def _after_step(run: Run, logged: dict[str, float]) -> None:
    """The metrics log, a progress grid, a GAN's monitor check and a resumable checkpoint, each when it is due."""
    cfg, progress = run.cfg, run.progress
    if run.lead and progress.step % cfg.log_every == 0:
        append_metrics(run.out, {"step": progress.step, "epoch": progress.epoch, **logged})
    if run.lead and run.generative and cfg.sample_every and progress.step % cfg.sample_every == 0:
        write_png(run.out / "progress" / f"step_{progress.step:07d}.png", progress_grid(run.model, *run.fixed))
    run.stop = progress.step >= cfg.max_steps > 0
    if run.monitored and cfg.monitor_every and progress.step % cfg.monitor_every == 0:
        run.lap()  # the monitor's time is counted apart
        run.stop = check(run) or run.stop
        run.started = time.perf_counter()
    if cfg.checkpoint_every and progress.step % cfg.checkpoint_every == 0 and not run.stop:
        run.lap()
        save_resume(run.out, run.model, run.optimizers, progress, run.rank, run.world)


# ----------------------------------------------------------------------------- checks


def check(run: Run) -> bool:
    """Score the model (validation loss, or the monitor's Frechet distance), keep it if it is the best so
    far, and say whether patience has run out."""
    cfg, progress = run.cfg, run.progress
    run.last_check = progress.step
    if run.monitor is not None:
        score = _monitor_score(run)
    elif run.monitored:  # a GAN's other processes: the lead measures, every process takes its verdict below
        score = math.inf
    else:
        score = _validation_score(run)
    if run.world > 1 and run.monitored:
        score = broadcast(score, run.device)
    if score < progress.best:
        progress.best, progress.bad_checks = score, 0
        if run.lead:
            save_model_atomic(run.model, run.out, cfg.save_dtype)
    else:
        progress.bad_checks += 1
    if cfg.patience and progress.bad_checks >= cfg.patience:
        if run.lead:
            print(f"early stop: no better {'Frechet distance' if run.monitored else 'validation loss'} for {cfg.patience} checks")
        return True
    return False


def _monitor_score(run: Run) -> float:
    """The lead's monitor of a GAN measures its samples: logged, plotted, and a warning if coverage collapses."""
    progress, out = run.progress, run.out
    started = time.perf_counter()
    result = run.monitor(run.model)
    progress.monitor_seconds += time.perf_counter() - started
    progress.best_coverage = max(progress.best_coverage, result.get("coverage", 0.0))
    append_metrics(out, {"step": progress.step, "epoch": progress.epoch, **{f"monitor_{k}": v for k, v in result.items()}})
    print(f"step {progress.step}: " + ", ".join(f"{k} {v:.4g}" for k, v in result.items()))
    warning = collapse_warning(result["coverage"], progress.best_coverage) if "coverage" in result else None
    if warning:
        print(f"step {progress.step}: warning: {warning}")
        append_metrics(out, {"step": progress.step, "epoch": progress.epoch, "warning": warning})
    plot_curves(out / "metrics.jsonl", out / CURVES_NAME)
    return result["frechet_distance"]


def _validation_score(run: Run) -> float:
    """The validation loss (every process measures it; the lead logs it)."""
    progress = run.progress
    val = evaluate(run.model, run.ds, run.val_idx, run.y_all, run.device, run.cfg.batch_size, progress.step)
    if run.lead:
        append_metrics(run.out, {"step": progress.step, "epoch": progress.epoch, **{f"val_{k}": v for k, v in val.items()}})
        print(f"epoch {progress.epoch + 1}: " + ", ".join(f"val {k} {v:.4g}" for k, v in val.items()))
    return val["loss"]


# ----------------------------------------------------------------------------- save


def _finish(run: Run, model_type: str, command: str, data_options: dict) -> None:
    """The best weights, their statistics, samples, training.json and card; resume.pt goes once they are written."""
    if run.monitored and run.last_check != run.progress.step:
        check(run)  # a GAN's steps since its last check are measured too
    if run.lead:
        _save_best(run, model_type, command, data_options)
    if run.world > 1:
        dist.barrier()
        dist.destroy_process_group()


def _save_best(run: Run, model_type: str, command: str, data_options: dict) -> None:
    cfg, out, device = run.cfg, run.out, run.device
    if not (out / models.WEIGHTS_NAME).exists():  # stopped (max_steps) before any validation
        save_model_atomic(run.model, out, cfg.save_dtype)
    best = models.load(out, device=device)
    if run.generative:
        classifier = run.monitor and run.monitor.classifier
        write_stats(best, run.ds, run.train_idx, run.val_idx, run.y_all, device, cfg.stats_images, out, classifier)
        write_png(out / "samples.png", progress_grid(best, *run.fixed, sample_rows=6))
    if run.vqvae is not None:
        best.attach(run.vqvae)
        write_png(out / "samples.png", prior_grid(best, run.ds.batch(run.val_idx[:48]).to(device)))
    if run.monitor is not None:
        val = run.monitor(best)
    else:
        val = evaluate(best, run.ds, run.val_idx, run.y_all, device, cfg.batch_size, run.progress.step)
    summary = _summary(run, model_type, command, data_options, val)
    write_text(out / "training.json", json.dumps(summary, indent=2, default=str))
    write_card(out, best)
    export_for_page(best, out)
    (out / RESUME).unlink(missing_ok=True)


def _summary(run: Run, model_type: str, command: str, data_options: dict, val: dict) -> dict:
    """training.json: where the checkpoint came from, what it cost, and its validation."""
    cfg, progress = run.cfg, run.progress
    return {
        "model_type": model_type,
        "data": cfg.data,
        "data_options": data_options,
        "preset": cfg.preset,
        "command": command,
        "seed": cfg.seed,
        "steps": progress.step,
        "epochs": progress.epoch,
        "seconds": round(progress.seconds, 1),
        "monitor_seconds": round(progress.monitor_seconds, 1),
        "images_per_second": round(progress.images / max(progress.seconds, 1e-9), 1),
        "processes": run.world,
        "hardware": hardware(run.device),
        "validation": val,
        "train_config": asdict(cfg),
    }
