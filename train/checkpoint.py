"""What a run keeps so it survives a kill: the best weights (config.json + model.safetensors), resume.pt (weights,
optimizers, RNG state and Progress, while the run is unfinished) and metrics.jsonl. Each is written to a temporary
name and renamed into place (metrics.jsonl is appended to, and cut back to the resumed step), through
train.artifacts' writers: a full disk leaves the previous files whole, no temporary behind, and one DiskFull naming
the file."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist

import models

from .artifacts import disk_errors, scratch, write_bytes, write_text

RESUME = "resume.pt"


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


def append_metrics(out: Path, record: dict) -> None:
    path = out / "metrics.jsonl"
    size = path.stat().st_size if path.exists() else 0
    try:
        with disk_errors(path), open(path, "a") as f:
            f.write(json.dumps(record) + "\n")
    except BaseException:
        with contextlib.suppress(OSError):
            os.truncate(path, size)  # no line cut short by a full disk (or a kill mid-write)
        raise


def truncate_metrics(path: Path, step: int) -> None:
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
    write_text(path, "".join(line + "\n" for line in keep))


def save_model_atomic(model, out: Path, dtype: str = "float32") -> None:
    """config.json + model.safetensors (floating-point weights stored as dtype), each renamed into place."""
    with scratch(out, ".save-", out / models.WEIGHTS_NAME) as tmp:
        model.save(tmp, dtype=getattr(torch, dtype))
        for name in (models.CONFIG_NAME, models.WEIGHTS_NAME):
            os.replace(tmp / name, out / name)


def save_resume(out: Path, model, optimizers, progress: Progress, rank: int, world: int) -> None:
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
    # serialised in memory, then written by Python: torch.save's own writer reports a full disk as a RuntimeError
    # ("unexpected pos ...") that names neither the file nor the cause
    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_bytes(out / RESUME, buffer.getbuffer())


def load_resume(path: Path, model, optimizers, rank: int) -> Progress:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # a file this loop wrote
        model.load_state_dict(state["model"], strict=True)
        for phase, optimizer in optimizers.items():
            optimizer.load_state_dict(state["optimizers"][phase])
        torch.set_rng_state(state["rng"][min(rank, len(state["rng"]) - 1)])
        progress = Progress(**state["progress"])
    except Exception as err:  # unpickling, a missing key, a mismatched shape: the file is not this run's
        raise ValueError(
            f"{path} is damaged or from another run ({type(err).__name__}); delete it to train from the start "
            f"(the best checkpoint beside it is kept and still loads)"
        ) from None
    print(f"resuming from step {progress.step} (epoch {progress.epoch + 1}, batch {progress.batch})")
    return progress
