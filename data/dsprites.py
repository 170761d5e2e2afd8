"""dSprites: the exact factor grid of Matthey et al. 2017 (github.com/deepmind/dsprites-dataset).

737,280 binary 64x64 images, one per combination of
    shape (square, ellipse, heart) x scale (6) x orientation (40) x posX (32) x posY (32),
in the original's order (shape slowest, posY fastest), so disentanglement metrics can
fetch "all images with one factor held fixed" by arithmetic on indices (`grid_index`,
`factor_classes`). The original also has a 'color' factor with a single value (white);
it carries no information, so it is left out of `factor_names`.

The images are rendered here (no download): each of the 720 shape x scale x orientation
sprites is drawn once, supersampled and thresholded, then every position is a 1-pixel
shift of it. The grid is cached bit-packed (`np.packbits`, 8 pixels a byte: 377 MB in
memory, about 3 MB compressed on disk) and unpacked lazily, a few images at a time,
so the 3 GB of uint8 pixels never exist at once. A user who has the original
`dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz` passes `path=` to read it instead.

dSprites has no held-out split, and the convention (e.g. disentanglement_lib) is to train
and evaluate on the whole grid; so "train" and "test" both return all 737,280 images,
which also keeps `grid_index` valid for either.
"""

from __future__ import annotations

import functools
import os
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .base import ImageDataset, cache_key, cached_arrays, check_split

FACTOR_NAMES = ["shape", "scale", "orientation", "posX", "posY"]
FACTOR_SIZES = [3, 6, 40, 32, 32]  # the original's grid, minus its size-1 'color' factor
SHAPE_NAMES = ["square", "ellipse", "heart"]  # the original's shape order (latents_values 1, 2, 3)
N_IMAGES = int(np.prod(FACTOR_SIZES))  # 737,280
IMAGE_SIZE = 64  # pixels per side, as in the original

# The real value of each factor index, as in the original's `latents_values`.
FACTOR_VALUES = {
    "shape": np.array([1.0, 2.0, 3.0]),  # the original labels shapes 1, 2, 3
    "scale": np.linspace(0.5, 1.0, 6),
    "orientation": np.linspace(0.0, 2 * np.pi, 40),  # includes both 0 and 2pi, as the original does
    "posX": np.linspace(0.0, 1.0, 32),
    "posY": np.linspace(0.0, 1.0, 32),
}

# Rendering geometry. A sprite is drawn on a PATCH x PATCH tile around its centre; posX (posY)
# index k puts the tile's left (top) edge at pixel column (row) k, so the centre moves 1 pixel
# right (down) per step, from pixel 16 to pixel 47 — a range centred in the 64-pixel frame.
PATCH = 33  # odd, so the sprite centre falls on a pixel centre; 33 + 31 steps = 64 pixels
RADIUS = 16.0  # pixels at scale 1 that every shape, in any orientation, stays within (< PATCH / 2)
SUPERSAMPLE = 8  # samples per pixel side; a pixel is on when at least half its 64 samples are inside
RENDER_VERSION = 1  # part of the cache key: bump whenever the pictures change, so old caches are not reused

# Shape sizes in units of RADIUS (the unit disc is the largest a sprite may be).
SQUARE_HALF_SIDE = 0.7  # corners at 0.99 of RADIUS: a 22-pixel square at scale 1, a third of the frame
ELLIPSE_AXES = (0.95, 0.475)  # semi-axes (along, across): a 30 x 15 pixel oval at scale 1, half the frame long
# The heart is the curve (x^2 + y^2 - 1)^3 = x^2 y^3 (x in +-1.14, y from -1 to 1.24). About y = 0.25
# (near its centroid, 0.29) it fits in a circle of radius 1.25; HEART_RADIUS maps that circle into the unit disc.
HEART_CENTRE_Y = 0.25
HEART_RADIUS = 1.25 / 0.9  # heart units per RADIUS: the heart spans 0.9 of the unit disc (about 26 pixels wide)


def grid_index(classes) -> np.ndarray:
    """Flat image index of factor classes [..., 5] (shape, scale, orientation, posX, posY).

    Accepts ints, or floats holding whole numbers (e.g. rows of `ImageDataset.factors`).
    """
    classes = np.asarray(classes)
    if classes.shape[-1:] != (len(FACTOR_SIZES),):
        raise ValueError(
            f"dsprites.grid_index: classes must have shape [..., {len(FACTOR_SIZES)}] ({', '.join(FACTOR_NAMES)}), got {classes.shape}"
        )
    if not np.issubdtype(classes.dtype, np.integer):
        if not np.array_equal(classes, np.round(classes)):
            raise ValueError("dsprites.grid_index: classes must be whole numbers (factor indices, not factor values)")
        classes = classes.astype(np.int64)
    for k, (name, size) in enumerate(zip(FACTOR_NAMES, FACTOR_SIZES)):
        column = classes[..., k]
        if column.size and (column.min() < 0 or column.max() >= size):
            raise ValueError(f"dsprites.grid_index: {name} index must be in 0..{size - 1}, got values {column.min()}..{column.max()}")
    return np.ravel_multi_index(np.moveaxis(classes, -1, 0), FACTOR_SIZES)  # one coordinate array per factor


def factor_classes(index) -> np.ndarray:
    """Factor classes int64 [..., 5] of flat image indices: the inverse of `grid_index`."""
    index = np.asarray(index)
    if not np.issubdtype(index.dtype, np.integer):
        raise ValueError(f"dsprites.factor_classes: index must be integers, got dtype {index.dtype}")
    if index.size and (index.min() < 0 or index.max() >= N_IMAGES):
        raise ValueError(f"dsprites.factor_classes: index must be in 0..{N_IMAGES - 1}, got values {index.min()}..{index.max()}")
    return np.stack(np.unravel_index(index, FACTOR_SIZES), axis=-1).astype(np.int64)


def render(classes) -> np.ndarray:
    """Draw the images of factor classes [N, 5]: uint8 [N, 64, 64, 1], 0 or 255.

    This is the renderer the cached grid is built from, exposed so a handful of images
    can be drawn (and tested) without building all 737,280.
    """
    return _render_bits(grid_index(classes).reshape(-1))[..., None] * np.uint8(255)  # bool [N, H, W, 1] -> 0/255


class PackedImages:
    """Bit-packed binary images that look like uint8 [N, H, W, 1] (0 or 255) when indexed.

    Indexing takes what a numpy array takes along the first axis (int, slice, int array,
    bool mask) and unpacks only the rows asked for.
    """

    dtype = np.dtype(np.uint8)

    def __init__(self, packed: np.ndarray):
        self.packed = packed  # uint8 [N, H, W / 8], np.packbits along the width
        self.shape = (packed.shape[0], packed.shape[1], packed.shape[2] * 8, 1)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index) -> np.ndarray:
        bits = np.unpackbits(self.packed[index], axis=-1)  # [..., H, W] of 0/1
        return bits[..., None] * np.uint8(255)  # [..., H, W, 1] of 0/255

    def __repr__(self) -> str:
        return f"PackedImages(shape={self.shape}, dtype=uint8)"


def load(split: str = "train", path: str | os.PathLike | None = None) -> ImageDataset:
    """The dSprites grid: rendered and cached, or read from the original .npz at `path`.

    Both splits are the full grid (see the module docstring for why).
    """
    check_split("dsprites", split)
    if path is None:
        arrays = cached_arrays(cache_key("dsprites", renderer=RENDER_VERSION), _build_grid, required=["packed"])
        classes = factor_classes(np.arange(N_IMAGES))
        values = FACTOR_VALUES
        info = {"source": "rendered", "renderer_version": RENDER_VERSION, "grid_order": True}
    else:
        path = _check_original(path)
        stat = path.stat()  # the file's size and mtime key the cache, so an edited file is read again
        key = cache_key("dsprites-original", path=str(path), size=stat.st_size, mtime_ns=stat.st_mtime_ns)
        arrays = cached_arrays(key, lambda: _read_original(path), required=["packed", "classes", "values"])
        classes = arrays["classes"]
        values = {name: arrays["values"][k, :size] for k, (name, size) in enumerate(zip(FACTOR_NAMES, FACTOR_SIZES))}
        grid_order = len(classes) == N_IMAGES and np.array_equal(classes, factor_classes(np.arange(N_IMAGES)))
        info = {"source": "original file", "path": str(path), "grid_order": bool(grid_order)}
    return ImageDataset(
        name="dsprites",
        images=PackedImages(arrays["packed"]),
        labels=classes[:, 0].astype(np.int64),
        label_names=list(SHAPE_NAMES),
        factors=classes.astype(np.float32),
        factor_names=list(FACTOR_NAMES),
        factor_sizes=list(FACTOR_SIZES),
        factor_values={name: np.asarray(v, dtype=np.float64) for name, v in values.items()},
        split=split,
        info=info,
    )


# ----------------------------------------------------------------------------- rendering


@functools.lru_cache(maxsize=1)
def _sprites() -> np.ndarray:
    """bool [3, 6, 40, PATCH, PATCH]: every shape x scale x orientation, centred on its tile."""
    # Sub-pixel sample centres relative to the tile centre, in pixels; y grows upward.
    offsets = (np.arange(PATCH * SUPERSAMPLE) + 0.5) / SUPERSAMPLE - PATCH / 2
    x, y = offsets[None, None, :], -offsets[None, :, None]  # [1, 1, S] along columns, [1, S, 1] along rows
    angle = FACTOR_VALUES["orientation"][:, None, None]  # [40, 1, 1]
    sprites = np.empty([len(SHAPE_NAMES), FACTOR_SIZES[1], FACTOR_SIZES[2], PATCH, PATCH], dtype=bool)
    for j, scale in enumerate(FACTOR_VALUES["scale"]):
        # Rotate the sample points by -angle (the sprite by +angle, counter-clockwise) into
        # the sprite's own frame, in units of the unit disc it must stay within.
        r = RADIUS * scale
        u = (x * np.cos(angle) + y * np.sin(angle)) / r  # [40, S, S]
        v = (-x * np.sin(angle) + y * np.cos(angle)) / r
        for i, inside in enumerate(_shape_masks(u, v)):
            hits = inside.reshape(len(angle), PATCH, SUPERSAMPLE, PATCH, SUPERSAMPLE).sum(axis=(2, 4))  # samples inside each pixel
            sprites[i, j] = hits * 2 >= SUPERSAMPLE**2
    return sprites


def _shape_masks(u: np.ndarray, v: np.ndarray) -> list[np.ndarray]:
    """Inside-tests of square, ellipse and heart at points (u, v) of the unit disc."""
    square = np.maximum(np.abs(u), np.abs(v)) <= SQUARE_HALF_SIDE
    ellipse = (u / ELLIPSE_AXES[0]) ** 2 + (v / ELLIPSE_AXES[1]) ** 2 <= 1
    hx, hy = u * HEART_RADIUS, v * HEART_RADIUS + HEART_CENTRE_Y  # unit disc -> heart-curve coordinates
    heart = (hx**2 + hy**2 - 1) ** 3 - hx**2 * hy**3 <= 0
    return [square, ellipse, heart]


@functools.lru_cache(maxsize=1)
def _windows() -> np.ndarray:
    """bool view [720, 32, 32, 64, 64]: image (sprite, 31 - posY, 31 - posX) without copying.

    Each sprite tile sits at (31, 31) on a blank (64 + 31)-pixel canvas; the 64 x 64 window
    whose corner is at (31 - posY, 31 - posX) shows the tile with its corner at (posY, posX).
    """
    steps = FACTOR_SIZES[3] - 1  # 31: the largest shift
    canvas = np.zeros([len(SHAPE_NAMES) * FACTOR_SIZES[1] * FACTOR_SIZES[2], IMAGE_SIZE + steps, IMAGE_SIZE + steps], dtype=bool)
    canvas[:, steps : steps + PATCH, steps : steps + PATCH] = _sprites().reshape(-1, PATCH, PATCH)  # [720, PATCH, PATCH]
    return np.lib.stride_tricks.sliding_window_view(canvas, (IMAGE_SIZE, IMAGE_SIZE), axis=(1, 2))


def _render_bits(index: np.ndarray) -> np.ndarray:
    """bool [N, 64, 64] images at flat grid indices `index` [N]."""
    sprite, position = np.divmod(index, FACTOR_SIZES[3] * FACTOR_SIZES[4])  # 1024 positions per sprite
    pos_x, pos_y = np.divmod(position, FACTOR_SIZES[4])  # posY varies fastest
    steps = FACTOR_SIZES[3] - 1  # 31: the largest shift
    return _windows()[sprite, steps - pos_y, steps - pos_x]


def _build_grid(chunk: int = 16384) -> dict[str, np.ndarray]:
    """All 737,280 images in grid order, bit-packed: {"packed": uint8 [N, 64, 8]}."""
    packed = np.empty([N_IMAGES, IMAGE_SIZE, IMAGE_SIZE // 8], dtype=np.uint8)
    for start in range(0, N_IMAGES, chunk):
        stop = min(start + chunk, N_IMAGES)
        packed[start:stop] = np.packbits(_render_bits(np.arange(start, stop)), axis=-1)  # 8 pixels of a row per byte
    return {"packed": packed}


# ----------------------------------------------------------------------------- the original file

ORIGINAL_KEYS = ("imgs", "latents_values", "latents_classes")
ORIGINAL_SIZES = [1, *FACTOR_SIZES]  # the original's columns: color (always 0), then our five factors


def _check_original(path) -> Path:
    """The user's file as an absolute path (it keys the cache), or a ValueError saying what to pass."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(
            f"dsprites: no file at {str(path)!r}; pass path= the original dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz "
            "(github.com/deepmind/dsprites-dataset), or leave path unset to render the grid"
        )
    return path.resolve()


def _read_original(path: Path) -> dict[str, np.ndarray]:
    """Read the original .npz, any number of rows, packing the images as it streams them.

    The file's `imgs` are 3 GB of 0/1 bytes; they are read in chunks straight out of the
    zip member and packed, so they never sit in memory whole. Its pickled `metadata` key is
    never opened (nothing here unpickles).
    """
    try:
        with zipfile.ZipFile(path) as npz:
            missing = [k for k in ORIGINAL_KEYS if f"{k}.npy" not in npz.namelist()]
            if missing:
                raise ValueError(
                    f"dsprites: {str(path)!r} lacks the arrays {', '.join(missing)}; the original dSprites .npz has "
                    f"{', '.join(ORIGINAL_KEYS)} (it has: {', '.join(n.removesuffix('.npy') for n in npz.namelist()) or 'nothing'})"
                )
            latent_values = _read_member(path, npz, "latents_values")
            latent_classes = _read_member(path, npz, "latents_classes")
            n = _check_latents(path, latent_values, latent_classes)
            with npz.open("imgs.npy") as f:
                packed = _read_packed_imgs(path, f, n)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        raise ValueError(f"dsprites: {str(path)!r} is not a readable .npz ({err}); expected the original dSprites file") from err

    classes = latent_classes[:, 1:].astype(np.int64)  # drop the constant 'color' column
    values = np.full([len(FACTOR_SIZES), max(FACTOR_SIZES)], np.nan)  # [factor, index] -> real value; NaN where unseen
    for k in range(len(FACTOR_SIZES)):
        values[k, classes[:, k]] = latent_values[:, k + 1]
    return {"packed": packed, "classes": classes, "values": values}


def _read_member(path: Path, npz: zipfile.ZipFile, name: str) -> np.ndarray:
    """One small array of the .npz, refusing pickles."""
    with npz.open(f"{name}.npy") as f:
        try:
            return np.lib.format.read_array(f, allow_pickle=False)
        except (ValueError, SyntaxError, tokenize.TokenError) as err:  # what numpy raises on a garbled .npy header
            raise ValueError(
                f"dsprites: {str(path)!r} is not a readable .npz: its {name}.npy is damaged or not a plain array ({err})"
            ) from err


def _check_latents(path: Path, latent_values: np.ndarray, latent_classes: np.ndarray) -> int:
    """Check the latent arrays' shapes and ranges; return the number of rows."""
    where, columns = f"dsprites: {str(path)!r}", len(ORIGINAL_SIZES)
    if latent_classes.ndim != 2 or latent_classes.shape[1] != columns or not np.issubdtype(latent_classes.dtype, np.integer):
        raise ValueError(f"{where} latents_classes must be integers [N, {columns}], got {latent_classes.dtype} {latent_classes.shape}")
    if latent_values.shape != latent_classes.shape:
        raise ValueError(
            f"{where} latents_values has shape {latent_values.shape} but latents_classes {latent_classes.shape}; they must match"
        )
    if len(latent_classes) and ((latent_classes < 0).any() or (latent_classes >= ORIGINAL_SIZES).any()):
        raise ValueError(
            f"{where} latents_classes out of range; columns (color, {', '.join(FACTOR_NAMES)}) take 0..size-1 with sizes {ORIGINAL_SIZES}"
        )
    return len(latent_classes)


def _read_packed_imgs(path: Path, f, n: int, chunk: int = 16384) -> np.ndarray:
    """Stream `imgs.npy` (uint8 or bool [n, 64, 64]) from the open member `f` into packed bits."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    try:
        version = np.lib.format.read_magic(f)
        if version not in readers:
            raise ValueError(f"format version {version}; this reader takes 1.0 and 2.0")
        shape, fortran_order, dtype = readers[version](f)
    except (ValueError, SyntaxError, tokenize.TokenError) as err:  # what numpy raises on a garbled .npy header
        raise ValueError(f"dsprites: {str(path)!r} is not a readable .npz: its imgs.npy is damaged or not a plain array ({err})") from err
    if shape != (n, IMAGE_SIZE, IMAGE_SIZE) or fortran_order or dtype not in (np.dtype(np.uint8), np.dtype(bool)):
        raise ValueError(f"dsprites: {str(path)!r} imgs must be uint8 [{n}, 64, 64] (C order, one per latents row), got {dtype} {shape}")
    packed = np.empty([n, IMAGE_SIZE, IMAGE_SIZE // 8], dtype=np.uint8)
    pixels = IMAGE_SIZE * IMAGE_SIZE
    for start in range(0, n, chunk):
        rows = min(chunk, n - start)
        buffer = f.read(rows * pixels)
        if len(buffer) != rows * pixels:
            raise EOFError(f"imgs.npy ends after {start + len(buffer) // pixels} of {n} images")
        images = np.frombuffer(buffer, dtype=np.uint8).reshape(rows, IMAGE_SIZE, IMAGE_SIZE)  # [rows, H, W] of 0/1
        packed[start : start + rows] = np.packbits(images, axis=-1)  # any nonzero pixel counts as on
    if f.read(1):  # reading to the end also makes zipfile check the member's CRC
        raise ValueError(f"dsprites: {str(path)!r} imgs.npy holds more data than its header's shape {shape}")
    return packed
