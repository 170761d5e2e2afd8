"""CelebA (Liu et al., "Deep Learning Face Attributes in the Wild", ICCV 2015), read
from the official layout a user downloaded:

    root/img_align_celeba/000001.jpg ...    aligned 178x218 JPEGs
    root/list_attr_celeba.txt               line 1: image count; line 2: the 40 attribute
                                            names; then "000001.jpg -1  1 ..." per image
    root/list_eval_partition.txt            "000001.jpg 0" per image: 0 train, 1 valid, 2 test

(torchvision's download puts the same files under root/celeba/; that works too.)
Decoding 200k JPEGs takes minutes, so the decoded arrays are cached (`data.base.cached_arrays`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import images
from .base import ImageDataset, cache_key, cached_arrays, check_split

NAME = "celeba"
SPLITS = ("train", "valid", "test")  # partition ids 0, 1, 2 in list_eval_partition.txt
IMAGE_DIR = "img_align_celeba"
ATTR_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
HELP = (
    "Download CelebA's aligned images and annotation files from "
    "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html, unpack them so that ROOT holds "
    f"{IMAGE_DIR}/, {ATTR_FILE} and {PARTITION_FILE}, and pass root='ROOT' (CLI: --root ROOT)."
)


def load(split: str = "train", root: str | None = None, size: int = 64, n: int | None = None) -> ImageDataset:
    """The first `n` images (all if None) of a split, centre-cropped to 178x178 and resized
    to `size`, with the 40 binary attributes (-1/1 in the file, 0/1 here) under their
    official names."""
    check_split(NAME, split, SPLITS)
    images.check_size(size)
    n = _check_n(n)
    root = _find_root(root)
    names, attributes, attribute_names = _read_attributes(root / ATTR_FILE)
    wanted = _read_partition(root / PARTITION_FILE, SPLITS.index(split))[:n]  # fewer than n: all of them
    if not wanted:
        raise ValueError(f"{root / PARTITION_FILE} assigns no images to the {split!r} split (partition {SPLITS.index(split)})")
    row_of = {name: row for row, name in enumerate(names)}
    unknown = [name for name in wanted if name not in row_of]
    if unknown:
        raise ValueError(f"{root / PARTITION_FILE} lists {len(unknown)} images that {ATTR_FILE} has no row for, e.g. {unknown[0]}")
    image_dir = root / IMAGE_DIR
    # The key covers what changes the pixels: where, which, how big, and the files'
    # modification times, so a re-downloaded dataset is decoded again.
    key = cache_key(
        NAME,
        root=str(root.resolve()),
        split=split,
        size=size,
        n=n,
        stamp=[os.stat(p).st_mtime_ns for p in (image_dir, root / PARTITION_FILE)],
    )
    pixels = cached_arrays(
        key,
        lambda: {"images": images.load_images([image_dir / name for name in wanted], size, 3, desc=f"decoding celeba {split}")},
        required=["images"],
    )["images"]
    return ImageDataset(
        name=NAME,
        images=pixels,
        attributes=attributes[[row_of[name] for name in wanted]],
        attribute_names=attribute_names,
        split=split,
        info={"source": str(root), "files": wanted},
    )


def _check_n(n) -> int | None:
    """`n` as an int (the CLI passes options whose default is None as strings), or None."""
    if n is None:
        return None
    try:
        count = int(n)
    except (TypeError, ValueError):
        count = 0
    if isinstance(n, (bool, float)) or count < 1:
        raise ValueError(f"n must be a positive whole number of images, or None for the whole split; got {n!r}")
    return count


def _find_root(root: str | None) -> Path:
    """The directory holding the official files: `root` itself, or root/celeba (torchvision's layout)."""
    if root is None:
        raise ValueError(f"celeba needs root: the directory that holds the dataset. {HELP}")
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"celeba: root {root} {'is not a directory' if root.exists() else 'does not exist'}. {HELP}")
    if not (root / ATTR_FILE).is_file() and (root / "celeba" / ATTR_FILE).is_file():
        root = root / "celeba"
    expected = {f"{IMAGE_DIR}/": root / IMAGE_DIR, ATTR_FILE: root / ATTR_FILE, PARTITION_FILE: root / PARTITION_FILE}
    missing = [name for name, path in expected.items() if not path.exists()]
    if missing:
        raise ValueError(f"celeba: {root} is missing {', '.join(missing)}. {HELP}")
    return root


def _read_attributes(path: Path) -> tuple[list[str], np.ndarray, list[str]]:
    """(image names, uint8 [N, A] attributes in 0/1, the A attribute names) from list_attr_celeba.txt."""
    lines = path.read_text(errors="replace").splitlines()  # garbage fails the checks below, clearly
    if len(lines) < 2 or not lines[0].strip().isdigit():
        raise ValueError(f"{path} does not look like {ATTR_FILE}: line 1 should be the image count, line 2 the attribute names")
    count, attribute_names = int(lines[0]), lines[1].split()
    rows = [line.split() for line in lines[2:] if line.strip()]
    if len(rows) != count:
        raise ValueError(f"{path} says it has {count:,} images but has {len(rows):,} rows; it may be truncated")
    for number, row in enumerate(rows, start=3):
        if len(row) != len(attribute_names) + 1:
            raise ValueError(f"{path}, line {number}: expected a file name and {len(attribute_names)} values, got {len(row)} fields")
    try:
        values = np.array([row[1:] for row in rows], dtype=np.int8)
    except ValueError:
        values = None  # a field that is not a number
    if values is None or not np.isin(values, (-1, 1)).all():
        raise ValueError(f"{path} has attribute values other than -1 and 1")
    return [row[0] for row in rows], (values > 0).astype(np.uint8), attribute_names


def _read_partition(path: Path, partition: int) -> list[str]:
    """The image names of one partition, in file order."""
    names = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
            raise ValueError(f"{path}, line {number}: expected '<file name> <0|1|2>', got {line!r}")
        if int(fields[1]) == partition:
            names.append(fields[0])
    return names
