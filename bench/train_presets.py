"""Training speed of every preset on this machine, and the projected time of its full run.

    python bench/train_presets.py [--steps 60] [--threads 0] [--only faces-vae,...] [--out bench/results/train_presets.json]

Each preset runs through the real CLI (`python -m train --preset NAME --max-steps STEPS`) into a
temporary directory, alone on the machine; the loop's own images/s (training.json, warm-up step
excluded by averaging over STEPS) times the preset's images gives the projected training time,
which every preset keeps under 20 minutes on a 2-core CPU (30 for a GAN, its monitor's time on top; 60 for a faces version 2 preset).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="optimizer steps measured per preset")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    parser.add_argument("--only", default="", help="comma-separated preset names (default: all)")
    parser.add_argument("--out", default="bench/results/train_presets.json")
    args = parser.parse_args()

    import data
    from train.presets import PRESETS

    names = [n for n in args.only.split(",") if n] or list(PRESETS)
    rows = []
    for name in names:
        preset = PRESETS[name]
        with tempfile.TemporaryDirectory() as out:
            command = [
                sys.executable,
                *"-m train --preset".split(),
                name,
                "--out",
                out,
                "--max-steps",
                str(args.steps),
                *"--sample-every 0 --stats-images 500 --threads".split(),
                str(args.threads),
            ]
            started = time.perf_counter()
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
            wall = time.perf_counter() - started
            record = json.loads((Path(out) / "training.json").read_text())
        ds = data.load(preset["data"], split="train", **preset.get("data_options", {}))
        train_images = len(ds) - max(1, round(0.05 * len(ds)))
        steps = (train_images // preset["batch_size"]) * preset.get("epochs", 10)
        if preset.get("max_steps"):
            steps = min(steps, preset["max_steps"])
        ips = record["images_per_second"]
        minutes = steps * preset["batch_size"] / ips / 60
        rows.append(
            {
                "preset": name,
                "images_per_second": ips,
                "steps": steps,
                "projected_minutes": round(minutes, 1),
                "measured_wall_s": round(wall, 1),
            }
        )
        print(f"{name:<20} {ips:>8.0f} img/s  {steps:>6} steps  {minutes:>6.1f} min projected", flush=True)

    result = {
        "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores",
        "threads": args.threads or os.cpu_count(),
        "steps_measured": args.steps,
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
