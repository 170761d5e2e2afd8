"""Any directory of images as a dataset, with optional labels or attributes from a CSV.

    root/**/*.png|jpg|jpeg|webp|bmp     found recursively, sorted by relative path;
                                        hidden files and directories are ignored
    root/labels.csv (optional)          file,label            -> class labels
                                        file,Smiling,Male,... -> binary attributes

The CSV's first column is the image's path relative to root. If the only other
column is named `label`, its values are class names (label ids follow the sorted
names, numerically when all are whole numbers). Otherwise every other column is a binary
attribute: 1 means present, 0 or -1 absent (CelebA's -1/1 convention also works).
The CSV must have exactly one row per image, so no image is silently unlabelled.

An image that cannot be decoded is an error listing every such file (see
`images.load_images`): skipping it would quietly change the dataset.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path, PurePosixPath

import numpy as np

from . import images
from .base import ImageDataset, check_split

NAME = "folder"
SPLITS = ("train", "test", "all")
TEST_PERCENT = 10
CSV_NAME = "labels.csv"


def load(split: str = "train", root: str | None = None, size: int = 64, channels: int = 3, labels_csv: str | None = None) -> ImageDataset:
    """The images under `root`, centre-cropped and resized to `size`, with `channels` 1 or 3.

    Split: an image is in "test" when a hash of its relative path falls in the lowest
    10%, so its split never changes as other files come and go; "all" is every image.
    `labels_csv` defaults to root/labels.csv when that file exists.
    """
    check_split(NAME, split, SPLITS)
    images.check_size(size)
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels!r}")
    if root is None:
        raise ValueError("folder needs root: the directory of images to load (root='DIR', CLI: --root DIR)")
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"folder: root {root} {'is not a directory' if root.exists() else 'does not exist'}")
    files = _image_files(root)
    if not files:
        raise ValueError(f"folder: no images under {root}; accepted file types: {', '.join(images.EXTENSIONS)}")
    if labels_csv is None and (root / CSV_NAME).is_file():
        labels_csv = root / CSV_NAME
    columns = _read_csv(Path(labels_csv), files) if labels_csv is not None else {}
    keep = np.ones(len(files), bool) if split == "all" else (_in_test(files) == (split == "test"))
    if not keep.any():
        raise ValueError(
            f"folder: none of the {len(files)} images under {root} falls in the {split!r} split "
            f"(about {TEST_PERCENT}% go to 'test'); use split='all' for a folder this small"
        )
    kept = [file for file, k in zip(files, keep) if k]
    subset = {key: value[keep] if isinstance(value, np.ndarray) else value for key, value in columns.items()}
    return ImageDataset(
        name=NAME,
        images=images.load_images([root / file for file in kept], size, channels, desc=f"decoding {root.name or root}"),
        split=split,
        info={"source": str(root), "labels_csv": str(labels_csv) if labels_csv else None, "files": kept},
        **subset,
    )


def _image_files(root: Path) -> list[str]:
    """Relative POSIX paths of the images under root, sorted so the order (and hence
    every label and split) is the same on every machine."""
    found = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        # hidden entries are tool clutter (.ipynb_checkpoints, ._ files from macOS)
        if path.suffix.lower() in images.EXTENSIONS and path.is_file() and not any(part.startswith(".") for part in relative.parts):
            found.append(relative.as_posix())
    return sorted(found)


def _in_test(files: list[str]) -> np.ndarray:
    """True for the files whose path hashes into the lowest TEST_PERCENT of 100 buckets
    (sha1, not Python's hash(), which changes from run to run)."""
    return np.array([int(hashlib.sha1(f.encode()).hexdigest(), 16) % 100 < TEST_PERCENT for f in files])


def _read_csv(path: Path, files: list[str]) -> dict:
    """ImageDataset fields (labels + label_names, or attributes + attribute_names) for
    `files`, in their order, from the CSV at `path`."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # utf-8-sig: Excel writes a BOM
            rows = [(number, row) for number, row in enumerate(csv.reader(f), start=1) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ValueError(f"cannot read labels CSV {path}: {err}") from None
    if not rows or len(rows[0][1]) < 2:
        raise ValueError(f"{path}: the first line must be a header: the file-name column, then `label` or attribute columns")
    header = [cell.strip() for cell in rows[0][1]]
    table = {}
    for number, row in rows[1:]:
        if len(row) != len(header):
            raise ValueError(f"{path}, line {number}: {len(row)} fields, but the header has {len(header)}")
        name = PurePosixPath(row[0].strip().replace("\\", "/")).as_posix()  # "./a.png" and "a\\b.png" work too
        if name in table:
            raise ValueError(f"{path}, line {number}: {name} is listed twice")
        table[name] = [cell.strip() for cell in row[1:]]
    unlisted = [f for f in files if f not in table]
    if unlisted:
        raise ValueError(f"{path} has no row for {len(unlisted)} images under the root: {_some(unlisted)}")
    absent = sorted(set(table) - set(files))
    if absent:
        raise ValueError(f"{path} has rows for {len(absent)} files that are not images under the root: {_some(absent)}")
    values = np.array([table[f] for f in files], dtype=str)  # [N, columns after the file name]
    if len(header) == 2 and header[1].lower() == "label":
        label_names = sorted(set(values[:, 0]))
        if "" in label_names:
            raise ValueError(f"{path}: every image needs a label; {files[list(values[:, 0]).index('')]} has none")
        if all(name.isdigit() for name in label_names):
            label_names.sort(key=int)  # "2" before "10"
        label_id = {name: i for i, name in enumerate(label_names)}
        return {"labels": np.array([label_id[v] for v in values[:, 0]], dtype=np.int64), "label_names": label_names}
    binary = np.isin(values, ("-1", "0", "1"))
    if not binary.all():
        bad = sorted(set(values[~binary].tolist()))[:5]
        raise ValueError(
            f"{path}: attribute values must be 0/1 or -1/1, found {', '.join(map(repr, bad))} "
            "(for class names use a single column named `label`)"
        )
    return {"attributes": (values == "1").astype(np.uint8), "attribute_names": header[1:]}


def _some(names: list[str], limit: int = 10) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
