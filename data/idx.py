"""MNIST and Fashion-MNIST from their IDX files (gzipped or not).

IDX (LeCun's format): a 4-byte magic number (two zero bytes, a type code, 0x08 for
unsigned bytes, and the number of dimensions), one big-endian uint32 per dimension,
then the values. The parser is a few lines of numpy, so no dependency is needed, and
it checks the magic number and the exact length, so a truncated download or a
swapped file is reported instead of producing garbage images.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from . import images
from .base import ImageDataset, check_split

NATIVE_SIZE = 28
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist package
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# split -> (images file, labels file), the official names (each may also end in .gz)
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"), "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
UNSIGNED_BYTE = 0x08  # IDX type code; the only one MNIST-style files use
GZIP_MAGIC = b"\x1f\x8b"

FASHION_MNIST_HELP = (
    "Install Debian's package (`apt-get install dataset-fashion-mnist`, which puts them in "
    f"{FASHION_MNIST_DIR}), or download them from https://github.com/zalandoresearch/fashion-mnist "
    "and pass data_dir='DIR' (CLI: --data-dir DIR)."
)
MNIST_HELP = (
    "Download the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; e.g. from torchvision's mirror "
    "https://ossci-datasets.s3.amazonaws.com/mnist/) into a directory and pass data_dir='DIR' "
    "(CLI: --data-dir DIR)."
)


def load_fashion_mnist(split: str = "train", data_dir: str | None = FASHION_MNIST_DIR, size: int = NATIVE_SIZE) -> ImageDataset:
    """Zalando's Fashion-MNIST: 60,000 train / 10,000 test 28x28 grayscale clothing images, 10 classes."""
    return _load("fashion-mnist", split, data_dir, size, FASHION_MNIST_CLASSES, FASHION_MNIST_HELP)


def load_mnist(split: str = "train", data_dir: str | None = None, size: int = NATIVE_SIZE) -> ImageDataset:
    """LeCun's MNIST: 60,000 train / 10,000 test 28x28 handwritten digits. It has no
    standard location on a Debian system, so `data_dir` must be given."""
    return _load("mnist", split, data_dir, size, [str(d) for d in range(10)], MNIST_HELP)


def read_idx(path: str | Path, ndim: int) -> np.ndarray:
    """The uint8 array stored in one IDX file (gzip detected from its content, not its
    name), checked to have `ndim` dimensions and exactly the bytes its header promises."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err.strerror or err}") from None
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"{path} is a damaged or truncated gzip file ({err}); download it again") from None
    magic = bytes([0, 0, UNSIGNED_BYTE, ndim])
    if data[:4] != magic:
        raise ValueError(
            f"{path} is not a {ndim}-dimensional IDX file of unsigned bytes: it starts with "
            f"{data[:4].hex()}, expected {magic.hex()} (is it one of the other IDX files?)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path} is truncated: {len(data)} bytes, shorter than its {header}-byte header")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise ValueError(
            f"{path} is truncated or damaged: its header promises shape {shape} ({expected:,} bytes), it has {len(data):,} bytes"
        )
    # .copy(): frombuffer gives a read-only view of `data`; models want writable arrays
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape).copy()


def _load(name: str, split: str, data_dir: str | None, size: int, class_names: list[str], help_text: str) -> ImageDataset:
    check_split(name, split)
    images.check_size(size)
    if data_dir is None:
        raise ValueError(f"{name} needs data_dir: the directory that holds its IDX files. {help_text}")
    if not Path(data_dir).is_dir():
        problem = "is not a directory" if Path(data_dir).exists() else "does not exist"
        raise ValueError(f"{name}: data_dir {data_dir} {problem}; it should hold the IDX files. {help_text}")
    found = {stem: _find(Path(data_dir), stem) for stem in FILES[split]}
    missing = [f"{stem}[.gz]" for stem, path in found.items() if path is None]
    if missing:
        raise ValueError(f"{name} {split} split: looked for {' and '.join(missing)} in {data_dir} and found none. {help_text}")
    image_path, label_path = found.values()
    pixels, labels = read_idx(image_path, ndim=3), read_idx(label_path, ndim=1)
    if len(pixels) != len(labels):
        raise ValueError(
            f"{image_path} holds {len(pixels):,} images but {label_path} holds {len(labels):,} labels; are they from the same dataset?"
        )
    if labels.max(initial=0) >= len(class_names):
        raise ValueError(f"{label_path} has label {labels.max()}, but {name} has only {len(class_names)} classes")
    return ImageDataset(
        name=name,
        images=pixels[..., None] if size == pixels.shape[1] else images.resize_gray(pixels, size),
        labels=labels.astype(np.int64),
        label_names=list(class_names),
        split=split,
        info={"source": str(image_path), "native_size": int(pixels.shape[1])},
    )


def _find(data_dir: Path, stem: str) -> Path | None:
    """The file for `stem` in `data_dir`, plain or gzipped, under its official name or
    the dotted one some mirrors use ("train-images.idx3-ubyte"); None if absent."""
    for base in (stem, stem.replace("-idx", ".idx")):
        for candidate in (data_dir / f"{base}.gz", data_dir / base):
            if candidate.is_file():
                return candidate
    return None
