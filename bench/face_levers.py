"""What each training lever buys faces-vae: the same short run with one setting changed at a time.

    python bench/face_levers.py [--epochs 1] [--only std-0.1,std-0.05,...] [--out bench/results/face_levers.json]

Every variant is the faces-vae preset (faces version 2) trained for --epochs through the real CLI, one thread,
into a temporary directory. Measured: the loop's images/s, validation PSNR, and on 1,000 test faces what the
judge (checkpoints/classifiers/faces-v2-judge) reads in the reconstructions (details_kept) and how often the Smiling
vector at strength 1 makes a non-smiling face smile (edit_scorecard). The full preset trains longer: these rows
compare levers, they are not the shipped numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VARIANTS = {  # name -> flags on top of the preset
    "std-0.1": ["--likelihood-std", "0.1"],  # the likelihood of the version 1 preset
    "std-0.05": [],  # the shipped preset's settings
    "std-0.05-float32": ["--precision", "float32"],  # what bfloat16 autocast buys in speed
    "std-0.05-width-32": ["--base-width", "32"],  # wider early layers
}
DETAILS = ("Smiling", "Eyeglasses", "Mustache", "Mouth_Slightly_Open")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--only", default="", help=f"comma-separated variants (default: all of {', '.join(VARIANTS)})")
    parser.add_argument("--out", default="bench/results/face_levers.json")
    args = parser.parse_args()

    import data
    import metrics
    from latent import Explorer

    judge = metrics.classifier_for("faces", 64, {"version": 2}, judge=True)
    if judge is None:
        sys.exit("bench/face_levers.py needs the faces version 2 judge: python -m train --preset faces-judge")
    test = data.load("faces", split="test", version=2)
    rows = []
    for name in [n for n in args.only.split(",") if n] or list(VARIANTS):
        with tempfile.TemporaryDirectory() as out:
            command = [sys.executable, "-m", "train", "--preset", "faces-vae", "--out", out, "--epochs", str(args.epochs),
                       "--sample-every", "0", "--stats-images", "5000", "--threads", "1", *VARIANTS[name]]  # fmt: skip
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
            record = json.loads((Path(out) / "training.json").read_text())
            explorer = Explorer.load(out)
            kept = metrics.details_kept(explorer.model, test, judge, n=1000)["reconstruction"]
            smile = metrics.edit_scorecard(explorer, judge, test, "Smiling")
        row = {
            "variant": name, "flags": " ".join(VARIANTS[name]), "images_per_second": record["images_per_second"],
            "val_psnr": round(record["validation"]["psnr"], 2), "kept": {a: round(kept[a], 3) for a in DETAILS},
            "smiling_flip": round(smile["flip_rate"], 3), "smiling_worst_other": round(max(smile["changed"].values()), 3),
        }  # fmt: skip
        rows.append(row)
        print(f"{name:<20} {row['images_per_second']:>6.0f} img/s  PSNR {row['val_psnr']:>5.2f}  kept "
              + " ".join(f"{a} {v:.0%}" for a, v in row["kept"].items()) + f"  Smiling flip {row['smiling_flip']:.0%} (others <= {row['smiling_worst_other']:.0%})", flush=True)

    result = {"machine": f"{platform.machine()} CPU, {os.cpu_count()} cores", "epochs": args.epochs, "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
