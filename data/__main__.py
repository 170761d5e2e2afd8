"""`python -m data info NAME` and `python -m data preview NAME --out grid.png`.

Each dataset's options become flags (`--data-dir`, `--size`, `--n`, `--correlated`, ...),
generated from its loader's signature.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import DATASETS, load, option_types, options


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    top = argparse.ArgumentParser(prog="python -m data", description="Inspect Latent Lab datasets.")
    top.add_argument("command", choices=["info", "preview"])
    top.add_argument("name", choices=list(DATASETS), metavar="NAME", help=f"one of: {', '.join(DATASETS)}")
    head, rest = top.parse_known_args(argv[:2])
    parser = _command_parser(head.command, head.name)
    args = parser.parse_args(argv[2:] + rest)
    opts = {name: getattr(args, name) for name in options(head.name) if getattr(args, name) is not None}
    try:
        ds = load(head.name, split=args.split, **opts)
    except ValueError as err:  # a user's mistake (missing files, bad option): one line, no traceback
        parser.exit(2, f"error: {err}\n")
    if head.command == "info":
        print(describe(ds))
    else:
        try:
            grid = preview_grid(ds, attribute=args.attribute, n=args.count)
        except ValueError as err:
            parser.exit(2, f"error: {err}\n")
        Image.fromarray(grid).save(args.out)
        print(f"wrote {args.out} ({grid.shape[1]}x{grid.shape[0]})")


def _command_parser(command: str, name: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m data {command} {name}")
    parser.add_argument("--split", default="test" if command == "preview" else "train")
    for option, kind in option_types(name).items():
        flag = "--" + option.replace("_", "-")
        if kind is bool:
            parser.add_argument(flag, dest=option, action=argparse.BooleanOptionalAction, default=None)
        else:
            parser.add_argument(flag, dest=option, type=kind, default=None, help=f"default: {options(name)[option]}")
    if command == "preview":
        parser.add_argument("--out", required=True, help="PNG file to write")
        parser.add_argument("--attribute", help="show this binary attribute: half the grid with it, half without")
        parser.add_argument("--count", type=int, default=64, help="number of images (default 64)")
    return parser


def describe(ds) -> str:
    """A human-readable summary: size, image shape, labels, attributes, factors."""
    n, h, w, c = ds.images.shape
    lines = [f"{ds.name} ({ds.split}): {n} images, {h}x{w}x{c} uint8"]
    if ds.labels is not None:
        counts = np.bincount(ds.labels, minlength=len(ds.label_names))
        lines.append(f"labels ({len(ds.label_names)}): " + ", ".join(f"{name} [{k}]" for name, k in zip(ds.label_names, counts)))
    if ds.attributes is not None:
        rates = ds.attributes.mean(0)
        lines.append(f"attributes ({len(ds.attribute_names)}): " + ", ".join(f"{a} {r:.0%}" for a, r in zip(ds.attribute_names, rates)))
    if ds.factors is not None:
        sizes = tuple(ds.factor_sizes)
        lines.append(f"factors ({len(sizes)}), sizes {sizes} (0 = continuous):")
        lines += [f"  {name}: {'continuous' if k == 0 else f'{k} values'}" for name, k in zip(ds.factor_names, sizes)]
    lines += [f"{key}: {value}" for key, value in ds.info.items()]
    return "\n".join(lines)


def preview_grid(ds, attribute: str | None = None, n: int = 64, tile: int = 96) -> np.ndarray:
    """uint8 RGB grid of n images, each captioned with its label (or the attribute's value)."""
    if attribute:
        column = ds.attribute(attribute)
        with_, without = np.flatnonzero(column == 1)[: n // 2], np.flatnonzero(column == 0)[: n - n // 2]
        index = np.concatenate([with_, without])
        captions = [f"{attribute}: {'yes' if column[i] else 'no'}" for i in index]
    else:
        index = np.sort(np.random.default_rng(0).choice(len(ds), min(n, len(ds)), replace=False))  # a spread, not the first n
        captions = [ds.label_names[ds.labels[i]] if ds.labels is not None else f"#{i}" for i in index]
    images = np.asarray(ds.images[index])
    cols = int(np.ceil(np.sqrt(len(index))))
    rows = int(np.ceil(len(index) / cols))
    caption_h = 16
    grid = Image.new("RGB", (cols * tile, rows * (tile + caption_h)), "white")
    draw = ImageDraw.Draw(grid)
    font = ImageFont.load_default(size=11)
    for k, (image, caption) in enumerate(zip(images, captions)):
        x, y = (k % cols) * tile, (k // cols) * (tile + caption_h)
        pil = Image.fromarray(image[..., 0] if image.shape[2] == 1 else image).convert("RGB")
        grid.paste(pil.resize((tile, tile), Image.NEAREST), (x, y))
        draw.text((x + 3, y + tile + 2), caption[:16], fill="black", font=font)
    return np.asarray(grid)


if __name__ == "__main__":
    main()
