"""Sampling time of the shipped VQ-VAEs through their PixelCNN priors: a prior draws the code grid cell by cell, so a
sample costs one network pass per row (vertical stack) plus one per cell (horizontal stack); a prior with
self-attention (a VQ-VAE-2's top prior) one pass of the whole network per cell.

    python bench/prior_sampling.py [--threads 0] [--batches 1,16,64] [--out bench/results/prior_sampling.json]

Times the explorer's own path (Explorer.sample: prior sampling, then the VQ-VAE's decoder), best of
3 repeats after a warm-up, and prints milliseconds per image for each batch size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    parser.add_argument("--batches", default="1,16,64", help="comma-separated batch sizes")
    parser.add_argument("--out", default="bench/results/prior_sampling.json")
    args = parser.parse_args()

    import torch

    from metrics.evaluate import with_priors
    from train.presets import PRESETS

    torch.set_num_threads(args.threads or os.cpu_count())
    batches = [int(b) for b in args.batches.split(",")]
    rows = []
    for name, preset in PRESETS.items():
        if preset["model"] not in ("vqvae", "vqvae2") or not (ROOT / preset["out"]).exists():
            continue
        explorer = with_priors(ROOT / preset["out"])  # a VQ-VAE's prior, a VQ-VAE-2's prior per level
        if explorer.prior is None:
            continue
        classes = explorer.prior.config.num_classes
        grid = " + ".join(f"{s}x{s}" for s in explorer.model.grid_sizes.values())
        for n in batches:
            y = torch.arange(n) % classes if classes else None
            explorer.sample(n, seed=0, y=y)  # warm-up
            seconds = min(_timed(lambda: explorer.sample(n, seed=1, y=y)) for _ in range(3))
            rows.append(
                {"model": name, "grid": grid, "batch": n, "seconds": round(seconds, 3), "ms_per_image": round(1000 * seconds / n, 1)}
            )
            print(f"{name:<16} grid {grid:<14} batch {n:>3}  {seconds:7.2f} s  {1000 * seconds / n:8.1f} ms/image", flush=True)

    result = {"machine": f"{platform.machine()} CPU, {os.cpu_count()} cores", "threads": torch.get_num_threads(), "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


def _timed(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
