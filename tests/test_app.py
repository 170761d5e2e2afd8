"""The explorer through its API: every endpoint called by gradio_client against a launched server.

Uploads are files the tests write; results come back as local files and are compared as pixels.
Bad input must give a gr.Error naming the problem (gradio_client raises AppError carrying its
message; any other exception reaches the client as Gradio's generic "has not enabled verbose
error reporting") and the server must answer the next request.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import struct
import tempfile
import time
import zlib
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

import ui
import ui.common

GENERIC = "has not enabled verbose error reporting"  # what a client sees for an exception that is not a gr.Error
POOL = 32  # slider values /decode takes: ui.sliders.MAX_ACTIVE + MAX_INACTIVE
DISPLAY = 256  # ui.common.DISPLAY: 16-pixel pictures come back upscaled 16x


# --- helpers


@pytest.fixture
def client(app):
    """A fresh client: its own session, so the current latent of one test never leaks into another."""
    return Client(app.url, verbose=False)


@pytest.fixture
def label(app):
    return lambda key: app.labels[key]


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def write(path, image: Image.Image, **save) -> str:
    image.save(path, **save)
    return str(path)


def digit_png(tmp_path, name="digit.png", size=(40, 30)) -> str:
    """An RGB, non-square picture: a bright bar on black, so every model sees something."""
    a = np.zeros((size[1], size[0], 3), np.uint8)
    a[size[1] // 4 : 3 * size[1] // 4, size[0] // 2 - 3 : size[0] // 2 + 3] = 255
    return write(tmp_path / name, Image.fromarray(a))


def gray_png(tmp_path, name="gray.png", seed=0) -> str:
    """A 16x16 grayscale picture: the models' own size and mode."""
    a = np.random.default_rng(seed).integers(0, 256, (16, 16), dtype=np.uint8)
    return write(tmp_path / name, Image.fromarray(a))


def reconstruct(client, model, path, noise=0.0, class_choice=None):
    """(model input, reconstruction, error map, note)."""
    return client.predict(model, handle_file(path), noise, class_choice, [], api_name="/reconstruct")


def error_of(client, *args, api_name) -> str:
    """The message of the gr.Error this call raises (failing if it succeeds or the error is not a gr.Error)."""
    with pytest.raises(AppError) as info:
        client.predict(*args, api_name=api_name)
    message = str(info.value)
    assert GENERIC not in message and "Traceback" not in message, f"{api_name} raised an exception that is not a gr.Error: {message}"
    return message


def assert_serving(app, tmp_path):
    """The server still answers a good request (after a bad one), from a new session."""
    shown, output, _, note = reconstruct(Client(app.url, verbose=False), app.labels["vae"], gray_png(tmp_path, "after.png"))
    assert pixels(output).shape[:2] == (DISPLAY, DISPLAY) and "PSNR" in note


# --- Reconstruct


def test_reconstruct_returns_images_and_says_what_was_done(client, label, tmp_path):
    shown, output, error, note = reconstruct(client, label("vae"), digit_png(tmp_path))
    for path in (shown, output, error):
        assert path.endswith(".png")  # lossless: Gradio's default WebP would blur 16-pixel pictures
        assert pixels(path).shape[:2] == (DISPLAY, DISPLAY)
    assert "converted RGB → grayscale" in note and "centre-cropped 40×30 → 30×30" in note and "resized to 16×16" in note
    assert "PSNR" in note
    same = reconstruct(client, label("vae"), digit_png(tmp_path, "again.png"))
    assert np.array_equal(pixels(output), pixels(same[1]))  # deterministic: the posterior mean


def test_reconstruct_an_image_of_the_models_size_is_used_as_is(client, label, tmp_path):
    path = gray_png(tmp_path)
    shown, _, _, note = reconstruct(client, label("vae"), path)
    assert "used as is (16×16 grayscale). Reconstruction MSE" in note  # after the warning: a gradient is no digit
    assert note.startswith("**This image is unlike the digits images vae was trained on")
    assert np.array_equal(pixels(shown)[::16, ::16], pixels(path))  # the model saw exactly the uploaded pixels


def test_denoising_model_corrupts_the_input_first(client, label, tmp_path):
    path = digit_png(tmp_path)
    clean = reconstruct(client, label("dae"), path, noise=0.0)
    noisy = reconstruct(client, label("dae"), path, noise=0.5)
    again = reconstruct(client, label("dae"), path, noise=0.5)
    assert "corrupted" not in clean[3]
    assert "noise at 0.50" in noisy[3] and "against the clean image" in noisy[3] and "against the input" in clean[3]
    exact = gray_png(tmp_path)  # the model's own size: the shown pictures are its pixels, 16x upscaled
    shown, output, _, note = reconstruct(client, label("dae"), exact, noise=0.5)
    stated = float(re.search(r"PSNR (-?[\d.]+) dB", note).group(1))

    def psnr(reference: np.ndarray) -> float:
        return 10 * np.log10(1 / np.mean((pixels(output)[::16, ::16] / 255.0 - reference / 255.0) ** 2))

    assert abs(stated - psnr(pixels(exact))) < 0.3 < abs(stated - psnr(pixels(shown)[::16, ::16])), (
        note
    )  # the clean upload, not the corrupted one
    assert not np.array_equal(pixels(clean[0]), pixels(noisy[0]))  # the model input shows the corruption
    assert np.array_equal(pixels(noisy[0]), pixels(again[0]))  # with a fixed seed: a stable picture
    assert "corrupted" not in reconstruct(client, label("vae"), path, noise=0.5)[3]  # other models ignore the slider


def test_conditional_model_reconstructs_with_a_class(client, label, tmp_path):
    path = digit_png(tmp_path)
    three = reconstruct(client, label("cvae"), path, class_choice="3")
    seven = reconstruct(client, label("cvae"), path, class_choice="7")
    assert not np.array_equal(pixels(three[1]), pixels(seven[1]))


# --- bad uploads: a clear message, and the server keeps serving


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height grayscale pixels, followed by one tiny pixel row:
    what a decompression bomb looks like to a decoder that trusts the header."""
    raw = io.BytesIO()
    Image.new("L", (1, 1)).save(raw, format="PNG")
    data = bytearray(raw.getvalue())
    ihdr = 8 + 8  # signature, then the IHDR chunk's length and type
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13])))  # CRC over type + data
    return bytes(data)


def _text_as_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not an image\n")
    return str(path)


def _truncated_png(tmp_path):
    whole = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(whole, format="PNG")
    path = tmp_path / "truncated.png"
    path.write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])
    return str(path)


def _bomb_header(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header(20_000, 20_000))  # 400 megapixels, 4.5x Pillow's default limit
    return str(path)


@pytest.mark.parametrize(
    "make, expected",
    [
        (_text_as_png, r"not an image|could not read the upload as an image"),
        (_truncated_png, r"truncated|damaged"),
        (_bomb_header, r"decompression bomb"),
    ],
    ids=["text-file", "truncated-png", "bomb-header"],
)
def test_unreadable_upload_gives_a_clear_error(make, expected, app, client, label, tmp_path):
    message = error_of(client, label("vae"), handle_file(make(tmp_path)), 0.0, None, [], api_name="/reconstruct")
    assert re.search(expected, message, flags=re.IGNORECASE), message
    assert_serving(app, tmp_path)


def test_upload_errors_name_the_file_not_the_servers_temp_path(client, label, tmp_path):
    message = error_of(client, label("vae"), handle_file(_text_as_png(tmp_path)), 0.0, None, [], api_name="/reconstruct")
    assert "notes.png" in message
    assert not re.search(r"/\S*notes\.png", message), f"the message shows a server path: {message}"


def test_image_over_the_pixel_limit_is_refused_before_decoding(app, client, label, tmp_path, monkeypatch):
    """A real image just over a (lowered) limit: the server runs in this process, so the limit is ours to set."""
    monkeypatch.setattr(ui.common, "MAX_UPLOAD_PIXELS", 64 * 64)
    path = write(tmp_path / "large.png", Image.fromarray(np.zeros((80, 80), np.uint8)))  # 6,400 pixels: a small file, a big image
    message = error_of(client, label("vae"), handle_file(path), 0.0, None, [], api_name="/reconstruct")
    assert "decompression bomb" in message and "80×80" in message
    monkeypatch.undo()
    assert_serving(app, tmp_path)


def test_a_file_over_the_byte_limit_is_refused_before_it_is_stored(app, client, label, tmp_path, monkeypatch):
    """Gradio's max_file_size (ui.launch) refuses an upload over MAX_UPLOAD_BYTES with HTTP 413: nothing is decoded."""
    path = tmp_path / "big.png"
    path.write_bytes(b"\x89PNG" + b"\0" * (ui.common.MAX_UPLOAD_BYTES + 1))
    response = httpx.post(f"{app.url}gradio_api/upload", files={"files": ("big.png", path.read_bytes(), "image/png")}, timeout=60)
    assert response.status_code == 413 and "20" in response.text
    assert_serving(app, tmp_path)


def test_empty_upload_is_explained(client, label):
    message = error_of(client, label("vae"), None, 0.0, None, [], api_name="/reconstruct")
    assert "upload an image" in message


# --- uploads in other modes are converted, and the note says from what


def _sixteen_bit(tmp_path):
    return write(tmp_path / "deep.png", Image.fromarray(np.full((16, 16), 32896, np.uint16)))  # 32896 / 257 = 128: mid-grey


def _cmyk_jpeg(tmp_path):
    return write(tmp_path / "print.jpg", Image.new("CMYK", (16, 16), (0, 0, 0, 0)), quality=95)  # no ink: white


def _palette(tmp_path):
    image = Image.new("P", (16, 16), 1)
    image.putpalette([0, 0, 0, 128, 128, 128] + [0] * 762)  # index 1 is mid-grey
    return write(tmp_path / "palette.png", image)


def _transparent(tmp_path):
    return write(tmp_path / "alpha.png", Image.new("RGBA", (16, 16), (0, 0, 0, 0)))  # fully transparent black


@pytest.mark.parametrize(
    "make, source, grey",
    [
        (_sixteen_bit, "16-bit grayscale", 128),  # scaled to 8 bits, not clipped to white
        (_cmyk_jpeg, "CMYK", 255),
        (_palette, "palette", 128),
        (_transparent, "RGBA", 255),  # composited on white, not on the hidden black
    ],
    ids=["16-bit", "cmyk-jpeg", "palette", "rgba"],
)
def test_other_image_modes_are_converted_and_noted(make, source, grey, client, label, tmp_path):
    shown, output, _, note = reconstruct(client, label("vae"), make(tmp_path))
    assert f"converted {source} → grayscale" in note, note
    assert abs(float(pixels(shown).mean()) - grey) <= 3, f"{source}: the model input should be {grey}, is {pixels(shown).mean():.1f}"
    assert pixels(output).shape[:2] == (DISPLAY, DISPLAY)


# --- models: unknown, deleted while serving


def test_unknown_model_gives_a_clear_error(app, client, label, tmp_path):
    message = error_of(client, "no-such-model", handle_file(gray_png(tmp_path)), 0.0, None, [], api_name="/reconstruct")
    assert "no-such-model" in message and label("vae") in message  # names what was wrong and what is accepted
    message = error_of(client, "no-such-model", 4, 1.0, 0, "prior", None, [], api_name="/sample")
    assert "no-such-model" in message
    assert_serving(app, tmp_path)


def test_checkpoint_deleted_while_serving(app, client, label, tmp_path):
    """Models are loaded once at startup: deleting the directory afterwards does not break them
    (and if it ever did, the answer must be a clear error, not a traceback)."""
    shutil.rmtree(app.checkpoints / app.doomed)
    try:
        _, output, _, note = reconstruct(client, label(app.doomed), gray_png(tmp_path))
        grid, _ = client.predict(label(app.doomed), 4, 1.0, 0, "prior", None, [], api_name="/sample")
    except AppError as err:
        assert GENERIC not in str(err) and app.doomed in str(err), str(err)
    else:
        assert pixels(output).shape[:2] == (DISPLAY, DISPLAY) and pixels(grid).size > 0
    assert_serving(app, tmp_path)


# --- Sample


def sample(client, model, n=4, seed=0, temperature=1.0, class_choice=None, source="prior"):
    return client.predict(model, n, temperature, seed, source, class_choice, [], api_name="/sample")


def test_sample_same_seed_same_images(client, label):
    first, note = sample(client, label("vae"), seed=7)
    again, _ = sample(client, label("vae"), seed=7)
    other, _ = sample(client, label("vae"), seed=8)
    assert np.array_equal(pixels(first), pixels(again))
    assert not np.array_equal(pixels(first), pixels(other))
    assert pixels(first).shape[:2] == (2 * DISPLAY, 2 * DISPLAY)  # 4 samples: a 2x2 grid
    assert "4 samples" in note and "seed 7" in note and "prior" in note


def test_sample_from_the_fitted_gaussian_differs_from_the_prior(client, label):
    prior, _ = sample(client, label("vae"), seed=5)
    fitted, note = sample(client, label("vae"), seed=5, source="fitted")
    assert not np.array_equal(pixels(prior), pixels(fitted)) and "fitted to the training codes" in note
    mixture, mixture_note = sample(client, label("vae"), seed=5, source="mixture")  # the digits' classes label its codes
    assert not np.array_equal(pixels(mixture), pixels(fitted)) and "a component per combination of labels" in mixture_note
    assert "it draws from: prior, fitted" in error_of(client, label("cvae"), 4, 1.0, 0, "mixture", "3", [], api_name="/sample")
    ae, ae_note = sample(client, label("dae"), seed=5, source="prior")
    assert "no prior" in ae_note


def test_sample_temperature_changes_the_images(client, label):
    cold, _ = sample(client, label("vae"), temperature=0.2)
    warm, _ = sample(client, label("vae"), temperature=1.5)
    assert not np.array_equal(pixels(cold), pixels(warm))


def test_sample_values_out_of_range_are_refused(client, label):
    assert "Number of samples: expected a number from 1 to 64, got 100" in error_of(
        client, label("vae"), 100, 1.0, 0, "prior", None, [], api_name="/sample"
    )
    assert "expected a number from 0.1 to" in error_of(client, label("vae"), 4, 5.0, 0, "prior", None, [], api_name="/sample")


def test_conditional_sampling_with_a_class(client, label):
    three, note = sample(client, label("cvae"), seed=3, class_choice="3")
    three_again, _ = sample(client, label("cvae"), seed=3, class_choice="3")
    seven, _ = sample(client, label("cvae"), seed=3, class_choice="7")
    assert np.array_equal(pixels(three), pixels(three_again))
    assert not np.array_equal(pixels(three), pixels(seven))  # same latents, other class: other images


def test_conditional_sampling_without_a_class_is_explained(client, label):
    message = error_of(client, label("cvae"), 4, 1.0, 0, "prior", None, [], api_name="/sample")
    assert "choose a class" in message and "0, 1, 2" in message


# --- Interpolate


def interpolate(client, model, source="seeds", a=None, b=None, example_a=None, example_b=None, steps=5, method="slerp", class_choice=None):
    return client.predict(model, source, a, b, example_a, example_b, 0, 1, method, steps, class_choice, [], api_name="/interpolate")


def tiles(path, n) -> list[np.ndarray]:
    strip = pixels(path)
    return np.split(strip, n, axis=1)


def test_interpolate_between_seeds(client, label):
    strip, gif, note = interpolate(client, label("vae"), steps=5)
    frames = tiles(strip, 5)
    assert pixels(strip).shape[1] == 5 * pixels(strip).shape[0]  # one row of 5 square frames
    assert not np.array_equal(frames[0], frames[-1])
    with Image.open(gif) as animation:
        assert animation.n_frames == 2 * 5 - 2  # forth and back, ends not repeated
    assert Path(gif).name.endswith("-slerp-5-steps.gif")  # a download named after what it shows
    assert "5 steps by slerp" in note and "seeds 0 and 1" in note
    lerp, _, _ = interpolate(client, label("vae"), steps=5, method="lerp")
    assert np.array_equal(tiles(lerp, 5)[0], frames[0]) and np.array_equal(tiles(lerp, 5)[-1], frames[-1])  # same ends


def test_interpolate_between_uploads(client, label, tmp_path):
    a, b = handle_file(digit_png(tmp_path, "a.png")), handle_file(gray_png(tmp_path, "b.png"))
    strip, _, note = interpolate(client, label("vae"), "images", a, b, steps=4)
    frames = tiles(strip, 4)
    assert not np.array_equal(frames[0], frames[-1]) and "posterior means" in note


def test_interpolate_between_examples(client, label):
    strip, _, _ = interpolate(client, label("vae"), "images", example_a="#0", example_b="#1", steps=3)
    assert not np.array_equal(*tiles(strip, 3)[::2])


def test_interpolate_without_images_is_explained(client, label):
    message = error_of(client, label("vae"), "images", None, None, None, None, 0, 1, "slerp", 5, None, [], api_name="/interpolate")
    assert "give both images" in message


# --- Latent sliders (/decode acts on the session's current latent, which /reconstruct sets)


def decode(client, model, values, mode="kl"):
    values = list(values) + [0.0] * (POOL - len(values))
    return client.predict(model, mode, None, [], values, api_name="/decode")


def test_decode_changes_when_a_slider_moves(client, label, tmp_path):
    reconstruct(client, label("vae"), digit_png(tmp_path))  # the current latent
    still, manifold = decode(client, label("vae"), [0.0])
    again, _ = decode(client, label("vae"), [0.0])
    moved, _ = decode(client, label("vae"), [2.0])  # the first (most informative) slider
    assert manifold is None  # a 4-D latent has no manifold picture
    assert np.array_equal(pixels(still), pixels(again))
    assert not np.array_equal(pixels(still), pixels(moved))
    pca, _ = decode(client, label("vae"), [2.0], mode="pca")
    assert not np.array_equal(pixels(moved), pixels(pca))


def test_decode_takes_negative_latent_values(client, label, tmp_path):
    """Slider ranges come from the latent statistics (p01..p99, about -2..2 for a VAE), not Gradio's default 0..100."""
    reconstruct(client, label("vae"), digit_png(tmp_path))
    low, _ = decode(client, label("vae"), [-1.5])
    high, _ = decode(client, label("vae"), [1.5])
    assert not np.array_equal(pixels(low), pixels(high))


def test_decode_without_a_current_image_is_explained(client, label):
    assert "no current image" in error_of(client, label("vae"), "kl", None, [], [0.0] * POOL, api_name="/decode")


def test_decode_two_dimensional_latent_shows_the_manifold(app, client, label, tmp_path):
    import torch

    from ui.sliders import layout

    entry = app.catalog.get(label("vae2d"))
    p01, p99 = entry.explorer.stats["p01"], entry.explorer.stats["p99"]
    specs = layout(entry, torch.zeros(2), "kl")  # the pool's order: which slider moves which dimension

    first = next(slot for slot, spec in enumerate(specs) if spec is not None)

    def at(t):  # slider values inside the manifold's p01..p99 box: the first slider at fraction t, the others midway
        values = [0.0] * POOL
        for slot, spec in enumerate(specs):
            if spec is not None:
                lo, hi = float(p01[spec.index]), float(p99[spec.index])
                values[slot] = lo + (t if slot == first else 0.5) * (hi - lo)
        return values

    reconstruct(client, label("vae2d"), digit_png(tmp_path))
    image, manifold = decode(client, label("vae2d"), at(0.2))
    moved, manifold_moved = decode(client, label("vae2d"), at(0.8))
    assert manifold is not None and not np.array_equal(pixels(image), pixels(moved))
    assert not np.array_equal(pixels(manifold), pixels(manifold_moved))  # the ring follows the point
    assert max(Image.open(manifold).size) <= 1024, f"manifold picture is {Image.open(manifold).size}: encoded as PNG on every slider tick"


# --- Attribute arithmetic


def edit(client, model, strength, name="3", source="attribute", method="mean_difference", set_a=(), set_b=()):
    return client.predict(model, source, name, method, [], list(set_a), list(set_b), strength, None, [], api_name="/edit_attribute")


def test_edit_attribute_strength_changes_the_image(client, label, tmp_path):
    reconstruct(client, label("vae"), digit_png(tmp_path))
    original, unchanged, note = edit(client, label("vae"), 0.0)
    _, edited, note2 = edit(client, label("vae"), 2.0)
    assert np.array_equal(pixels(original), pixels(unchanged))  # strength 0: the current image
    assert not np.array_equal(pixels(unchanged), pixels(edited))
    assert "class 3" in note2 and "+2.00" in note2


def test_edit_attribute_with_a_custom_vector(client, label, tmp_path):
    reconstruct(client, label("vae"), digit_png(tmp_path))
    _, edited, note = edit(client, label("vae"), 1.5, source="custom", set_a=["0", "1"], set_b=["2"])  # as the API advertises them
    assert "Custom vector" in note


def test_edit_attribute_unknown_name_is_explained(client, label, tmp_path):
    reconstruct(client, label("vae"), digit_png(tmp_path))
    message = error_of(
        client, label("vae"), "attribute", "Smiling", "mean_difference", [], [], [], 1.0, None, [], api_name="/edit_attribute"
    )
    assert "Smiling" in message and re.search(r"0'?, '?1'?, '?2", message), message  # names what is accepted


def test_a_guided_edit_without_an_attribute_classifier_is_explained(client, label, tmp_path):
    reconstruct(client, label("vae"), digit_png(tmp_path))
    message = error_of(client, label("vae"), "attribute", "3", "guided", [], [], [], 1.0, None, [], api_name="/edit_attribute")
    assert "needs an attribute classifier of digits predicting '3'" in message, message


def test_edit_attribute_without_a_current_image_is_explained(client, label):
    message = error_of(client, label("vae"), "attribute", None, "mean_difference", [], [], [], 1.0, None, [], api_name="/edit_attribute")
    assert "no current image" in message


# --- Latent map


def test_latent_map_coloured_by_class(client, label):
    picture, legend = client.predict(label("vae"), "class", api_name="/latent_map")
    plain, no_legend = client.predict(label("vae"), "none", api_name="/latent_map")
    assert pixels(picture).shape[:2] == (480, 480)
    assert "class 3" in legend and no_legend == ""
    assert not np.array_equal(pixels(picture), pixels(plain))


def test_decode_map_point_makes_the_current_image(client, label):
    a, picture, note = client.predict(label("vae"), 0.5, -0.5, "none", None, [], api_name="/decode_map_point")
    b, _, _ = client.predict(label("vae"), -1.0, 1.0, "none", None, [], api_name="/decode_map_point")
    assert not np.array_equal(pixels(a), pixels(b))
    assert "(0.500, -0.500)" in note and pixels(picture).shape[:2] == (480, 480)
    decoded, _ = decode(client, label("vae"), [1.0])  # the sliders now act on the picked point
    assert pixels(decoded).shape[:2] == (16, 16)  # /decode: the model's own size (the page scales it up)
    assert "map x: expected a number from -1000 to 1000, got None" in error_of(
        client, label("vae"), None, 0.0, "none", None, [], api_name="/decode_map_point"
    )


# --- Compare


def test_compare_models_on_one_seed(client, label):
    models = [label("vae"), label("dae"), label("cvae")]
    gallery = client.predict(label("vae"), models, "seed", None, None, 5, api_name="/compare")
    assert [item["caption"].split(" · ")[0] for item in gallery] == ["vae", "dae", "cvae"]
    # each model's training budget beside it, from its training.json (one epoch of a few seconds each here)
    assert all(re.fullmatch(r"\d+ min, 1 epoch", item["caption"].split(" · ")[1]) for item in gallery), gallery
    assert all(pixels(item["image"]).size > 0 for item in gallery)


def test_compare_shows_the_input_then_every_model_a_gan_by_inversion(client, label, tmp_path):
    models = [label("vae"), label("vae2d"), label("dcgan")]
    uploaded = client.predict(label("vae"), models, "image", handle_file(digit_png(tmp_path)), None, 0, api_name="/compare")
    assert [item["caption"].split(" · ")[0] for item in uploaded] == ["input", "vae", "vae2d", "dcgan (inverted)"]
    tiles = [pixels(item["image"]) for item in uploaded]
    assert all(t.shape[:2] == (192, 192) for t in tiles) and tiles[3].std() > 0  # the GAN's inversion, not a blank tile
    assert not np.array_equal(tiles[1], tiles[2])  # two models, two reconstructions
    example = client.predict(label("vae2d"), models[:2], "image", None, "#3", 0, api_name="/compare")
    assert example[0]["caption"] == "input (example #3 of vae2d)" and len(example) == 3


def test_compare_without_models_is_explained(client, label):
    assert "choose at least one model" in error_of(client, label("vae"), [], "seed", None, None, 0, api_name="/compare")


# --- VQ-VAE: sampling through its PixelCNN prior, interpolation, the Codebook tab


def test_a_prior_is_served_as_its_vqvaes_sampler_not_as_a_model(app):
    assert "vqvae-prior" not in app.labels
    assert "PixelCNN prior, 4x4 grid of 16 codes" in app.labels["vqvae"]


def test_vqvae_samples_through_its_class_conditional_prior(client, label):
    three, note = sample(client, label("vqvae"), seed=2, class_choice="3")
    again, _ = sample(client, label("vqvae"), seed=2, class_choice="3")
    seven, _ = sample(client, label("vqvae"), seed=2, class_choice="7")
    assert np.array_equal(pixels(three), pixels(again)) and not np.array_equal(pixels(three), pixels(seven))
    assert "PixelCNN prior" in note
    fitted, fitted_note = sample(client, label("vqvae"), seed=2, class_choice="3", source="fitted")
    assert "pre-quantisation" in fitted_note and not np.array_equal(pixels(three), pixels(fitted))
    client.predict(label("vqvae"), "3", [], api_name="/randomise")  # Randomise draws for the chosen class (it raised without one)
    with pytest.raises(AppError, match="choose a class to condition on"):
        client.predict(label("vqvae"), None, [], api_name="/randomise")


def test_rejection_sampling_needs_a_classifier(client, label):
    message = error_of(client, label("vqvae"), 4, 1.0, 0, "prior", "3", [], 0.5, api_name="/sample")
    assert "rejection sampling needs" in message and "classifiers/digits" in message


def test_vqvae_interpolation_says_it_quantises(client, label):
    strip, _, note = interpolate(client, label("vqvae"), "images", example_a="#0", example_b="#1", steps=3, class_choice="0")
    assert "pre-quantisation" in note and not np.array_equal(*tiles(strip, 3)[::2])


def edit_code(client, model, row, col, code):
    """(code map, decoded, note)."""
    return client.predict(model, row, col, code, api_name="/edit_code")


def test_putting_another_code_in_a_cell_changes_the_decoded_image(client, label, tmp_path):
    _, reconstruction, _, _ = reconstruct(client, label("vqvae"), digit_png(tmp_path))
    code_map, decoded, note = edit_code(client, label("vqvae"), 1, 2, 0)
    first = re.search(r"Cell \(1, 2\): code (\d+) -> 0", note)
    assert first, note
    if first.group(1) == "0":  # the cell held code 0 already: put another one
        code_map, decoded, note = edit_code(client, label("vqvae"), 1, 2, 1)
    assert not np.array_equal(pixels(decoded), pixels(reconstruction))
    assert pixels(code_map).shape[:2] == (384, 384)  # 4x4 cells of 96 pixels
    _, _, note = edit_code(client, label("vqvae"), 0, 0, 5)  # edits accumulate on the same image
    assert "2 cell(s) edited" in note


def test_a_vqvae2s_code_levels_are_edited_apart(client, label, tmp_path):
    """The Codebook tab on a VQ-VAE-2 (issue 33): a level is chosen by name; each level's grid has its own size and its
    own edits, and an edit at one level changes the decoded image."""
    _, reconstruction, _, _ = reconstruct(client, label("vqvae2"), digit_png(tmp_path))
    for level, side, cell in (("top", 4, (1, 2)), ("bottom", 8, (5, 3))):
        code_map, decoded, note = client.predict(label("vqvae2"), *cell, 0, level, api_name="/edit_code")
        before = re.search(rf"Cell \({cell[0]}, {cell[1]}\): code (\d+) -> 0", note)
        assert before and "1 cell(s) edited" in note, note  # the other level's edits do not carry over
        if before.group(1) == "0":  # the cell held code 0 already: put another one
            code_map, decoded, note = client.predict(label("vqvae2"), *cell, 1, level, api_name="/edit_code")
        assert not np.array_equal(pixels(decoded), pixels(reconstruction)), level
        assert pixels(code_map).shape[:2] == (384 // side * side,) * 2  # side x side cells
        assert f"outside the {side}x{side} code grid" in error_of(client, label("vqvae2"), side, 0, 1, level, api_name="/edit_code")
    assert "unknown code level 'codes'" in error_of(client, label("vqvae2"), 0, 0, 1, "codes", api_name="/edit_code")


def test_codebook_edits_are_checked(client, label, tmp_path):
    reconstruct(client, label("vqvae"), digit_png(tmp_path))
    assert "outside the 4x4 code grid" in error_of(client, label("vqvae"), 4, 0, 1, api_name="/edit_code")
    reconstruct(client, label("vae"), digit_png(tmp_path))
    assert "has no codebook" in error_of(client, label("vae"), 0, 0, 1, api_name="/edit_code")


def test_attribute_scorecard_says_what_the_card_measured():
    """Beside the vector, the Attributes tab quotes the model card: flip rate, baseline, and the most-changed other attribute."""
    import types

    from ui.attributes import scorecard

    card = {"n": 1000, "flip_rate": 0.934, "baseline": 0.01, "changed": {"Eyeglasses": 0.02, "Mouth_Slightly_Open": 0.071}, "strength": 1.0}
    entry = types.SimpleNamespace(explorer=types.SimpleNamespace(metadata={}), evaluation={"edits": {"Smiling": card}, "guided_edits": {}})
    text = scorecard(entry, "Smiling", "mean_difference")
    assert "the stored Smiling vector at strength 1 adds Smiling to 93% of test images without it (unedited: 1%; n = 1000)" in text
    assert "changes most: Mouth_Slightly_Open, in 7%" in text and "not this method" not in text
    assert "measured for the stored vector, not this method" in scorecard(entry, "Smiling", "svm")
    assert "no measured scorecard for Wearing_Hat; it measures Smiling" in scorecard(entry, "Wearing_Hat", "mean_difference")
    assert scorecard(types.SimpleNamespace(explorer=entry.explorer, evaluation={}), "Smiling", "mean_difference") == ""
    switched = {**card, "strength": None}
    del switched["strength"]
    entry.evaluation["edits"]["Smiling"] = switched
    assert "switching the Smiling condition on adds Smiling to 93%" in scorecard(entry, "Smiling", "condition")
    # a conditional model's card measured its condition switched, not a vector: a vector is not promised that figure
    assert "not this method" in scorecard(entry, "Smiling", "mean_difference")


# --- Bad numbers, sent as raw JSON (gradio_client refuses to send NaN): each is refused by name, never crashes


def raw_call(app, api_name: str, data: list) -> tuple[str, dict | list | None]:
    """(event, data) of one call through Gradio's HTTP API: "complete" with the outputs, or "error" with the
    message (null for an exception that is not a gr.Error)."""
    body = json.dumps({"data": data})  # json writes NaN and Infinity, which Python's json (the server's) reads
    event_id = httpx.post(
        f"{app.url}gradio_api/call{api_name}", content=body, headers={"content-type": "application/json"}, timeout=30
    ).json()["event_id"]
    stream = httpx.get(f"{app.url}gradio_api/call{api_name}/{event_id}", timeout=120).text
    event = re.search(r"^event: (\w+)$", stream, re.M).group(1)
    return event, json.loads(re.search(r"^data: (.*)$", stream, re.M).group(1))


BAD_NUMBERS = [float("nan"), float("inf"), float("-inf"), 1e300, -1e300, "abc", [1.0]]


def test_every_number_of_every_endpoint_is_checked_by_name(app, client, label):
    """Every slider and number field of every named endpoint, given NaN, infinity, a huge or a wrong-typed value:
    a gr.Error that names the control and its accepted range -- never an unhandled exception, never a picture
    decoded from NaN."""
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    reached = set()
    for api_name, endpoint in endpoints.items():
        parameters = endpoint["parameters"]
        defaults = [
            label("vae") if p["component"] == "Dropdown" and "label" in p["parameter_name"] else p.get("parameter_default")
            for p in parameters
        ]
        numbers = [i for i, p in enumerate(parameters) if p["component"] in ("Slider", "Number")]
        for i in numbers[:6]:  # an endpoint's numbers are checked alike: its first six stand for the rest
            parameter = parameters[i]
            for bad in BAD_NUMBERS:
                data = list(defaults)
                data[i] = bad
                event, result = raw_call(app, api_name, data)
                context = f"{api_name} {parameter['parameter_name']}={bad!r}"
                if bad == 1e300 and parameter["component"] == "Number" and parameter.get("parameter_default") is None:
                    assert event == "error" and result["error"], context  # a codebook row: unbounded here, refused by the handler
                    continue
                assert event == "error" and result["error"] and "expected a number from" in result["error"], (context, result)
                reached.add(api_name)
    assert reached == {
        "/reconstruct",
        "/sample",
        "/interpolate",
        "/set_codes",
        "/edit_attribute",
        "/decode_map_point",
        "/edit_code",
        "/compare",
    }
    assert_serving(app, Path(tempfile.mkdtemp()))


def test_decode_checks_its_unprocessed_inputs(app, client, label, tmp_path):
    """/decode takes its inputs unprocessed (ui.sliders.POOL_VALUES_JS): each bad one gets a gr.Error that names it."""
    for bad in BAD_NUMBERS:
        event, result = raw_call(app, "/decode", [label("vae"), "kl", None, [], [0.0, bad], []])
        assert event == "error" and "slider 1: expected a number from" in result["error"], (bad, result)
    reconstruct(client, label("vae"), gray_png(tmp_path))
    for values in ("0.5", {"0": 1.0}, [0.0] * (POOL + 1)):
        assert "expected a list of at most 32 numbers" in error_of(client, label("vae"), "kl", None, [], values, api_name="/decode")
    assert "unknown model" in error_of(client, ["vae"], "kl", None, [], [], api_name="/decode")
    assert "unknown slider mode" in error_of(client, label("vae"), ["kl"], None, [], [], api_name="/decode")
    assert "list of attribute names" in error_of(client, label("vae"), "kl", None, [["Smiling"]], [], api_name="/decode")
    still, _ = client.predict(label("vae"), "kl", None, [], [], api_name="/decode")  # no values: the current image's own
    assert pixels(still).shape[:2] == (16, 16)


# --- The slider page's files and routes outside Gradio (ui.routes)


def test_decode_route_draws_a_latent_as_the_slider_tab_does(app):
    import torch

    from ui.sliders import picture

    entry = app.catalog.get(app.labels["vae"])
    z = torch.linspace(-1.5, 1.5, entry.explorer.latent_dim)
    response = httpx.post(f"{app.url}latent-lab/decode", json={"model": "vae", "latent": z.tolist()}, timeout=30)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(response.content))), np.asarray(picture(entry, z)))


def test_decode_route_refuses_a_bad_request_with_its_reason(app):
    size = app.catalog.get(app.labels["vae"]).explorer.latent_dim
    latent = ", ".join(["0"] * size)
    cases = [
        (b"not json", 400, "expected JSON"),
        (b"[1, 2]", 400, "expected JSON"),
        (f'{{"model": "nope", "latent": [{latent}]}}'.encode(), 400, "unknown model 'nope'"),
        (b'{"model": "cvae", "latent": [0, 0]}', 400, "whose decoder takes a condition"),
        (b'{"model": "vae", "latent": [0, 0]}', 400, f"expected {size} finite numbers"),
        (f'{{"model": "vae", "latent": [NaN{", 0" * (size - 1)}]}}'.encode(), 400, f"expected {size} finite numbers"),
        (f'{{"model": "vae", "latent": [1e300{", 0" * (size - 1)}]}}'.encode(), 400, f"expected {size} finite numbers"),
        (b" " * 70_000, 413, "at most 65536 bytes"),
    ]
    for body, status, reason in cases:
        response = httpx.post(f"{app.url}latent-lab/decode", content=body, timeout=30)
        assert (response.status_code, reason in response.text) == (status, True), (body[:60], response.text)
    assert_serving(app, Path(tempfile.mkdtemp()))


def test_the_page_files_and_decoders_are_served_by_the_app(app):
    config = httpx.get(f"{app.url}config", timeout=30).text  # the page's head (ui.launch)
    assert '<script src=\\"latent-lab/static/local_decode.js\\">' in config
    assert "window.latentLab" in httpx.get(f"{app.url}latent-lab/static/local_decode.js", timeout=30).text
    entry = app.catalog.get(app.labels["vae"])
    decoder = httpx.get(f"{app.url}latent-lab/decoder.onnx?model=vae", timeout=30)
    assert decoder.status_code == 200 and decoder.content == entry.decoder.read_bytes()
    assert httpx.get(f"{app.url}latent-lab/decoder.onnx?model=cvae", timeout=30).status_code == 404  # none exported
    assert httpx.get(f"{app.url}latent-lab/decoder.onnx?model=..%2Fvae", timeout=30).status_code == 404


def test_slow_work_runs_one_job_at_a_time_and_fast_work_never_waits():
    """ui.common.slow_work: two inversions take turns (SLOW_WORKERS = 1); a slider decode passes at once."""
    import threading

    from ui.common import slow_work

    spans, fast = [], []

    def job():
        with slow_work():
            start = time.perf_counter()
            time.sleep(0.2)
            spans.append((start, time.perf_counter()))

    threads = [threading.Thread(target=job) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    start = time.perf_counter()
    with slow_work(False):
        fast.append(time.perf_counter() - start)
    for thread in threads:
        thread.join()
    (a0, a1), (b0, b1) = sorted(spans)
    assert b0 >= a1 and fast[0] < 0.01


def test_the_catalog_serves_the_good_checkpoints_and_names_each_bad_one_in_a_line(checkpoints, tmp_path):
    """Malformed checkpoints beside a good one: each is skipped with a one-line warning naming it, none is fatal,
    and none allocates what its config asks for beyond the bound (a billion-parameter config is refused unbuilt)."""
    import warnings

    from ui.catalog import Catalog

    root = tmp_path / "served"
    shutil.copytree(checkpoints / "vae", root / "good")

    def broken(name, damage):
        shutil.copytree(checkpoints / "vae", root / name)
        damage(root / name)

    broken("bad-json", lambda d: (d / "config.json").write_text("{not json"))
    broken("unknown-type", lambda d: (d / "config.json").write_text(json.dumps({"model_type": "diffusion"})))
    broken("truncated-weights", lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:100]))
    broken("no-weights", lambda d: (d / "model.safetensors").unlink())
    broken("damaged-stats", lambda d: (d / "stats.safetensors").write_bytes(b"\0" * 64))
    broken(
        "huge",
        lambda d: (d / "config.json").write_text(
            json.dumps({**json.loads((d / "config.json").read_text()), "hidden_dims": [1_000_000, 1_000_000]})
        ),
    )
    broken(
        "wrong-shapes",
        lambda d: (d / "config.json").write_text(json.dumps({**json.loads((d / "config.json").read_text()), "latent_dim": 5})),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        catalog = Catalog.discover(root)
    assert [entry.key for entry in catalog.entries.values()] == ["good"]
    skipped = [str(w.message) for w in caught if str(w.message).startswith("skipping")]
    bad = {"bad-json", "unknown-type", "truncated-weights", "no-weights", "damaged-stats", "huge", "wrong-shapes"}
    assert len(skipped) == len(bad) and all("\n" not in message for message in skipped), skipped
    assert {name for name in bad if any(f"/{name}" in message for message in skipped)} == bad
    assert any("Latent Lab loads up to" in message for message in skipped if "/huge" in message)
