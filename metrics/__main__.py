"""python -m metrics CHECKPOINT [--split test] [--write]: every metric that applies, as a table
(--write also stores them in CHECKPOINT/evaluation.json; `python -m train card` puts them in the model card).

python -m metrics CHECKPOINT --grid Smiling [--edit guided] --out smiling.png: a picture to judge an edit by eye -- test
images without the attribute, their reconstructions, and the attribute added at strengths 1 and 2 (by the stored
vector, or classifier-guided).

python -m metrics CHECKPOINT --seeds RUN RUN [--write]: the disentanglement suite of CHECKPOINT and of runs of its preset
trained with other seeds, as a median and a range over the seeds (CHECKPOINT must be the median run by MIG).

python -m metrics CHECKPOINT [CHECKPOINT ...] --prior-rows --out samples.png: 8 samples of each checkpoint's own prior
(seed 0), a row per checkpoint, all at one display size (the README's picture of the face models)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from PIL import Image

from .card import summary
from .evaluate import EVALUATION_NAME, evaluate, grid, level_rows, prior_rows, seed_spread_of, stored_seed_spread


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m metrics", description=__doc__.split("\n")[0])
    parser.add_argument(
        "checkpoint", nargs="+", help="checkpoint directory (or Hub repo id) written by python -m train (several: --prior-rows)"
    )
    parser.add_argument("--split", default="test", help="dataset split to measure on (default: test)")
    parser.add_argument("--write", action="store_true", help=f"also write CHECKPOINT/{EVALUATION_NAME}")
    parser.add_argument("--grid", metavar="ATTRIBUTE", help="instead: write a picture of the ATTRIBUTE edit (--out)")
    parser.add_argument(
        "--edit", default="vector", choices=("vector", "guided"), help="--grid's edit: the stored vector (default) or classifier-guided"
    )
    parser.add_argument("--prior-rows", action="store_true", help="instead: write 8 prior samples of each checkpoint, a row each (--out)")
    parser.add_argument(
        "--level-rows",
        action="store_true",
        help="instead: write 8 test images, then each VQ-VAE-2's reconstructions and its decoding of their top codes alone (--out)",
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        metavar="RUN",
        default=[],
        help="also: the disentanglement metrics' spread over these runs of the same preset (other seeds)",
    )
    parser.add_argument("--out", default="edit.png", help="where --grid, --prior-rows or --level-rows writes its PNG (default: edit.png)")
    args = parser.parse_args(argv)
    if args.prior_rows or args.level_rows:
        try:
            Image.fromarray((prior_rows if args.prior_rows else level_rows)(args.checkpoint)).save(args.out)
        except ValueError as err:
            sys.exit(f"python -m metrics: {err}")
        what = (
            "8 samples of each model's own prior (seed 0), one row per model"
            if args.prior_rows
            else "test images, each model's reconstructions and top codes alone"
        )
        print(f"wrote {args.out}: {what}")
        return
    if len(args.checkpoint) > 1:
        parser.error("several checkpoints are measured one at a time; give one (or add --prior-rows or --level-rows)")
    args.checkpoint = args.checkpoint[0]
    if args.grid:
        try:
            picture = grid(args.checkpoint, args.grid, args.split, args.edit)
        except ValueError as err:
            sys.exit(f"python -m metrics: {err}")
        Image.fromarray(picture).save(args.out)
        print(
            f"wrote {args.out}: rows are test images without {args.grid}, their reconstructions, then +{args.grid} ({args.edit}) at strengths 1 and 2"
        )
        return
    try:
        result = evaluate(args.checkpoint, args.split)
        if args.seeds:
            result["seed_spread"] = seed_spread_of(args.checkpoint, args.seeds, args.split)
        elif args.write:
            result |= stored_seed_spread(args.checkpoint, result)
    except ValueError as err:
        sys.exit(f"python -m metrics: {err}")
    rows = summary(result)
    width = max(len(name) for name, _ in rows)
    print(f"{args.checkpoint} on {result['dataset']} {result['split']} ({result['images']} images)")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    if args.write:
        (Path(args.checkpoint) / EVALUATION_NAME).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
