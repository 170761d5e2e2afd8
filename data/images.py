"""Decoding images that come from outside: uploads in the UI and image files on disk.

Everything a person hands us goes through `open_image` (decode safely, flatten any
Pillow mode to RGB or L) and `fit_image` (channels, square crop, size), so the upload
box, the `folder` dataset and CelebA treat an image identically and fail with the same
clear messages. `load_images` is the one decode-and-fit loop the file-based loaders share.
"""

from __future__ import annotations

import contextlib
import io
import numbers
import os
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm import tqdm

# The Pillow plugins allowed to parse untrusted bytes: the common formats only, which
# keeps rarely used (and rarely audited) decoders out of reach of an upload.
FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")
# File suffixes the `folder` dataset picks up.
EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")

# Words for Pillow's mode codes in the notes shown to people.
_MODE_NAMES = {
    "1": "1-bit",
    "L": "grayscale",
    "LA": "grayscale+alpha",
    "P": "palette",
    "PA": "palette+alpha",
    "I": "32-bit grayscale",
    "I;16": "16-bit grayscale",
    "I;16B": "16-bit grayscale",
    "F": "float grayscale",
}
DRAFT_SIDE = 1024  # a JPEG larger than this on both sides may be decoded at a reduced scale (open_image's min_side)
_MAX_LISTED = 10  # failed files named one by one in an error; the rest are counted


def check_size(size) -> None:
    """Reject a `size` option that is not a positive whole number before any work starts."""
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"size must be a positive whole number of pixels per side (e.g. 64), got {size!r}")


def open_image(source: str | os.PathLike | bytes | BinaryIO, max_pixels: int | None = None, min_side: int | None = None) -> Image.Image:
    """Decode an untrusted image (a path, its bytes, or a binary file object) into a
    fully loaded RGB or L Pillow image.

    `min_side`: the size the image will be fitted to. A large JPEG is then decoded at the smallest of its DCT scales
    (1/2, 1/4, 1/8) that keeps each side >= DRAFT_SIDE and >= 4 x min_side: a 4096x4096 photo for a 64x64 model
    decodes to 1024x1024 (3 MB instead of 50 MB). Small ones decode at full size: the scaled decode averages 8x8
    blocks aligned to the whole image, which blurs what a later centre crop cuts at.

    The header's pixel count is checked against `max_pixels` (default `Image.MAX_IMAGE_PIXELS`) before any
    pixel is decoded (a tiny file can expand to gigabytes: a decompression bomb), and
    `verify()` checks the file's structure and checksums first. Alpha is composited on
    white, 16-bit values are scaled (not clipped) to 8 bits, palette/CMYK/... become RGB.
    The original mode is kept in `image.info["source_mode"]` so `fit_image` can report it.
    Anything that is not a whole image of an accepted format raises a ValueError naming it.
    """
    label, data = _read_source(source)
    with _decode_errors(label):
        with Image.open(io.BytesIO(data), formats=FORMATS) as probe:
            width, height = probe.size
            probe.verify()  # leaves `probe` unusable, hence the second open below
    limit = max_pixels or Image.MAX_IMAGE_PIXELS  # read at call time: tests and deployments lower it
    if limit and width * height > limit:
        raise ValueError(
            f"{label} is {width}×{height} = {width * height:,} pixels, more than the {limit:,} allowed "
            "(it could be a decompression bomb); use a smaller image"
        )
    with _decode_errors(label):
        with Image.open(io.BytesIO(data), formats=FORMATS) as img:
            source_mode = img.mode
            if min_side:
                side = max(DRAFT_SIDE, 4 * min_side)
                img.draft(img.mode, (side, side))  # JPEG only; other formats ignore it
            img.load()
            ImageOps.exif_transpose(img, in_place=True)  # phone photos store rotation in EXIF
            flat = _flatten(img)
    flat.info["source_mode"] = source_mode
    # the picture as the person sent it (EXIF-rotated), for fit_image's note: a drafted JPEG is smaller
    turned = (flat.width > flat.height) != (width > height)
    flat.info["source_size"] = (height, width) if turned else (width, height)
    return flat


def fit_image(img: Image.Image, size: int, channels: int) -> tuple[np.ndarray, str]:
    """Convert `img` to `channels` (1 or 3), centre-crop it to a square and resize it to
    `size`×`size`; return the uint8 [size, size, channels] array and a note saying what
    was done (e.g. "converted RGBA → RGB, centre-cropped 640×480 → 480×480, resized to 64×64"),
    so the UI can tell people how their upload was changed.

    For CelebA's 178×218 aligned faces the square crop is the customary 178×178 centre crop.
    """
    check_size(size)
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels!r}")
    source_mode = img.info.get("source_mode", img.mode)
    if img.mode not in ("L", "RGB"):  # a Pillow image that did not come through open_image
        img = _flatten(img)
    target = "L" if channels == 1 else "RGB"
    notes = []
    if img.mode != target:
        img = img.convert(target)  # RGB -> L uses the ITU-R 601-2 luma weights
    if source_mode != target:
        notes.append(f"converted {_MODE_NAMES.get(source_mode, source_mode)} → {_MODE_NAMES.get(target, target)}")
    width, height = img.info.get("source_size", img.size)  # open_image may have decoded a JPEG at a smaller scale
    side = min(width, height)
    if width != height:
        notes.append(f"centre-cropped {width}×{height} → {side}×{side}")
    if side != size:
        notes.append(f"resized to {size}×{size}")
    if img.size != (size, size):
        # one resize of the centred square (no cropped copy); LANCZOS is antialiased when shrinking, and reducing_gap
        # lets Pillow box-reduce a big photo by an integer factor first, which is much faster and looks the same
        w, h = img.size
        s = min(w, h)
        box = ((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)
        img = img.resize((size, size), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    array = np.array(img, dtype=np.uint8)
    if channels == 1:
        array = array[..., None]  # [H, W] -> [H, W, 1]
    return array, ", ".join(notes) or f"used as is ({size}×{size} {_MODE_NAMES.get(target, target)})"


def load_images(paths: Sequence[str | os.PathLike], size: int, channels: int, desc: str) -> np.ndarray:
    """Decode and fit every file into one uint8 [N, size, size, channels] array, with a
    progress bar.

    A file that cannot be decoded is an error, never silently skipped (a skipped file
    would shift every label after it). Every file is tried first, so one error lists all
    the bad files at once instead of one per run.
    """
    check_size(size)
    out = np.empty((len(paths), size, size, channels), np.uint8)
    failures = []
    for i, path in enumerate(tqdm(paths, desc=desc, unit="img")):
        try:
            out[i], _ = fit_image(open_image(path, min_side=size), size, channels)
        except ValueError as err:
            failures.append(str(err))
    if failures:
        listed = "\n  ".join(failures[:_MAX_LISTED])
        more = f"\n  ... and {len(failures) - _MAX_LISTED} more" if len(failures) > _MAX_LISTED else ""
        raise ValueError(f"{len(failures)} of {len(paths)} images could not be decoded; fix or remove them:\n  {listed}{more}")
    return out


def resize_gray(images: np.ndarray, size: int) -> np.ndarray:
    """Resize single-channel images [N, H, W] (values on a 0..255 scale, any real dtype)
    to uint8 [N, size, size, 1] with bicubic interpolation.

    Resampling runs in float (Pillow's "F" mode), so the bicubic overshoot is clipped
    and rounded once, at the end.
    """
    check_size(size)
    if images.shape[1:] == (size, size):
        return np.clip(np.rint(images), 0, 255).astype(np.uint8)[..., None]
    out = np.empty((len(images), size, size, 1), np.uint8)
    for i, image in enumerate(images):
        resized = Image.fromarray(image.astype(np.float32)).resize((size, size), Image.Resampling.BICUBIC)
        out[i, ..., 0] = np.clip(np.rint(np.asarray(resized)), 0, 255)
    return out


def _read_source(source) -> tuple[str, bytes]:
    """(a name for error messages, the file's bytes) for a path, bytes or file object.

    Reading the bytes once lets `open_image` parse them twice (verify, then decode)
    even when the source is a stream that cannot seek.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "the image", bytes(source)
    if isinstance(source, (str, os.PathLike)):
        try:
            return str(source), Path(source).read_bytes()
        except OSError as err:
            raise ValueError(f"cannot read image file {source}: {err.strerror or err}") from None
    if hasattr(source, "read"):
        return str(getattr(source, "name", "the image")), source.read()
    raise TypeError(f"open_image takes a path, bytes or a binary file object, not {type(source).__name__}")


@contextlib.contextmanager
def _decode_errors(label: str):
    """Turn Pillow's many ways of failing into one ValueError that names the file."""
    try:
        yield
    except Image.DecompressionBombError as err:
        raise ValueError(f"{label} is too large to decode safely: {err}") from None
    except UnidentifiedImageError:
        raise ValueError(f"{label} is not an image in an accepted format ({', '.join(FORMATS)})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:  # what Pillow raises for damaged data
        raise ValueError(f"{label} is damaged or truncated ({err})") from None


def _flatten(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> "RGB", or "L" for grayscale sources."""
    if img.mode.startswith("I") or img.mode == "F":
        # 16/32-bit grayscale: Pillow's convert("L") clips at 255 instead of scaling, which
        # turns most 16-bit images white. I;16 is always scaled; I/F only when the values
        # exceed 8 bits (some decoders put 8-bit data in 32-bit images).
        values = np.asarray(img)
        scale = 257 if img.mode.startswith("I;16") or values.max(initial=0) > 255 else 1  # 65535 -> 255
        out = np.empty(values.shape, np.uint8)
        for top in range(0, len(values), 256):  # float32 in blocks of rows: no full-size float copy
            out[top : top + 256] = np.clip(np.rint(values[top : top + 256].astype(np.float32) / scale), 0, 255)
        return Image.fromarray(out)
    gray = img.mode in ("1", "L", "LA", "La")
    if img.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in img.info:
        # Transparent pixels would otherwise keep whatever colour they hide (often black).
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img.convert("RGBA"))
    return img.convert("L" if gray else "RGB")
