"""Loaders for real data: image decoding (data/images.py), digits, IDX (MNIST /
Fashion-MNIST), CelebA and image folders.

The fixtures write tiny datasets in the exact official formats, so the parsers are
tested against the real layouts without any download; real Fashion-MNIST is read
from Debian's package where it is installed.
"""

import gzip
import io
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import data
from data import celeba, digits, folder, idx, images

FASHION_DIR = Path(idx.FASHION_MNIST_DIR)
CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
    "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
    "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
    "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
    "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_LAB_CACHE", str(tmp_path / "cache"))


def encoded(img: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **params)
    return buffer.getvalue()


def noise(size, mode="RGB", seed=0) -> Image.Image:
    """Random pixels: incompressible, so a truncated file really lacks image data."""
    channels = len(mode)
    array = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    return Image.fromarray(array[..., 0] if channels == 1 else array, mode)


# ----------------------------------------------------------------------------- images.py


def _rgba():
    img = Image.new("RGBA", (8, 8), (255, 0, 0, 255))
    img.putpixel((0, 0), (0, 0, 0, 0))  # fully transparent black -> white
    return img


def _palette():
    img = Image.new("P", (8, 8), 1)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.putpixel((0, 0), 0)
    img.info["transparency"] = 0  # palette entry 0 (black) is transparent
    return img


def _sixteen_bit():
    values = np.full((8, 8), 257 * 100, np.uint16)
    values[0, 0] = 65535
    return Image.fromarray(values)


@pytest.mark.parametrize(
    "make, fmt, mode, corner, body",
    [
        (_rgba, "PNG", "RGB", (255, 255, 255), (255, 0, 0)),
        (lambda: Image.new("LA", (8, 8), (90, 0)), "PNG", "L", 255, 255),
        (_palette, "PNG", "RGB", (255, 255, 255), (255, 0, 0)),
        (_sixteen_bit, "PNG", "L", 255, 100),  # scaled by 257, not clipped at 255
        (lambda: Image.new("CMYK", (8, 8), (0, 0, 0, 0)), "JPEG", "RGB", (255, 255, 255), (255, 255, 255)),
        (lambda: Image.new("1", (8, 8), 1), "PNG", "L", 255, 255),
        (lambda: Image.new("L", (8, 8), 77), "BMP", "L", 77, 77),
    ],
    ids=["RGBA", "LA", "P+transparency", "I;16", "CMYK", "1-bit", "L"],
)
def test_open_image_flattens_every_mode(make, fmt, mode, corner, body):
    original = make()
    img = images.open_image(encoded(original, fmt))
    assert img.mode == mode
    assert img.info["source_mode"] == Image.open(io.BytesIO(encoded(original, fmt))).mode
    assert img.getpixel((0, 0)) == corner and img.getpixel((5, 5)) == body


def test_open_image_accepts_path_bytes_and_file(tmp_path):
    blob = encoded(noise((10, 6)), "PNG")
    (tmp_path / "a.png").write_bytes(blob)
    for source in (tmp_path / "a.png", str(tmp_path / "a.png"), blob, io.BytesIO(blob)):
        assert images.open_image(source).size == (10, 6)


def test_fit_image_converts_crops_resizes_and_says_so():
    array, note = images.fit_image(images.open_image(encoded(noise((640, 480), "RGBA"), "PNG")), 64, 3)
    assert array.shape == (64, 64, 3) and array.dtype == np.uint8
    assert note == "converted RGBA → RGB, centre-cropped 640×480 → 480×480, resized to 64×64"
    gray, note = images.fit_image(Image.new("RGB", (32, 32), (200, 10, 10)), 32, 1)
    assert gray.shape == (32, 32, 1) and note == "converted RGB → grayscale"
    assert images.fit_image(Image.new("L", (16, 16)), 16, 1)[1] == "used as is (16×16 grayscale)"
    # the crop is centred: a tall image keeps its middle rows
    tall = np.zeros((30, 10, 3), np.uint8)
    tall[10:20] = 255
    assert images.fit_image(Image.fromarray(tall), 10, 3)[0].min() == 255


def test_fit_image_rejects_bad_arguments():
    with pytest.raises(ValueError, match="channels must be 1 .* or 3"):
        images.fit_image(Image.new("RGB", (8, 8)), 8, 4)
    with pytest.raises(ValueError, match="size must be a positive whole number"):
        images.fit_image(Image.new("RGB", (8, 8)), 0, 3)


@pytest.mark.parametrize(
    "blob, message",
    [
        (b"hello, I am not an image", "not an image in an accepted format"),
        (encoded(noise((64, 64)), "PNG")[:2000], "damaged or truncated"),
        (encoded(noise((64, 64)), "JPEG")[:2000], "damaged or truncated"),
        (b"", "not an image"),
    ],
    ids=["text", "truncated PNG", "truncated JPEG", "empty"],
)
def test_open_image_rejects_non_images_and_truncated_files(blob, message):
    with pytest.raises(ValueError, match=message):
        images.open_image(blob)


def test_open_image_names_a_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"cannot read image file .*nope\.png"):
        images.open_image(tmp_path / "nope.png")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("limit", [1000, 3000])  # over 2x the limit Pillow refuses; between 1x and 2x we do
def test_open_image_refuses_decompression_bombs(monkeypatch, limit):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    with pytest.raises(ValueError, match="decompression bomb"):
        images.open_image(encoded(Image.new("L", (64, 64)), "PNG"))  # 4,096 pixels


# ----------------------------------------------------------------------------- digits


def test_digits_splits_cover_all_1797_with_labels():
    train, test = data.load("digits", split="train"), data.load("digits", split="test")
    assert len(train) + len(test) == 1797 and 0.18 < len(test) / 1797 < 0.22
    assert train.images.shape[1:] == (32, 32, 1) and train.images.dtype == np.uint8
    assert train.label_names == [str(d) for d in range(10)]
    # stratified: every digit is in both splits in about the same proportion
    assert np.all(np.bincount(test.labels, minlength=10) >= 30)
    assert np.array_equal(np.bincount(train.labels) + np.bincount(test.labels), np.bincount(digits.load_digits().target))
    assert train.images.max() == 255  # 16 -> 255
    assert np.array_equal(digits.load("test").labels, test.labels)  # the split is fixed


def test_digits_size_option():
    native = digits.load("test", size=8)
    raw = digits.load_digits()
    assert native.images.shape[1:] == (8, 8, 1)
    assert set(np.unique(native.images)) <= set(np.rint(np.arange(17) * 255 / 16).astype(int))
    assert raw.images.shape[0] > len(native)
    assert digits.load("train", size=16).images.shape[1:] == (16, 16, 1)


# ----------------------------------------------------------------------------- IDX


def write_idx(path: Path, array: np.ndarray) -> None:
    """The IDX format: 0, 0, type 0x08 (ubyte), ndim, big-endian uint32 dims, then the bytes."""
    blob = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(blob) if path.suffix == ".gz" else blob)


@pytest.fixture(params=[".gz", ""], ids=["gzipped", "plain"])
def idx_dir(request, tmp_path):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, count in (("train", 5), ("t10k", 3)):
        arrays[split] = (rng.integers(0, 256, (count, 28, 28), dtype=np.uint8), rng.integers(0, 10, count, dtype=np.uint8))
        write_idx(tmp_path / f"{split}-images-idx3-ubyte{request.param}", arrays[split][0])
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte{request.param}", arrays[split][1])
    return tmp_path, arrays


def test_idx_reads_official_files(idx_dir):
    root, arrays = idx_dir
    for split, stem in (("train", "train"), ("test", "t10k")):
        ds = data.load("mnist", split=split, data_dir=str(root))
        assert np.array_equal(ds.images[..., 0], arrays[stem][0])
        assert np.array_equal(ds.labels, arrays[stem][1])
        assert ds.label_names == [str(d) for d in range(10)]
    fashion = idx.load_fashion_mnist("test", data_dir=str(root), size=14)
    assert fashion.images.shape == (3, 14, 14, 1) and fashion.label_names[0] == "T-shirt/top"


def test_idx_reads_the_dotted_mirror_names(tmp_path):
    write_idx(tmp_path / "t10k-images.idx3-ubyte", np.zeros((2, 28, 28)))
    write_idx(tmp_path / "t10k-labels.idx1-ubyte", np.ones(2))
    assert list(idx.load_mnist("test", data_dir=tmp_path).labels) == [1, 1]


@pytest.mark.parametrize("cut", [100, 7], ids=["short data", "short header"])
def test_idx_truncated_file_is_a_clear_error(idx_dir, cut):
    root, _ = idx_dir
    path = next(root.glob("t10k-images*"))
    blob = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    path.write_bytes(blob[:cut])
    with pytest.raises(ValueError, match=rf"{path.name} is truncated"):
        idx.load_mnist("test", data_dir=root)


def test_idx_truncated_gzip_and_wrong_file_are_clear_errors(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28)))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(2))
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    images_gz = tmp_path / "t10k-images-idx3-ubyte.gz"
    images_gz.write_bytes(images_gz.read_bytes()[:-20])
    with pytest.raises(ValueError, match="damaged or truncated gzip file"):
        idx.load_mnist("test", data_dir=tmp_path)
    images_gz.write_bytes(labels.read_bytes())  # a labels file where the images belong
    with pytest.raises(ValueError, match="not a 3-dimensional IDX file"):
        idx.load_mnist("test", data_dir=tmp_path)


def test_idx_missing_files_say_where_and_how(tmp_path):
    with pytest.raises(
        ValueError, match=r"looked for train-images-idx3-ubyte\[\.gz\] and train-labels.*apt-get install dataset-fashion-mnist"
    ):
        idx.load_fashion_mnist(data_dir=str(tmp_path))
    with pytest.raises(ValueError, match=r"data_dir .*missing does not exist.*apt-get install dataset-fashion-mnist"):
        data.load("fashion-mnist", data_dir=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match=r"mnist needs data_dir.*--data-dir"):
        data.load("mnist")


# CI installs the package, so there a missing directory fails the test instead of skipping it
@pytest.mark.skipif(not FASHION_DIR.is_dir() and not os.environ.get("CI"), reason="apt-get install dataset-fashion-mnist")
def test_real_fashion_mnist():
    train, test = data.load("fashion-mnist", split="train"), data.load("fashion-mnist", split="test")
    assert len(train) == 60000 and len(test) == 10000
    assert train.images.shape[1:] == (28, 28, 1) and train.images.dtype == np.uint8
    assert train.label_names == idx.FASHION_MNIST_CLASSES
    assert np.array_equal(np.bincount(train.labels), np.full(10, 6000))  # balanced classes
    assert np.array_equal(np.bincount(test.labels), np.full(10, 1000))


# ----------------------------------------------------------------------------- CelebA


@pytest.fixture
def celeba_root(tmp_path):
    """Ten 178x218 JPEGs in the official layout. The 178x178 centre crop is green with a
    red level that encodes the image's number; the 20 rows above and below are magenta,
    so a wrong crop shows. Partition: 6 train, 2 valid, 2 test."""
    root = tmp_path / "celeba"
    (root / "img_align_celeba").mkdir(parents=True)
    rng = np.random.default_rng(0)
    values = rng.choice([-1, 1], size=(10, 40))
    partition = [0, 0, 1, 0, 2, 0, 0, 1, 2, 0]
    for i in range(10):
        pixels = np.full((218, 178, 3), (20 * i, 200, 0), np.uint8)
        pixels[:20] = pixels[-20:] = (255, 0, 255)
        Image.fromarray(pixels).save(root / "img_align_celeba" / f"{i + 1:06d}.jpg", quality=95)
    # list_attr_celeba.txt exactly as shipped: the count, the names (with a trailing
    # space), then the file name and right-aligned -1/1 values
    rows = [f"{i + 1:06d}.jpg" + "".join(f" {v:2d}" for v in values[i]) for i in range(10)]
    (root / "list_attr_celeba.txt").write_text("10\n" + " ".join(CELEBA_ATTRIBUTES) + " \n" + "\n".join(rows) + "\n")
    (root / "list_eval_partition.txt").write_text("".join(f"{i + 1:06d}.jpg {p}\n" for i, p in enumerate(partition)))
    return root, values, np.array(partition)


def test_a_large_jpeg_is_decoded_at_a_reduced_scale_and_fitted_the_same():
    """A 4096x3000 photo for a 64x64 model decodes at half scale (each side stays >= 1024), and the fitted picture and
    its note are what a full decode gives."""
    smooth = Image.fromarray(np.linspace(0, 255, 256 * 3, dtype=np.uint8).reshape(16, 16, 3)).resize((4096, 3000), Image.BILINEAR)
    jpeg = encoded(smooth, "JPEG", quality=95)
    drafted, full = images.open_image(jpeg, min_side=64), images.open_image(jpeg)
    assert drafted.size == (2048, 1500) and full.size == (4096, 3000)
    (a, note_a), (b, note_b) = images.fit_image(drafted, 64, 3), images.fit_image(full, 64, 3)
    assert note_a == note_b == "centre-cropped 4096×3000 → 3000×3000, resized to 64×64"
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 3


def test_celeba_reads_the_official_layout(celeba_root):
    root, values, partition = celeba_root
    for split, part in (("train", 0), ("valid", 1), ("test", 2)):
        ds = data.load("celeba", split=split, root=str(root), size=8)
        rows = np.flatnonzero(partition == part)
        assert ds.images.shape == (len(rows), 8, 8, 3)
        assert ds.attribute_names == CELEBA_ATTRIBUTES
        assert np.array_equal(ds.attributes, (values[rows] > 0).astype(np.uint8))
        red, green, blue = ds.images.reshape(-1, 64, 3).mean(1).T
        assert np.all(green > 190) and np.all(blue < 20)  # nothing of the magenta border
        assert np.allclose(red, 20 * rows, atol=8)  # in the partition file's order
    assert ds.attribute("Smiling").tolist() == (values[rows, CELEBA_ATTRIBUTES.index("Smiling")] > 0).tolist()


def test_celeba_n_option_and_cache(celeba_root, monkeypatch):
    root, _, _ = celeba_root
    first = celeba.load("train", root=root, size=16, n=4)
    assert len(first) == 4 and first.info["files"] == ["000001.jpg", "000002.jpg", "000004.jpg", "000006.jpg"]
    assert len(celeba.load("train", root=root, size=16, n=100)) == 6  # fewer than n: all of them
    monkeypatch.setattr(images, "load_images", lambda *a, **k: pytest.fail("decoded again instead of using the cache"))
    again = celeba.load("train", root=root, size=16, n=4)
    assert np.array_equal(again.images, first.images) and np.array_equal(again.attributes, first.attributes)
    # torchvision's layout (root/celeba/...) resolves to the same directory, hence the same cache entry
    assert np.array_equal(celeba.load("train", root=root.parent, size=16, n=4).images, first.images)
    assert len(celeba.load("train", root=root, size=16, n="4")) == 4  # the CLI passes --n as a string
    for bad in (0, "four", 2.5):
        with pytest.raises(ValueError, match="n must be a positive whole number"):
            celeba.load("train", root=root, n=bad)


def test_celeba_missing_and_broken_files(celeba_root, tmp_path):
    root, _, _ = celeba_root
    with pytest.raises(ValueError, match=r"celeba needs root.*img_align_celeba/, list_attr_celeba.txt and list_eval_partition.txt"):
        data.load("celeba")
    (root / "list_eval_partition.txt").unlink()
    with pytest.raises(ValueError, match=r"is missing list_eval_partition.txt.*root="):
        celeba.load("train", root=root)
    with pytest.raises(ValueError, match="does not exist"):
        celeba.load("train", root=tmp_path / "nowhere")


def test_celeba_corrupt_image_is_named(celeba_root):
    root, _, _ = celeba_root
    bad = root / "img_align_celeba" / "000004.jpg"
    bad.write_bytes(bad.read_bytes()[:600])
    (root / "img_align_celeba" / "000006.jpg").unlink()
    with pytest.raises(ValueError, match=r"2 of 6 images could not be decoded(.|\n)*000004.jpg is damaged or truncated(.|\n)*000006.jpg"):
        celeba.load("train", root=root, size=8)


def test_celeba_bad_attribute_file(celeba_root):
    root, _, _ = celeba_root
    path = root / "list_attr_celeba.txt"
    path.write_text(path.read_text().replace("000003.jpg -1", "000003.jpg  0").replace("000003.jpg  1", "000003.jpg  0"))
    with pytest.raises(ValueError, match="values other than -1 and 1"):
        celeba.load("train", root=root)
    path.write_text("\n".join(path.read_text().splitlines()[:-1]))
    with pytest.raises(ValueError, match="says it has 10 images but has 9 rows"):
        celeba.load("train", root=root)


# ----------------------------------------------------------------------------- folder


@pytest.fixture
def image_folder(tmp_path):
    """One file per tricky case, in subdirectories, plus files the loader must ignore."""
    root = tmp_path / "pics"
    for sub in ("a", "b", ".ipynb_checkpoints"):
        (root / sub).mkdir(parents=True)
    _rgba().save(root / "a" / "rgba.png")
    _palette().save(root / "a" / "palette.png")
    _sixteen_bit().save(root / "b" / "deep.png")
    Image.new("L", (20, 12), 128).save(root / "b" / "gray.jpg")
    Image.new("RGB", (12, 12), (0, 0, 255)).save(root / "photo.webp")
    Image.new("RGB", (9, 9), (0, 255, 0)).save(root / "old.BMP")
    Image.new("RGB", (9, 9)).save(root / ".ipynb_checkpoints" / "old-checkpoint.png")
    (root / "notes.txt").write_text("not an image")
    files = ["a/palette.png", "a/rgba.png", "b/deep.png", "b/gray.jpg", "old.BMP", "photo.webp"]
    return root, files


def test_folder_finds_and_converts_every_kind(image_folder):
    root, files = image_folder
    ds = data.load("folder", split="all", root=str(root), size=8)
    assert ds.info["files"] == files  # sorted, recursive, hidden and non-image files ignored
    assert ds.images.shape == (6, 8, 8, 3) and ds.labels is None and ds.attributes is None
    centre = ds.images[:, 4, 4].tolist()
    assert centre[files.index("a/rgba.png")] == [255, 0, 0]
    assert centre[files.index("b/deep.png")] == [100, 100, 100]
    assert centre[files.index("old.BMP")] == [0, 255, 0]
    gray = folder.load("all", root=root, size=4, channels=1)
    assert gray.images.shape == (6, 4, 4, 1)


def test_folder_labels_csv(image_folder):
    root, files = image_folder
    labels = ["cat", "dog", "cat", "bird", "dog", "cat"]
    (root / "labels.csv").write_text("file,label\n" + "".join(f"./{f},{c}\n" for f, c in zip(reversed(files), reversed(labels))))
    ds = folder.load("all", root=root, size=4)
    assert ds.label_names == ["bird", "cat", "dog"]
    assert [ds.label_names[i] for i in ds.labels] == labels  # rows matched by name, not order


def test_folder_attribute_csv(image_folder, tmp_path):
    root, files = image_folder
    csv_path = tmp_path / "attrs.csv"
    csv_path.write_text("image,Smiling,Male\n" + "".join(f"{f},{1 if i % 2 else -1},{i % 3 == 0:d}\n" for i, f in enumerate(files)))
    ds = folder.load("all", root=root, size=4, labels_csv=str(csv_path))
    assert ds.attribute_names == ["Smiling", "Male"]
    assert ds.attribute("Smiling").tolist() == [0, 1, 0, 1, 0, 1] and ds.attribute("Male").tolist() == [1, 0, 0, 1, 0, 0]
    csv_path.write_text(csv_path.read_text().replace("old.BMP,-1", "old.BMP,yes"))
    with pytest.raises(ValueError, match="attribute values must be 0/1 or -1/1, found 'yes'.*single column named `label`"):
        folder.load("all", root=root, labels_csv=str(csv_path))


def test_folder_csv_must_match_the_images(image_folder):
    root, files = image_folder
    (root / "labels.csv").write_text("file,label\n" + "".join(f"{f},x\n" for f in files[1:]))
    with pytest.raises(ValueError, match="has no row for 1 images under the root: a/palette.png"):
        folder.load("all", root=root)
    (root / "labels.csv").write_text("file,label\n" + "".join(f"{f},x\n" for f in files + ["gone.png"]))
    with pytest.raises(ValueError, match="rows for 1 files that are not images under the root: gone.png"):
        folder.load("all", root=root)


def test_folder_split_is_a_stable_hash_partition(tmp_path):
    for i in range(40):
        Image.new("L", (4, 4), i).save(tmp_path / f"{i:02d}.png")
    train, test, every = (folder.load(s, root=tmp_path, size=4, channels=1) for s in ("train", "test", "all"))
    assert 0 < len(test) < len(train) and len(train) + len(test) == 40
    assert sorted(train.info["files"] + test.info["files"]) == every.info["files"]
    (tmp_path / "new.png").write_bytes((tmp_path / "00.png").read_bytes())
    assert set(test.info["files"]) <= set(folder.load("test", root=tmp_path, size=4).info["files"])  # adding files moves none


def test_folder_corrupt_and_fake_images_are_named(image_folder):
    root, _ = image_folder
    (root / "b" / "gray.jpg").write_bytes((root / "b" / "gray.jpg").read_bytes()[:200])
    (root / "fake.png").write_text("I am text")
    with pytest.raises(ValueError, match=r"2 of 7 images(.|\n)*gray.jpg is damaged or truncated(.|\n)*fake.png is not an image"):
        folder.load("all", root=root)


def test_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="folder needs root"):
        data.load("folder")
    with pytest.raises(ValueError, match=r"no images under .*accepted file types: \.png"):
        folder.load("all", root=tmp_path)
    Image.new("L", (4, 4)).save(tmp_path / "only.png")
    empty = "test" if folder._in_test(["only.png"])[0] == 0 else "train"
    with pytest.raises(ValueError, match=f"in the '{empty}' split.*split='all'"):
        folder.load(empty, root=tmp_path)
    with pytest.raises(ValueError, match="channels must be 1"):
        folder.load("all", root=tmp_path, channels=4)


# ----------------------------------------------------------------------------- all loaders


@pytest.mark.parametrize("name", ["digits", "fashion-mnist", "mnist", "celeba", "folder"])
def test_unknown_split_lists_the_accepted_ones(name):
    with pytest.raises(ValueError, match=rf"dataset '{name}' has no split 'validation'; choose one of: train"):
        data.load(name, split="validation")


def test_options_are_introspectable():
    assert data.options("celeba") == {"root": None, "size": 64, "n": None}
    assert data.options("folder") == {"root": None, "size": 64, "channels": 3, "labels_csv": None}
    assert data.options("fashion-mnist") == {"data_dir": idx.FASHION_MNIST_DIR, "size": 28}
    with pytest.raises(ValueError, match="has no option colour"):
        data.load("digits", colour=True)
