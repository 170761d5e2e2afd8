"""The faces dataset: determinism, factor/attribute/pixel consistency, caching."""

import multiprocessing

import numpy as np
import pytest
import torch

import data
from data import faces
from data.face_drawing import render_face
from data.face_factors import ATTRIBUTE_NAMES, STYLES, VERSION, F, attributes_from_factors, sample_factors


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_LAB_CACHE", str(tmp_path / "cache"))


def upright(**changes):
    """A centred, untilted face whose factors are all mid-range, with `changes` applied."""
    f = sample_factors(1, seed=0)[0]
    for name in ("head_tilt", "offset_x", "offset_y", "scale", "smile", "mouth_open"):
        f[F[name]] = 0.0
    f[F["glasses"]] = f[F["hat"]] = f[F["facial_hair"]] = 0
    f[F["hair_style"]] = 1  # short
    for name, value in changes.items():
        f[F[name]] = value
    return f


def changed_rows(a, b):
    """Fractions of image height spanned by pixels that differ between two renders."""
    rows = np.flatnonzero(np.abs(a.astype(int) - b.astype(int)).max(axis=(1, 2)) > 8)
    assert len(rows), "the change did not alter the image"
    return rows[0] / a.shape[0], rows[-1] / a.shape[0]


def test_factors_and_render_are_deterministic():
    assert np.array_equal(sample_factors(50, seed=3), sample_factors(50, seed=3))
    assert not np.array_equal(sample_factors(50, seed=3), sample_factors(50, seed=4))
    f = sample_factors(1, seed=3)[0]
    assert np.array_equal(render_face(f), render_face(f))


def test_parallel_render_matches_serial():
    f = sample_factors(1200, seed=5)
    serial = faces.render_faces(f, size=32, workers=1, progress=False)
    parallel = faces.render_faces(f, size=32, workers=2, progress=False)
    assert np.array_equal(serial, parallel)


@pytest.mark.parametrize("size", [32, 64, 128])
def test_sizes(size):
    image = render_face(upright(), size)
    assert image.shape == (size, size, 3) and image.dtype == np.uint8
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 20  # antialiased edges, not flat fills


def test_bad_size_and_factor_count():
    with pytest.raises(ValueError, match="size must be one of"):
        render_face(upright(), 48)
    with pytest.raises(ValueError, match="needs 18 factors"):
        render_face(upright()[:5])


def test_eyeglasses_change_only_the_eye_band():
    top, bottom = changed_rows(render_face(upright(glasses=0)), render_face(upright(glasses=1)))
    assert 0.25 < top and bottom < 0.52  # the eyes sit at about 0.4 of the height


def test_smile_and_mouth_change_only_the_lower_face():
    for change in ({"smile": 0.9}, {"mouth_open": 0.9}):
        top, bottom = changed_rows(render_face(upright()), render_face(upright(**change)))
        assert top > 0.5 and bottom < 0.8, change  # the mouth sits at about 0.67 of the height


def test_hat_changes_only_the_top():
    top, bottom = changed_rows(render_face(upright()), render_face(upright(hat=1)))
    assert bottom < 0.25  # the face fills the frame: the crown is cropped, and the hat with it


def test_open_mouth_shows_teeth():
    closed, open_ = render_face(upright(mouth_open=0.0), 128), render_face(upright(mouth_open=1.0), 128)
    near_white = lambda im: (im[64:] > 240).all(axis=2).sum()  # noqa: E731  teeth, lower half only
    assert near_white(open_) > near_white(closed) + 20


@pytest.mark.parametrize("version", sorted(STYLES))
def test_attributes_follow_factors(version):
    f = sample_factors(4000, seed=1, version=version)
    attrs = attributes_from_factors(f, version)
    col = {name: attrs[:, i] for i, name in enumerate(ATTRIBUTE_NAMES)}
    thresholds = STYLES[version].thresholds
    assert np.array_equal(col["Smiling"], f[:, F["smile"]] > thresholds["smile"][0])
    assert np.array_equal(col["Eyeglasses"], f[:, F["glasses"]] > 0)
    assert np.array_equal(col["No_Beard"], f[:, F["facial_hair"]] == 0)
    bald = col["Bald"] == 1
    hair_colours = np.stack([col[c] for c in ("Black_Hair", "Brown_Hair", "Blond_Hair", "Red_Hair", "Gray_Hair")], 1)
    assert (hair_colours[bald].sum(1) == 0).all() and (hair_colours[~bald].sum(1) == 1).all()
    for name, (t, gap) in thresholds.items():  # sampling leaves the band around each threshold empty
        assert not ((f[:, F[name]] > t - gap) & (f[:, F[name]] < t + gap)).any(), name
    rates = attrs.mean(0)
    assert (rates > 0.05).all() and (rates < 0.95).all(), dict(zip(ATTRIBUTE_NAMES, rates))


def test_correlated_option_couples_attributes():
    def p_open_given_smile(correlated):
        ds = data.load("faces", n=3000, size=32, correlated=correlated)
        smiling, open_ = ds.attribute("Smiling") == 1, ds.attribute("Mouth_Slightly_Open") == 1
        return open_[smiling].mean(), open_[~smiling].mean()

    independent, correlated = p_open_given_smile(False), p_open_given_smile(True)
    assert abs(independent[0] - independent[1]) < 0.08
    assert correlated[0] - correlated[1] > 0.5


def test_load_returns_dataset_with_ground_truth():
    ds = data.load("faces", split="test", n=40, size=32)
    assert len(ds) == 40 and ds.images.shape == (40, 32, 32, 3)
    assert ds.attribute_names == ATTRIBUTE_NAMES and ds.attributes.shape == (40, len(ATTRIBUTE_NAMES))
    assert ds.factor_sizes[F["hair_color"]] == 5 and ds.factor_sizes[F["smile"]] == 0
    assert np.array_equal(ds.images[7], render_face(ds.factors[7], 32))  # pixels come from the stored factors
    x = ds.batch(slice(0, 4))
    assert x.shape == (4, 3, 32, 32) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    train = data.load("faces", split="train", n=40, size=32)
    assert not np.array_equal(train.factors, ds.factors)  # splits have their own seeds


def test_second_load_comes_from_cache(tmp_path):
    first = data.load("faces", n=30, size=32)
    assert len(list((tmp_path / "cache").glob("faces-*.npz"))) == 1
    second = data.load("faces", n=30, size=32)
    assert np.array_equal(first.images, second.images)


def test_damaged_cache_is_rebuilt(tmp_path):
    first = data.load("faces", n=30, size=32)
    path = next((tmp_path / "cache").glob("faces-*.npz"))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # truncate, as a killed writer would
    with pytest.warns(UserWarning, match="damaged"):
        again = data.load("faces", n=30, size=32)
    assert np.array_equal(first.images, again.images)


def _load_in_child(queue):
    queue.put(data.load("faces", n=300, size=32).images.sum())


def test_two_processes_share_one_cache_file(tmp_path):
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_load_in_child, args=(queue,)) for _ in range(2)]
    for p in procs:
        p.start()
    sums = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    assert sums[0] == sums[1] == data.load("faces", n=300, size=32).images.sum()
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1 and not list((tmp_path / "cache").glob("*.tmp"))


def test_unknown_split_and_option():
    with pytest.raises(ValueError, match="no split 'val'"):
        data.load("faces", split="val", n=4)
    with pytest.raises(ValueError, match="has no option colour"):
        data.load("faces", colour=True)
    with pytest.raises(ValueError, match="unknown dataset 'celebA'"):
        data.load("celebA")


# --- versions: version 2 frames the face like CelebA's aligned crops; version 1 stays as it was


def face_box(image):
    """(width, height) fractions of the image spanned by skin-coloured pixels (the face and ears)."""
    upright_skin = render_face(upright(hat=0), image.shape[0])[image.shape[0] // 2, image.shape[0] // 2]  # the nose bridge: skin
    mask = np.abs(image.astype(int) - upright_skin.astype(int)).max(axis=2) < 12
    cols, rows = np.flatnonzero(mask.any(0)), np.flatnonzero(mask.any(1))
    return (cols[-1] - cols[0] + 1) / image.shape[1], (rows[-1] - rows[0] + 1) / image.shape[0]


def test_version_2_face_fills_the_frame_and_version_1_does_not():
    assert VERSION == 2
    width1, _ = face_box(render_face(upright(), 64, version=1))
    width2, height2 = face_box(render_face(upright(), 64, version=2))
    assert width1 < 0.45 and width2 > 0.6 and height2 > 0.7, (width1, width2, height2)


def margin_pixels(version, size, factor):
    """Pixels that differ by more than 16 of 255 between a face at the two edges of `factor`'s excluded gap: how
    visible the difference between the two sides of its attribute is (the mouth closed for the smile, neutral for the rest)."""
    t, gap = STYLES[version].thresholds[factor]
    base = {"mouth_open": 0.0} if factor == "smile" else {"smile": 0.0}
    low, high = (render_face(upright(**{**base, factor: value}), size, version=version).astype(int) for value in (t - gap, t + gap))
    return int((np.abs(low - high).max(axis=2) > 16).sum())


@pytest.mark.parametrize("factor", ["smile", "mouth_open", "eye_openness"])
def test_version_2_attribute_margins_are_visible(factor):
    """Smiling, Mouth_Slightly_Open and Narrow_Eyes: at 64x64 the two sides of the threshold differ in at least 30
    pixels (version 1: at most 8, too few for a person to tell them apart), and at 32x32 still in some."""
    assert margin_pixels(2, 64, factor) >= 30 and margin_pixels(2, 32, factor) >= 4, factor
    assert margin_pixels(1, 64, factor) <= 8 and margin_pixels(2, 64, factor) >= 4 * max(1, margin_pixels(1, 64, factor))


def test_version_2_details_cover_more_pixels():
    """Glasses and a mustache change at least twice as many pixels at 32x32 in version 2 as in version 1."""
    for change in ({"glasses": 1}, {"facial_hair": 1}):
        changed = [
            (
                np.abs(render_face(upright(), 32, version=v).astype(int) - render_face(upright(**change), 32, version=v).astype(int)).max(
                    axis=2
                )
                > 24
            ).sum()
            for v in (1, 2)
        ]
        assert changed[1] >= 2 * changed[0] > 0, (change, changed)


def test_versions_are_cached_apart_and_recorded():
    one, two = data.load("faces", n=30, size=32, version=1), data.load("faces", n=30, size=32)
    assert two.info["renderer_version"] == VERSION and one.info["renderer_version"] == 1
    assert not np.array_equal(one.images, two.images)
    assert np.array_equal(one.images[3], render_face(one.factors[3], 32, version=1))
    with pytest.raises(ValueError, match="faces version must be one of 1, 2, got 3"):
        data.load("faces", n=30, size=32, version=3)


def test_a_record_without_a_version_means_version_1():
    """Checkpoints trained before the renderer was versioned recorded no version: they are measured on version 1;
    a new run records the version it trained on."""
    assert data.recorded("faces", {}) == {"version": 1} and data.recorded("faces", {"version": 2, "size": 32}) == {"version": 2, "size": 32}
    assert data.pinned("faces", {"size": 32}) == {"size": 32, "version": VERSION}
    assert data.pinned("digits", {}) == {} == data.recorded("digits", {})
