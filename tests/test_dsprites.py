"""dSprites: the factor grid's order and indexing, the renderer's geometry, the cache, and
reading the original .npz. Only the `grid` fixture builds all 737,280 images (once)."""

import types
import zipfile

import numpy as np
import pytest

import data
from data import base, dsprites

SIZES = (3, 6, 40, 32, 32)  # shape, scale, orientation, posX, posY


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """The full rendered grid, built once in a temp cache whose file was damaged beforehand,
    so building it also checks that a damaged cache is reported and rebuilt."""
    with pytest.MonkeyPatch.context() as mp:
        cache = tmp_path_factory.mktemp("cache")
        mp.setenv(base.CACHE_ENV, str(cache))
        files = base.cache_dir()  # the directory load() will use
        key = base.cache_key("dsprites", renderer=dsprites.RENDER_VERSION)
        (files / f"{key}.npz").write_bytes(b"PK\x03\x04 truncated by a killed run")
        with pytest.warns(UserWarning, match="damaged"):
            ds = dsprites.load()
        yield types.SimpleNamespace(ds=ds, cache_file=files / f"{key}.npz")


def centre_of_mass(image: np.ndarray) -> np.ndarray:
    """(x, y) of the lit pixels of one uint8 [H, W, 1] image; y grows downward."""
    rows, cols = np.nonzero(image[..., 0])
    return np.array([cols.mean(), rows.mean()])


# ----------------------------------------------------------------------------- the full grid


def test_grid_has_every_factor_combination_in_the_original_order(grid):
    ds = grid.ds
    assert ds.name == "dsprites" and len(ds) == 737_280
    assert ds.images.shape == (737_280, 64, 64, 1)
    assert ds.factor_names == ["shape", "scale", "orientation", "posX", "posY"]
    assert tuple(ds.factor_sizes) == SIZES
    assert ds.factors.dtype == np.float32 and ds.factors.shape == (737_280, 5)
    # shape slowest, posY fastest, as in the original's latents_classes
    assert ds.factors[0].tolist() == [0, 0, 0, 0, 0]
    assert ds.factors[1].tolist() == [0, 0, 0, 0, 1]
    assert ds.factors[32].tolist() == [0, 0, 0, 1, 0]
    assert ds.factors[32 * 32].tolist() == [0, 0, 1, 0, 0]
    assert ds.factors[32 * 32 * 40].tolist() == [0, 1, 0, 0, 0]
    assert ds.factors[32 * 32 * 40 * 6].tolist() == [1, 0, 0, 0, 0]
    assert ds.factors[-1].tolist() == [2, 5, 39, 31, 31]
    np.testing.assert_array_equal(dsprites.grid_index(ds.factors), np.arange(737_280))
    assert ds.label_names == ["square", "ellipse", "heart"]
    np.testing.assert_array_equal(ds.labels, ds.factors[:, 0])
    np.testing.assert_allclose(ds.factor_values["scale"], np.linspace(0.5, 1, 6))
    np.testing.assert_allclose(ds.factor_values["orientation"], np.linspace(0, 2 * np.pi, 40))
    np.testing.assert_allclose(ds.factor_values["posX"], np.linspace(0, 1, 32))
    assert ds.info["source"] == "rendered"


def test_grid_images_are_the_renderers_lazily_unpacked(grid):
    ds = grid.ds
    assert isinstance(ds.images, dsprites.PackedImages)
    assert ds.images.packed.nbytes == 737_280 * 64 * 8  # one bit a pixel
    index = np.random.default_rng(0).integers(0, 737_280, size=500)
    images = ds.images[index]
    assert images.dtype == np.uint8 and images.shape == (500, 64, 64, 1)
    assert set(np.unique(images)) == {0, 255}
    np.testing.assert_array_equal(images, dsprites.render(dsprites.factor_classes(index)))
    assert ds.images[7].shape == (64, 64, 1)  # an int index drops the batch axis, as numpy does
    assert ds.images[10:13].shape == (3, 64, 64, 1)
    batch = ds.batch([0, 737_279])
    assert batch.shape == (2, 1, 64, 64) and set(batch.unique().tolist()) == {0.0, 1.0}
    assert ds.subset([3, 4]).images.shape == (2, 64, 64, 1)


def test_a_damaged_cache_was_rebuilt_and_is_read_back(grid):
    written = grid.cache_file.stat().st_mtime_ns
    again = dsprites.load(split="test")  # both splits are the full grid, from the same cache file
    assert grid.cache_file.stat().st_mtime_ns == written  # read, not rebuilt
    assert np.array_equal(again.images.packed, grid.ds.images.packed)  # (assert_array_equal takes seconds on 377 MB)
    assert again.split == "test" and len(again) == 737_280


# ----------------------------------------------------------------------------- indexing


def test_grid_index_and_factor_classes_are_inverse():
    rng = np.random.default_rng(1)
    classes = np.stack([rng.integers(0, size, size=(4, 50)) for size in SIZES], axis=-1)  # [4, 50, 5]
    index = dsprites.grid_index(classes)
    assert index.shape == (4, 50)
    np.testing.assert_array_equal(dsprites.factor_classes(index), classes)
    assert dsprites.grid_index([2, 5, 39, 31, 31]) == 737_279
    assert dsprites.grid_index(np.array([0, 0, 1, 0, 0], dtype=np.float32)) == 1024  # rows of ds.factors work
    np.testing.assert_array_equal(dsprites.factor_classes(1024), [0, 0, 1, 0, 0])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: dsprites.grid_index([0, 6, 0, 0, 0]), r"scale index must be in 0\.\.5"),
        (lambda: dsprites.grid_index([0, 0, 0, 0]), r"shape \[\.\.\., 5\]"),
        (lambda: dsprites.grid_index([0, 0.5, 0, 0, 0]), "whole numbers"),
        (lambda: dsprites.factor_classes(737_280), r"0\.\.737279"),
    ],
)
def test_bad_indices_say_what_is_accepted(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ----------------------------------------------------------------------------- the renderer


def test_render_draws_binary_images_of_the_asked_classes():
    images = dsprites.render([[0, 5, 0, 16, 16], [2, 0, 10, 3, 30]])
    assert images.dtype == np.uint8 and images.shape == (2, 64, 64, 1)
    assert set(np.unique(images)) == {0, 255}


def test_shapes_differ():
    rng = np.random.default_rng(2)
    for _ in range(20):
        scale, orientation, x, y = (int(rng.integers(0, size)) for size in SIZES[1:])
        square, ellipse, heart = dsprites.render([[shape, scale, orientation, x, y] for shape in range(3)])
        assert not np.array_equal(square, ellipse)
        assert not np.array_equal(square, heart)
        assert not np.array_equal(ellipse, heart)


def test_position_steps_move_the_sprite_one_pixel_right_or_down():
    for shape, scale, orientation in [(0, 0, 0), (1, 3, 7), (2, 5, 25)]:
        images = dsprites.render([[shape, scale, orientation, x, 10] for x in range(32)])
        xs = np.array([centre_of_mass(image)[0] for image in images])
        np.testing.assert_allclose(np.diff(xs), 1.0)
        images = dsprites.render([[shape, scale, orientation, 10, y] for y in range(32)])
        ys = np.array([centre_of_mass(image)[1] for image in images])
        np.testing.assert_allclose(np.diff(ys), 1.0)


def test_larger_scale_lights_more_pixels():
    for shape in range(3):
        for orientation in (0, 5, 13, 30):
            images = dsprites.render([[shape, scale, orientation, 16, 16] for scale in range(6)])
            lit = (images > 0).sum(axis=(1, 2, 3))
            assert np.all(np.diff(lit) > 0), (shape, orientation, lit)


def test_every_sprite_is_whole_and_inside_the_frame():
    sprites = dsprites._sprites()  # [3, 6, 40, tile, tile]: positions only shift these tiles
    assert sprites.any(axis=(-1, -2)).all()
    border = np.concatenate([sprites[..., 0, :], sprites[..., -1, :], sprites[..., :, 0], sprites[..., :, -1]], axis=-1)
    assert not border.any()  # nothing touches the tile's edge, so nothing is clipped at any position
    corners = dsprites.render([[2, 5, 20, 0, 0], [2, 5, 20, 31, 31]])
    assert corners[0, :32].any() and corners[1, 32:].any()


def test_orientation_rotates_and_wraps_around_like_the_original():
    first, quarter_turn, last = dsprites.render([[2, 5, o, 16, 16] for o in (0, 10, 39)])
    assert not np.array_equal(first, quarter_turn)
    np.testing.assert_array_equal(first, last)  # 0 and 2pi are both in the original's grid


def test_rendering_is_deterministic():
    classes = np.random.default_rng(3).integers(0, SIZES, size=(100, 5))
    before = dsprites.render(classes)
    dsprites._sprites.cache_clear()
    dsprites._windows.cache_clear()
    np.testing.assert_array_equal(dsprites.render(classes), before)


# ----------------------------------------------------------------------------- the original file


def write_original(path, n=40, seed=4, **override):
    """A small file in the original's format: n random grid rows, 0/1 images, and a pickled
    `metadata` entry like the real file's (which the reader must leave alone)."""
    index = np.sort(np.random.default_rng(seed).choice(737_280, size=n, replace=False))
    classes = dsprites.factor_classes(index)
    values = np.stack([dsprites.FACTOR_VALUES[name][classes[:, k]] for k, name in enumerate(dsprites.FACTOR_NAMES)], axis=1)
    arrays = {
        "imgs": (dsprites.render(classes)[..., 0] // 255).astype(np.uint8),
        "latents_values": np.concatenate([np.ones((n, 1)), values], axis=1),  # color column first
        "latents_classes": np.concatenate([np.zeros((n, 1), dtype=np.int64), classes], axis=1),
        "metadata": np.array({"description": "pickled, like the real file"}, dtype=object),
    }
    arrays.update(override)
    np.savez_compressed(path, **{k: v for k, v in arrays.items() if v is not None})
    return index


def test_reads_the_original_npz(tmp_path, monkeypatch):
    monkeypatch.setenv(base.CACHE_ENV, str(tmp_path / "cache"))
    path = tmp_path / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
    index = write_original(path)
    for _ in range(2):  # the second load comes from the cache
        ds = data.load("dsprites", path=str(path))
        assert ds.info["source"] == "original file" and ds.info["grid_order"] is False
        assert ds.images.shape == (40, 64, 64, 1)
        np.testing.assert_array_equal(ds.factors, dsprites.factor_classes(index))
        np.testing.assert_array_equal(ds.images[:], dsprites.render(dsprites.factor_classes(index)))
        np.testing.assert_array_equal(ds.labels, dsprites.factor_classes(index)[:, 0])
        seen = np.unique(ds.factors[:, 1]).astype(int)  # scales present in 40 random rows
        np.testing.assert_allclose(ds.factor_values["scale"][seen], np.linspace(0.5, 1, 6)[seen])


def test_original_file_errors_say_what_was_wrong(tmp_path, monkeypatch):
    monkeypatch.setenv(base.CACHE_ENV, str(tmp_path / "cache"))
    with pytest.raises(ValueError, match="no file at .*dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"):
        dsprites.load(path=tmp_path / "missing.npz")

    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="not a readable .npz"):
        dsprites.load(path=garbage)

    good = tmp_path / "good.npz"
    write_original(good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match="not a readable .npz"):
        dsprites.load(path=truncated)

    corrupt = tmp_path / "corrupt.npz"  # the zip directory is intact but the images' bytes are not
    with zipfile.ZipFile(good) as z:
        offset = z.getinfo("imgs.npy").header_offset + 200
    blob = bytearray(good.read_bytes())
    blob[offset : offset + 64] = bytes(64)
    corrupt.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="not a readable .npz"):
        dsprites.load(path=corrupt)

    lacking = tmp_path / "lacking.npz"
    write_original(lacking, latents_classes=None)
    with pytest.raises(ValueError, match="lacks the arrays latents_classes"):
        dsprites.load(path=lacking)

    wrong_size = tmp_path / "wrong_size.npz"
    write_original(wrong_size, imgs=np.zeros((40, 32, 32), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"imgs must be uint8 \[40, 64, 64\]"):
        dsprites.load(path=wrong_size)

    out_of_range = tmp_path / "out_of_range.npz"
    write_original(out_of_range, latents_classes=np.full((40, 6), 7))
    with pytest.raises(ValueError, match="latents_classes out of range"):
        dsprites.load(path=out_of_range)


def test_unknown_split_names_the_accepted_ones():
    with pytest.raises(ValueError, match="no split 'valid'; choose one of: train, test"):
        data.load("dsprites", split="valid")
    assert data.options("dsprites") == {"path": None}
