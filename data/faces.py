"""Procedural cartoon faces with exact ground truth: the demo's default dataset.

Every face is drawn from a factor vector (`FACTORS` gives the order), so a metric can
change one factor, re-render, and know exactly what changed. Binary attributes are
derived from the factors and carry CelebA's names (`list_attr_celeba.txt`), so attribute
code written here runs unchanged on real CelebA.

The factors, renderer versions and attributes live in data/face_factors.py, the drawing
in data/face_drawing.py; this module renders and caches the dataset and re-exports both.

The renderer is versioned (`STYLES`): a checkpoint records the version it trained on
(training.json's data_options), and `load(version=...)` renders that version again, so a
new renderer never silently changes what an old checkpoint is measured on.
    version 1   passport framing: the face about 24 px wide in 64x64, the mouth about 7 px,
                narrow margins around the attribute thresholds (a smile of 0.3 against 0.1
                moves the mouth corners by about 0.4 px: a person cannot tell them apart)
    version 2   framed like CelebA's 64x64 aligned crops (Liu et al. 2015): the face fills the
                frame (1.6x), wide margins around every threshold, a stronger smile, bolder
                glasses frames and darker facial hair, so both sides of every attribute are
                plain to see at 64x64 and at 32x32
"""

from __future__ import annotations

import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from tqdm.auto import tqdm

from .base import ImageDataset, cache_key, cached_arrays, check_split
from .face_drawing import SIZES, render_face
from .face_factors import ATTRIBUTE_NAMES, FACTOR_NAMES, FACTORS, VERSION, attributes_from_factors, sample_factors, style_of

SPLIT_SEEDS = {"train": 1, "test": 2}  # fixed per split: train and test never share faces
SPLIT_SIZES = {"train": 50_000, "test": 5_000}

# ----------------------------------------------------------------------------- datasets


def render_faces(
    factors: np.ndarray, size: int = 64, workers: int | None = None, progress: bool = True, version: int = VERSION
) -> np.ndarray:
    """uint8 [N, size, size, 3] for factors [N, F], rendered across `workers` processes
    (default: all cores). The result does not depend on the number of workers."""
    n = len(factors)
    workers = workers or os.cpu_count() or 1
    chunks = np.array_split(np.arange(n), max(1, math.ceil(n / 500)))
    out = np.empty((n, size, size, 3), np.uint8)
    bar = tqdm(total=n, desc=f"rendering faces {size}x{size}", unit="img", disable=not progress or n < 2000)
    if workers == 1 or n < 1000:
        results = (_render_chunk(factors[c], size, version) for c in chunks)
    else:  # fork keeps start-up cheap; the renderer is pure, so any start method is correct
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        pool = ProcessPoolExecutor(workers, mp_context=ctx)
        results = pool.map(_render_chunk, (factors[c] for c in chunks), [size] * len(chunks), [version] * len(chunks))
    for idx, images in zip(chunks, results):
        out[idx] = images
        bar.update(len(idx))
    bar.close()
    if workers > 1 and n >= 1000:
        pool.shutdown()
    return out


def _render_chunk(factors, size, version):
    return np.stack([render_face(row, size, version) for row in factors])


def load(
    split: str = "train", n: int | None = None, seed: int | None = None, size: int = 64, correlated: bool = False, version: int = VERSION
) -> ImageDataset:
    """Faces for `split` ('train': 50,000, 'test': 5,000 by default, each with its own
    fixed seed), drawn by renderer `version` (STYLES). Cached under the cache directory after the first call."""
    check_split("faces", split)
    style_of(version)  # an unknown version fails before any work
    if size not in SIZES:
        raise ValueError(f"faces size must be one of {SIZES}, got {size}")
    n = SPLIT_SIZES[split] if n is None else int(n)
    if n <= 0:
        raise ValueError(f"faces n must be positive, got {n}")
    seed = SPLIT_SEEDS[split] if seed is None else int(seed)

    def build():
        factors = sample_factors(n, seed, correlated, version)
        return {"images": render_faces(factors, size, version=version), "factors": factors}

    key = cache_key("faces", version=version, n=n, seed=seed, size=size, correlated=correlated)
    arrays = cached_arrays(key, build, required=("images", "factors"))
    factors = arrays["factors"]
    return ImageDataset(
        name="faces",
        split=split,
        images=arrays["images"],
        attributes=attributes_from_factors(factors, version),
        attribute_names=list(ATTRIBUTE_NAMES),
        factors=factors,
        factor_names=list(FACTOR_NAMES),
        factor_sizes=[f.size for f in FACTORS],
        info={"seed": seed, "size": size, "correlated": correlated, "renderer_version": version},
    )
