"""The dataset container every loader returns, and the on-disk cache for generated data.

Images leave `data/` in two forms: uint8 NHWC arrays (what loaders store and cache) and
float32 NCHW tensors in [0, 1] (`ImageDataset.batch`, what models consume).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

try:  # advisory locks keep two processes from generating the same cache twice
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX: atomic rename alone still keeps the cache whole
    fcntl = None

CACHE_ENV = "LATENT_LAB_CACHE"


class ImageArray(Protocol):
    """What `ImageDataset.images` must offer: a uint8 NHWC array, or something that
    materialises one on indexing (dSprites unpacks bits lazily)."""

    shape: tuple[int, ...]

    def __len__(self) -> int: ...

    def __getitem__(self, index) -> np.ndarray: ...


@dataclass
class ImageDataset:
    """Images plus whatever ground truth the dataset has.

    labels:      class id per image (int64 [N]) with `label_names`.
    attributes:  binary attributes (uint8 [N, A]) with `attribute_names` (CelebA's names).
    factors:     ground-truth generative factors (float32 [N, F]) with `factor_names` and
                 `factor_sizes`: a size k > 0 means the factor is discrete and stored as an
                 index in 0..k-1 (its real values, where they differ, in `factor_values`);
                 size 0 means continuous, stored as its value.
    """

    name: str
    images: ImageArray  # uint8 [N, H, W, C]
    labels: np.ndarray | None = None
    label_names: list[str] | None = None
    attributes: np.ndarray | None = None
    attribute_names: list[str] | None = None
    factors: np.ndarray | None = None
    factor_names: list[str] | None = None
    factor_sizes: list[int] | None = None
    factor_values: dict[str, np.ndarray] = field(default_factory=dict)
    split: str = "train"
    info: dict = field(default_factory=dict)  # free-form provenance: source path, seed, ...

    def __post_init__(self):
        n = len(self.images)
        if len(self.images.shape) != 4 or self.images.shape[3] not in (1, 3):
            raise ValueError(f"{self.name}: images must be uint8 [N, H, W, 1|3], got shape {tuple(self.images.shape)}")
        for what, names in (("labels", None), ("attributes", "attribute_names"), ("factors", "factor_names")):
            array = getattr(self, what)
            if array is not None and len(array) != n:
                raise ValueError(f"{self.name}: {len(array)} {what} for {n} images")
            if names and array is not None and array.shape[1] != len(getattr(self, names)):
                raise ValueError(f"{self.name}: {array.shape[1]} {what} columns but {len(getattr(self, names))} names")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_size(self) -> int:
        return int(self.images.shape[1])

    @property
    def channels(self) -> int:
        return int(self.images.shape[3])

    def batch(self, index) -> torch.Tensor:
        """float32 NCHW tensor in [0, 1] for the images at `index` (int, slice or array)."""
        return to_tensor(np.asarray(self.images[index]))

    def subset(self, index) -> ImageDataset:
        """A new dataset holding only the rows at `index` (materialises lazy images)."""
        index = np.asarray(index)
        take = lambda a: None if a is None else a[index]  # noqa: E731
        return replace(
            self,
            images=np.asarray(self.images[index]),
            labels=take(self.labels),
            attributes=take(self.attributes),
            factors=take(self.factors),
        )

    def attribute(self, name: str) -> np.ndarray:
        """One binary attribute column by its name, e.g. `ds.attribute("Smiling")`."""
        if not self.attribute_names or name not in self.attribute_names:
            raise ValueError(f"{self.name} has no attribute {name!r}; it has: {', '.join(self.attribute_names or []) or 'none'}")
        return self.attributes[:, self.attribute_names.index(name)]

    def targets(self, names: Sequence[str] | None = None) -> torch.Tensor:
        """What a conditional model is conditioned on, or a classifier predicts: the class labels
        (long [N]) when names is None, else the named attribute columns (float [N, len(names)])."""
        if names is None:
            if self.labels is None:
                raise ValueError(f"{self.name} has no class labels; it has attributes: {', '.join(self.attribute_names or []) or 'none'}")
            return torch.from_numpy(np.asarray(self.labels)).long()
        return torch.from_numpy(np.stack([self.attribute(n) for n in names], axis=1)).float()


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W, C] (or one [H, W, C]) -> float32 [N, C, H, W] in [0, 1]."""
    if images.ndim == 3:
        images = images[None]
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """float [N, C, H, W] in [0, 1] -> uint8 [N, H, W, C]; values outside [0, 1] are clipped."""
    return images.detach().clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def check_split(name: str, split: str, splits: Sequence[str] = ("train", "test")) -> None:
    if split not in splits:
        raise ValueError(f"dataset {name!r} has no split {split!r}; choose one of: {', '.join(splits)}")


def tile(images: np.ndarray, columns: int) -> np.ndarray:
    """uint8 [N, H, W, C] -> one uint8 grid [rows * H, columns * W] (grey) or [..., 3], `columns`
    tiles per row; a short last row is padded with white."""
    n, h, w, c = images.shape
    rows = -(-n // columns)  # ceil
    pad = rows * columns - n
    if pad:
        images = np.concatenate([images, np.full((pad, h, w, c), 255, np.uint8)])
    grid = images.reshape(rows, columns, h, w, c).transpose(0, 2, 1, 3, 4).reshape(rows * h, columns * w, c)  # tile rows
    return grid[..., 0] if c == 1 else grid


# ----------------------------------------------------------------------------- cache


def cache_dir() -> Path:
    """Where generated datasets live: $LATENT_LAB_CACHE, else ~/.cache/latent-lab."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "latent-lab")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_key(name: str, **options) -> str:
    """A file stem that changes whenever any option that affects the content changes."""
    blob = json.dumps(options, sort_keys=True, default=str)
    return f"{name}-{hashlib.sha1(blob.encode()).hexdigest()[:12]}"


def cached_arrays(key: str, build: Callable[[], dict[str, np.ndarray]], required: Sequence[str]) -> dict[str, np.ndarray]:
    """Return the arrays stored under `key`, building and caching them on a miss.

    The file is a compressed .npz written to a temp file and renamed into place, so a
    killed run never leaves half a file behind; a damaged or truncated file (bad zip,
    CRC error, a missing array) is reported and rebuilt. An advisory lock makes a second
    process wait for the first one's result instead of generating the same data again.
    """
    path = cache_dir() / f"{key}.npz"
    arrays = _read_npz(path, required)
    if arrays is not None:
        return arrays
    with _lock(path.with_suffix(".lock")):
        arrays = _read_npz(path, required)  # another process may have built it while we waited
        if arrays is not None:
            return arrays
        arrays = build()
        write_npz_atomic(path, arrays)
        return arrays


def write_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache may be shared between users
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _read_npz(path: Path, required: Sequence[str]) -> dict[str, np.ndarray] | None:
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = set(required) - set(npz.files)
            if missing:
                raise ValueError(f"missing arrays {sorted(missing)}")
            return {name: npz[name] for name in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile) as err:
        import warnings

        warnings.warn(f"cache file {path} is damaged ({err}); rebuilding it", stacklevel=3)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return None


@contextlib.contextmanager
def _lock(path: Path):
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
