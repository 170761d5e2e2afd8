"""scikit-learn's 8x8 handwritten digits: real data that ships with scikit-learn.

It needs no download and loads in a fraction of a second, so it is the real-data
dataset that tests, demos and CPU-only training can always rely on.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from . import images
from .base import ImageDataset, check_split

NAME = "digits"
SEED = 0  # fixes the train/test split
TEST_FRACTION = 0.2
NATIVE_SIZE = 8
MAX_VALUE = 16  # the dataset's pixels are counts of set bits in 4x4 blocks: 0..16


def load(split: str = "train", size: int = 32) -> ImageDataset:
    """The 1,797 digits (a copy of the test set of the UCI optical handwritten digits
    data), grayscale, labels 0-9, upscaled from 8x8 to `size` with bicubic interpolation.

    Split: stratified 80/20 (per digit, a fixed 20% goes to "test": 359 test, 1,438 train).
    """
    check_split(NAME, split)
    images.check_size(size)
    digits = load_digits()
    labels = digits.target.astype(np.int64)
    rows = np.flatnonzero(_test_mask(labels) == (split == "test"))
    pixels = digits.images[rows] * (255.0 / MAX_VALUE)  # 0..16 -> 0..255, still float
    return ImageDataset(
        name=NAME,
        images=images.resize_gray(pixels, size),
        labels=labels[rows],
        label_names=[str(d) for d in range(10)],
        split=split,
        info={
            "source": "sklearn.datasets.load_digits",
            "native_size": NATIVE_SIZE,
            "split_rule": f"stratified {1 - TEST_FRACTION:.0%}/{TEST_FRACTION:.0%}, RandomState({SEED})",
        },
    )


def _test_mask(labels: np.ndarray) -> np.ndarray:
    """True for the test rows: per digit, a fixed-seed random TEST_FRACTION of its rows.

    numpy's legacy RandomState has a frozen stream, so the split (and the meaning of a
    checkpoint's "test" numbers) cannot change with the numpy or scikit-learn version.
    """
    rng = np.random.RandomState(SEED)
    test = np.zeros(len(labels), bool)
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        test[rng.permutation(members)[: round(TEST_FRACTION * len(members))]] = True
    return test
