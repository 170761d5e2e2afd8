"""What a person waits for when editing with a GAN: inverting one image (Reconstruct, Interpolate's two uploads)
and one classifier-guided edit (a strength change in the Attributes tab), against the stored-vector edit.

    python bench/editing.py [--checkpoints checkpoints] [--models faces-wgan-gp faces-dcgan] [-n 5]
                            [--threads 2] [--out bench/results/editing.json]

Each operation runs n times on the first n test images (inversion) or n seeded samples (edits); the table gives
the median and the worst, in seconds, with the inversion's PSNR.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import data  # noqa: E402
import metrics  # noqa: E402
from latent import Explorer  # noqa: E402


def timed(function) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", default="checkpoints")
    parser.add_argument("--models", nargs="+", default=["faces-wgan-gp", "faces-dcgan"])
    parser.add_argument("-n", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="bench/results/editing.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for name in args.models:
        explorer = Explorer.load(Path(args.checkpoints) / name)
        _, options = metrics.trained_on(Path(args.checkpoints) / name)  # its faces version and size
        explorer.classifier = metrics.classifier_for("faces", explorer.model.config.image_size, options)
        ds = data.load("faces", split="test", **options)
        runs = {
            "invert (pixels + classifier features)": [],
            "invert (pixels only)": [],
            "guided edit (Smiling)": [],
            "vector edit (Smiling)": [],
        }
        psnr = []
        for i in range(args.n):
            image = ds.batch(np.array([i]))
            seconds, result = timed(lambda: explorer.invert(image))
            runs["invert (pixels + classifier features)"].append(seconds)
            psnr.append(result.psnr.item())
            runs["invert (pixels only)"].append(timed(lambda: explorer.invert(image, feature_weight=0.0))[0])
            z = explorer.sample_latent(1, seed=i)
            runs["guided edit (Smiling)"].append(timed(lambda: explorer.decode(explorer.guided_edit(z, "Smiling", 1.0)))[0])
            runs["vector edit (Smiling)"].append(timed(lambda: explorer.decode(explorer.edit(z, "Smiling", 1.0)))[0])
        for operation, seconds in runs.items():
            row = {
                "model": name,
                "operation": operation,
                "n": len(seconds),
                "median_s": round(statistics.median(seconds), 3),
                "max_s": round(max(seconds), 3),
            }
            if operation.startswith("invert (pixels +"):
                row["psnr_db"] = round(statistics.fmean(psnr), 2)
            rows.append(row)
    print(f"{'model':<16} {'operation':<40} {'median s':>9} {'max s':>7} {'PSNR dB':>8}")
    for row in rows:
        print(f"{row['model']:<16} {row['operation']:<40} {row['median_s']:>9.3f} {row['max_s']:>7.3f} {row.get('psnr_db', ''):>8}")
    record = {"machine": platform.processor() or platform.machine(), "threads": args.threads, "torch": torch.__version__, "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=2))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
