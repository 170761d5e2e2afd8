"""The explorer in a real browser: what a person does -- upload, drag a slider, see the picture change.

Playwright (sync API) drives Debian's Chromium (/usr/bin/chromium; never `playwright install`).
Without it the test is skipped with the reason, unless LATENT_LAB_REQUIRE_BROWSER=1 (CI), where
a missing browser fails.

The test screenshots every tab. For the README's docs/screenshots/<tab>.png, serve real models:
LATENT_LAB_SCREENSHOT_CHECKPOINTS names a checkpoints directory (e.g. the shipped checkpoints/),
which is then served instead of the tiny test models, and the screenshots go to docs/screenshots/.
Without it they go to pytest's temporary directory, so a plain test run never overwrites the
README's pictures with the test models' one-epoch blur:

    LATENT_LAB_SCREENSHOT_CHECKPOINTS=checkpoints pytest tests/test_browser.py
"""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latent import DEFAULT_STRENGTH
from ui.common import UPLOAD_LIMITS

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
README_SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
SCREENSHOT_CHECKPOINTS = "LATENT_LAB_SCREENSHOT_CHECKPOINTS"
TABS = {  # gr.Tab id -> its label, in order
    "reconstruct": "Reconstruct",
    "sample": "Sample",
    "interpolate": "Interpolate",
    "sliders": "Latent sliders",
    "attributes": "Attribute arithmetic",
    "latent-map": "Latent map",
    "codebook": "Codebook",
    "compare": "Compare",
    "lessons": "Lessons",
}
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under Playwright; skipped (or, with LATENT_LAB_REQUIRE_BROWSER=1, failed) when missing."""
    required = os.environ.get("LATENT_LAB_REQUIRE_BROWSER") == "1"

    def unavailable(reason: str):
        # CI sets LATENT_LAB_REQUIRE_BROWSER=1 and installs Chromium: there a missing browser fails
        if required:
            pytest.fail(f"{reason} (LATENT_LAB_REQUIRE_BROWSER=1 requires the browser tests to run)")
        else:  # locally, without LATENT_LAB_REQUIRE_BROWSER
            pytest.skip(reason)

    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed: pip install -r requirements-dev.txt")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def served(request, launch_app):
    """The app the browser visits: the tiny test models, or those under $LATENT_LAB_SCREENSHOT_CHECKPOINTS."""
    other = os.environ.get(SCREENSHOT_CHECKPOINTS)
    if not other:
        yield request.getfixturevalue("app")
        return
    with launch_app(other) as app:
        yield app


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """Where the tab screenshots go: docs/screenshots/ when real models are served, else a temporary directory."""
    return README_SCREENSHOTS if os.environ.get(SCREENSHOT_CHECKPOINTS) else tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def page(browser, served):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.errors = []  # uncaught JavaScript exceptions: the app must not throw any
    page.on("pageerror", lambda err: page.errors.append(str(err)))
    page.goto(served.url)
    page.locator("button[role=tab]").first.wait_for()
    try:
        yield page
    finally:
        context.close()


# --- helpers: Gradio 6's DOM, located by what a person sees (labels, roles)


def open_tab(page, tab_id: str) -> None:
    """Select a tab: its button, or, where Gradio moved it to the overflow menu for lack of room, the menu entry."""
    tab = page.locator(f'button[role=tab][data-tab-id="{tab_id}"]')
    if tab.count() and tab.is_visible():
        tab.click()
    else:
        page.get_by_role("button", name="More tabs").click()
        page.locator(".overflow-dropdown button").filter(has_text=TABS[tab_id]).click()
    page.locator(f'button[role=tab][data-tab-id="{tab_id}"][aria-selected="true"]').wait_for()


def image(page, label: str):
    """The <img> of the visible image block whose label reads exactly `label`."""
    block = page.locator(f'div.block:has(> label[data-testid="block-label"]:text-is("{label}"))').locator("visible=true")
    return block.locator("img").first


def picture(page, label: str) -> np.ndarray:
    """The pixels the browser shows under `label` (fetched from the img's src: lossless PNG)."""
    src = image(page, label).get_attribute("src")
    return np.asarray(Image.open(io.BytesIO(page.request.get(src).body())))


def wait_for_new_image(page, label: str, before: str | None) -> str:
    """Wait until the image under `label` is shown with a src other than `before` (Gradio names files by content)."""
    img = image(page, label)
    img.wait_for()
    page.wait_for_function(
        "([img, before]) => img.src && img.src !== before && img.complete", arg=[img.element_handle(), before], timeout=TIMEOUT_MS
    )
    return img.get_attribute("src")


def drag(page, slider, fraction: float) -> None:
    """Drag a range input's thumb from where it is to `fraction` of its width, as a mouse would."""
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    value, low, high = (float(slider.input_value()), float(slider.get_attribute("min")), float(slider.get_attribute("max")))
    start = min(
        max(box["x"] + box["width"] * (value - low) / (high - low), box["x"] + 3), box["x"] + box["width"] - 3
    )  # on the track, even at an end
    y = box["y"] + box["height"] / 2
    page.mouse.move(start, y)
    page.mouse.down()
    for step in range(1, 6):  # several moves: several input events, like a real drag
        page.mouse.move(start + (box["x"] + box["width"] * fraction - start) * step / 5, y)
    page.mouse.up()


def screenshot(page, folder: Path, tab_id: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # let the last image paint
    page.screenshot(path=str(folder / f"{tab_id}.png"), full_page=True)


def press_sample(page, expect: str) -> None:
    """Press the Sample tab's button and wait for a new grid and a note containing `expect`."""
    before = image(page, "Samples").get_attribute("src") if image(page, "Samples").count() else None
    page.get_by_role("button", name="Sample", exact=True).locator("visible=true").click()
    wait_for_new_image(page, "Samples", before)
    page.get_by_text(expect).wait_for()


def error_toasts(page) -> list[str]:
    """Texts of Gradio's error pop-ups (a gr.Error, or an exception) on the page."""
    return page.locator(".toast-body.error").all_inner_texts()


# --- the test


def test_upload_drag_sliders_and_edit_attributes(page, screenshots, tmp_path):
    # Reconstruct: upload a picture; the reconstruction appears with a note on what was done to the upload
    upload = tmp_path / "bar.png"
    a = np.zeros((30, 40, 3), np.uint8)
    a[8:22, 17:23] = 255
    Image.fromarray(a).save(upload)
    reconstruction = image(page, "Reconstruction")
    reconstruction.wait_for()  # the first model opens on its first example
    before = reconstruction.get_attribute("src")
    page.locator("input[type=file]").first.set_input_files(str(upload))
    uploaded = image(page, f"Input image (upload, webcam or paste); {UPLOAD_LIMITS}")
    uploaded.wait_for()  # the upload box shows the picture
    page.get_by_text("centre-cropped 40×30 → 30×30").wait_for()
    wait_for_new_image(page, "Reconstruction", before)
    shown = picture(page, "Model input")
    assert shown.shape[:2] == (256, 256) and shown.max() == 255  # the uploaded bar, upscaled
    # ...then pick a held-out example: it becomes the current image of the other tabs
    before = reconstruction.get_attribute("src")
    page.locator("button.thumbnail-item").nth(3).click()
    wait_for_new_image(page, "Reconstruction", before)
    assert not np.array_equal(shown, picture(page, "Model input"))
    uploaded.wait_for(state="detached")  # the example cleared the upload box: it no longer shows what the outputs are not from
    screenshot(page, screenshots, "reconstruct")

    # Latent sliders: dragging the most informative slider redraws the decoded image
    open_tab(page, "sliders")
    slider = page.locator('input[type=range][aria-label^="range slider for z"]').first
    slider.wait_for()
    decoded = image(page, "Decoded")
    decoded.wait_for()
    before, pixels_before = decoded.get_attribute("src"), picture(page, "Decoded")
    start = slider.input_value()
    drag(page, slider, 0.9 if float(start) < (float(slider.get_attribute("min")) + float(slider.get_attribute("max"))) / 2 else 0.1)
    assert slider.input_value() != start, "the drag did not move the slider"
    wait_for_new_image(page, "Decoded", before)
    assert not np.array_equal(pixels_before, picture(page, "Decoded"))
    screenshot(page, screenshots, "sliders")

    # Attribute arithmetic: moving the strength slider changes the edited image
    open_tab(page, "attributes")
    edited = image(page, "Edited")
    edited.wait_for()  # the current image, edited by the first class vector at strength 1
    before, pixels_before = edited.get_attribute("src"), picture(page, "Edited")
    strength = page.locator('input[type=range][aria-label^="range slider for Strength"]')
    drag(page, strength, 0.95)  # strength 1 -> about 2.7
    assert float(strength.input_value()) > 2
    wait_for_new_image(page, "Edited", before)
    assert not np.array_equal(pixels_before, picture(page, "Edited"))
    screenshot(page, screenshots, "attributes")

    # The other tabs, each after pressing its button once, for the README
    # (Sample opens on a grid of seed 0 from the source the model draws well; "New seed" draws another)
    for tab_id, button, result in [("sample", "New seed", "Samples"), ("interpolate", "Interpolate", "Path"), ("compare", "Compare", None)]:
        open_tab(page, tab_id)
        if result:
            before = image(page, result).get_attribute("src") if image(page, result).count() else None
        if tab_id == "interpolate":  # it opens on the path between the first two examples: another pair
            page.locator("#interpolate-pick-b button.thumbnail-item").nth(2).click()
        page.get_by_role("button", name=button, exact=True).locator("visible=true").click()
        if result:
            wait_for_new_image(page, result, before)
        else:
            page.locator("div.block:has(> label[data-testid=block-label]:text-is('Side by side')) img").locator(
                "visible=true"
            ).first.wait_for()
        screenshot(page, screenshots, tab_id)
    open_tab(page, "latent-map")
    image(page, "Held-out images on the top two principal directions: click to decode a point").wait_for()
    screenshot(page, screenshots, "latent-map")

    assert all((screenshots / f"{tab}.png").exists() for tab in TABS if tab not in ("codebook", "lessons"))  # no lesson: tiny models
    assert error_toasts(page) == []
    assert page.errors == []


def test_vqvae_codebook_click_a_cell_and_change_its_code(page, served, screenshots):
    """Choose the VQ-VAE, sample through its prior, then in the Codebook tab click a cell of the current image's
    code map, choose another code and put it in: the decoded image changes."""

    vq_label = next(label for label, entry in served.catalog.entries.items() if entry.model.code_levels == ("codes",))
    model = page.get_by_label("Model", exact=True)
    model.click()
    page.get_by_role("option", name=vq_label).click()
    page.get_by_text("example #0. Reconstruction").wait_for()  # the new model opens on its first example

    open_tab(page, "sample")
    page.get_by_label("the PixelCNN prior over the codes").wait_for()
    press_sample(page, expect="samples from the PixelCNN prior")
    screenshot(page, screenshots, "sample-vqvae")

    open_tab(page, "codebook")
    code_map = image(page, "Code map (click a cell)")
    code_map.wait_for()
    decoded = image(page, "Decoded")
    decoded.wait_for()
    pixels_before = picture(page, "Decoded")
    box = code_map.bounding_box()
    map_before = code_map.get_attribute("src")
    page.mouse.click(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.6)  # a cell in the middle
    wait_for_new_image(page, "Code map (click a cell)", map_before)  # the chosen cell is outlined
    row = page.get_by_label("Row")
    assert row.input_value() != ""
    code = page.locator('input[type=range][aria-label^="range slider for Code"]')
    start = float(code.input_value())
    drag(page, code, 0.05 if start > float(code.get_attribute("max")) / 2 else 0.95)
    assert float(code.input_value()) != start
    before = decoded.get_attribute("src")
    page.get_by_role("button", name="Put code in cell").click()
    wait_for_new_image(page, "Decoded", before)
    page.get_by_text("1 cell(s) edited").wait_for()
    assert not np.array_equal(pixels_before, picture(page, "Decoded"))
    image(page, "How often each code is chosen (code 0 left; red: dead)").wait_for()
    screenshot(page, screenshots, "codebook")
    assert error_toasts(page) == []
    assert page.errors == []


def test_vqvae2_codebook_on_both_levels(page, served, screenshots):
    """Choose the VQ-VAE-2; in the Codebook tab pick the top level, then the bottom one: each shows its own grid (4x4,
    then 8x8 cells), and a clicked cell takes another code and the decoded image is redrawn."""
    vq2_label = next(label for label, entry in served.catalog.entries.items() if entry.model.code_levels == ("top", "bottom"))
    model = page.get_by_label("Model", exact=True)
    model.click()
    page.get_by_role("option", name=vq2_label).click()
    page.get_by_text("example #0. Reconstruction").wait_for()
    open_tab(page, "codebook")
    code_map = image(page, "Code map (click a cell)")
    for level, side in (("top", 4), ("bottom", 8)):
        map_before = code_map.get_attribute("src")
        page.get_by_label(level, exact=True).check()
        page.get_by_text(f"{side}x{side} {level} grid").wait_for()
        if level != "top":  # the tab opens on the top level: its map is already drawn
            wait_for_new_image(page, "Code map (click a cell)", map_before)
        box = code_map.bounding_box()
        map_before = code_map.get_attribute("src")
        page.mouse.click(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.6)
        wait_for_new_image(page, "Code map (click a cell)", map_before)
        assert page.get_by_label("Row").input_value() != "", level
        code = page.locator('input[type=range][aria-label^="range slider for Code"]')
        start = float(code.input_value())
        drag(page, code, 0.05 if start > float(code.get_attribute("max")) / 2 else 0.95)
        before = image(page, "Decoded").get_attribute("src")
        page.get_by_role("button", name="Put code in cell").click()
        wait_for_new_image(page, "Decoded", before)  # redrawn with the cell's new code (the app test checks the pixels)
        note = page.get_by_text("1 cell(s) edited")
        note.wait_for()
        old, new = re.search(r"code (\d+) -> (\d+)", note.inner_text()).groups()
        assert old != new, note.inner_text()
        screenshot(page, screenshots, f"codebook-{level}")
    assert error_toasts(page) == []
    assert page.errors == []


def test_gan_inverts_samples_with_truncation_and_infogan_codes_move_the_image(page, served, screenshots):
    """Choose the InfoGAN: Reconstruct inverts a picked example (a GAN has no encoder), Sample draws with a truncation
    slider, and in the sliders tab choosing another categorical code redraws the decoded image."""

    label = next(label for label, entry in served.catalog.entries.items() if entry.model.has_structured_codes)
    page.get_by_label("Model", exact=True).click()
    page.get_by_role("option", name=label).click()
    page.get_by_text("Upload an image or pick an example to invert it").first.wait_for()
    page.locator("button.thumbnail-item").nth(2).click()
    page.get_by_text("its latent was found by inversion").wait_for(timeout=60_000)
    assert picture(page, "Reconstruction").std() > 0
    screenshot(page, screenshots, "reconstruct-gan")

    open_tab(page, "sample")
    truncation = page.locator('input[type=range][aria-label^="range slider for Truncation"]')
    truncation.wait_for()
    drag(page, truncation, 0.3)  # about 0.9: redraw noise beyond +-0.9
    press_sample(page, expect="Truncation trick")
    screenshot(page, screenshots, "sample-gan")

    open_tab(page, "sliders")
    decoded = image(page, "Decoded")
    decoded.wait_for()
    category = page.get_by_label("InfoGAN categorical code")
    category.wait_for()
    pixels_before, before = picture(page, "Decoded"), decoded.get_attribute("src")
    current = category.input_value()
    category.click()
    page.get_by_role("option", name="3" if current != "3" else "4", exact=True).click()
    wait_for_new_image(page, "Decoded", before)
    assert not np.array_equal(pixels_before, picture(page, "Decoded"))
    screenshot(page, screenshots, "sliders-infogan")
    assert error_toasts(page) == []
    assert page.errors == []


# where a drag tick's picture comes from: (init script, ready when, the counter it adds to, largest difference from
# the server's picture of the same values in 1/255)
DRAWN = {
    # the exported decoder in ONNX Runtime Web, served by the app
    "page": ("", "window.latentLab.local()", "local", 1),
    # no WebAssembly: the server's decode route (ui.routes, no Gradio call), the same pixels as Gradio's
    "route": ("delete window.WebAssembly", "window.latentLab.active()", "server", 0),
}


@pytest.mark.slow  # the shipped faces-vae
@pytest.mark.parametrize("where", DRAWN)
def test_slider_drags_are_drawn_without_gradio_and_agree_with_the_server(browser, faces_vae_app, where):
    """A drag on faces-vae's sliders draws each tick on a canvas over the image, decoded in the page or (where it
    cannot decode) fetched from the decode route: no image comes from Gradio until release; then Gradio's image of the
    final values replaces the canvas, with the same pixels (within 1/255 for the page's decode)."""
    script, ready, counter, tolerance = DRAWN[where]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(script)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors, requests = [], []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto(faces_vae_app.url)
        image(page, "Reconstruction").wait_for()  # the first example is the current image
        open_tab(page, "sliders")
        page.wait_for_function(f"() => window.latentLab && {ready}")
        decoded = image(page, "Decoded")
        decoded.wait_for()
        before = decoded.get_attribute("src")
        slider = page.locator('input[type=range][aria-label^="range slider for z"]').first
        slider.scroll_into_view_if_needed()
        box = slider.bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + 0.5 * box["width"], y)
        page.mouse.down()
        for fraction in (0.6, 0.7, 0.8, 0.9):
            page.mouse.move(box["x"] + fraction * box["width"], y)
        page.wait_for_function(f"() => window.latentLab.stats.{counter} >= 1")
        canvas = page.locator("#slider-decoded canvas.latent-lab-local")
        page.wait_for_timeout(300)  # the last tick's picture
        assert canvas.is_visible() and decoded.get_attribute("src") == before, "mid-drag, the picture came from Gradio"
        page.mouse.up()
        wait_for_new_image(page, "Decoded", before)
        canvas.wait_for(state="hidden")
        server = picture(page, "Decoded")[..., :3].astype(int)
        drawn = page.evaluate("() => window.latentLab.stats.lastPixels")
        pixels = np.array(drawn["data"]).reshape(drawn["height"], drawn["width"], 4)[..., :3]
        scale = server.shape[0] // pixels.shape[0]
        assert pixels.shape == (64, 64, 3) and np.abs(server[::scale, ::scale] - pixels).max() <= tolerance
        stats = page.evaluate("() => window.latentLab.stats")
        other = {"local": "server", "server": "local"}[counter]
        assert stats[other] == 0 and stats["failures"] == 0 and errors == [] and error_toasts(page) == []
        assert not [url for url in requests if not url.startswith(faces_vae_app.url)], "a file came from outside the app"
    finally:
        context.close()


@pytest.fixture(scope="module")
def faces_vae_app(launch_app, tmp_path_factory):
    """The explorer serving the shipped faces-vae (and the shipped classifiers) alone."""
    root = Path(__file__).resolve().parents[1] / "checkpoints"
    served = tmp_path_factory.mktemp("faces-vae-only")
    for name in ("faces-vae", "classifiers"):
        (served / name).symlink_to(root / name)
    with launch_app(served) as app:
        yield app


@pytest.mark.slow  # the shipped faces-vae
def test_smiling_edit_on_faces_vae_changes_the_mouth(browser, faces_vae_app):
    """The headline in a browser: the Attribute tab opens on Smiling with the model card's scorecard, and adding the
    Smiling vector at strength 2 redraws the mouth, not the eyes or the hair."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        page.goto(faces_vae_app.url)
        page.locator("button[role=tab]").first.wait_for()
        open_tab(page, "attributes")
        page.locator("#attribute-scorecard").get_by_text("Measured on this model").wait_for()  # the model's controls have arrived
        assert page.get_by_label("Attribute or class (classes are one-vs-rest)").input_value() == "Smiling"
        assert "Smiling" in page.locator("#attribute-scorecard").inner_text()
        edited = image(page, "Edited")
        edited.wait_for()
        before = edited.get_attribute("src")
        drag(page, page.locator('input[type=range][aria-label^="range slider for Strength"]'), 5 / 6)  # -3..3: about 2
        wait_for_new_image(page, "Edited", before)
        current, smiling = (picture(page, label).astype(float) for label in ("Current", "Edited"))
        change = np.abs(current - smiling).max(axis=2)
        size = change.shape[0]
        mouth = change[int(0.55 * size) : int(0.8 * size), int(0.3 * size) : int(0.7 * size)].mean()
        eyes_and_hair = change[: int(0.45 * size)].mean()
        assert mouth > 12 and mouth > 3 * eyes_and_hair, (mouth, eyes_and_hair)
        assert error_toasts(page) == [] and errors == []
    finally:
        page.close()


def settled(page, label: str, expected: np.ndarray | None = None, timeout_s: float = 20.0) -> np.ndarray:
    """The pixels under `label` once they stop changing (or equal `expected`): a page that opens a view redraws a
    picture more than once as its parts arrive."""
    deadline, last = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        img = image(page, label)
        if img.count() and img.get_attribute("src"):
            now = picture(page, label)
            if expected is not None and now.shape == expected.shape and np.array_equal(now, expected):
                return now
            if expected is None and last is not None and np.array_equal(now, last):
                return now
            last = now
        page.wait_for_timeout(500)
    return last


@pytest.mark.slow  # the shipped faces-vae
def test_a_shared_link_reopens_the_view_pixel_for_pixel(browser, faces_vae_app):
    """Set a view (an example, a slider moved, the Smiling edit at another strength), copy its link, open the link in
    a new page: the same tab opens, and the decoded and edited pictures are the sender's, bit for bit."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, permissions=["clipboard-read", "clipboard-write"])
    sender = context.new_page()
    sender.set_default_timeout(TIMEOUT_MS)
    errors = []
    sender.on("pageerror", lambda err: errors.append(str(err)))
    receiver = None
    try:
        sender.goto(faces_vae_app.url)
        reconstruction = image(sender, "Reconstruction")
        reconstruction.wait_for()
        before = reconstruction.get_attribute("src")
        sender.locator("button.thumbnail-item").nth(5).click()
        wait_for_new_image(sender, "Reconstruction", before)

        open_tab(sender, "sliders")
        slider = sender.locator('input[type=range][aria-label^="range slider for z"]').nth(1)
        slider.wait_for()
        before = image(sender, "Decoded").get_attribute("src")
        drag(sender, slider, 0.85)
        wait_for_new_image(sender, "Decoded", before)
        decoded = settled(sender, "Decoded")
        moved = slider.input_value()

        open_tab(sender, "attributes")
        strength = sender.locator('input[type=range][aria-label^="range slider for Strength"]')
        before = image(sender, "Edited").get_attribute("src")
        drag(sender, strength, 0.9)
        wait_for_new_image(sender, "Edited", before)
        edited = settled(sender, "Edited")

        sender.get_by_role("button", name="Copy link to this view").click()
        sender.get_by_role("button", name="Link copied").wait_for()  # to the clipboard
        url = sender.evaluate("navigator.clipboard.readText()")
        assert url.startswith(faces_vae_app.url) and len(url) < 4000

        receiver = browser.new_page(viewport={"width": 1280, "height": 900})
        receiver.set_default_timeout(TIMEOUT_MS)
        receiver.on("pageerror", lambda err: errors.append(str(err)))
        receiver.goto(url)
        receiver.locator('button[role=tab][data-tab-id="attributes"][aria-selected="true"]').wait_for()
        assert np.array_equal(settled(receiver, "Edited", edited), edited), "the edited picture differs from the sender's"
        assert receiver.locator('input[type=range][aria-label^="range slider for Strength"]').input_value() == strength.input_value()
        open_tab(receiver, "sliders")
        assert np.array_equal(settled(receiver, "Decoded", decoded), decoded), "the decoded picture differs from the sender's"
        assert receiver.locator('input[type=range][aria-label^="range slider for z"]').nth(1).input_value() == moved
        assert errors == [] and error_toasts(receiver) == []

        damaged = url[:-10]  # a link cut short opens the explorer as usual, with a warning
        receiver.goto(damaged)
        receiver.get_by_text("Could not open the shared view").wait_for()
        image(receiver, "Reconstruction").wait_for()
    finally:
        context.close()
        if receiver is not None:
            receiver.close()


def choose_model(page, served, key: str) -> None:
    """Pick the model whose checkpoint is `key` in the picker, as a person does."""
    from playwright.sync_api import expect

    label = next(label for label, entry in served.catalog.entries.items() if entry.key == key)
    picker = page.get_by_label("Model", exact=True)
    picker.click()
    page.get_by_role("option", name=label).click()
    expect(picker).to_have_value(label)


def test_the_explorer_as_a_newcomer_meets_it(page, served, tmp_path):
    """What a newcomer trips over, each checked where a person sees it: a picture unlike the training data is flagged;
    Sample opens on a grid the model draws well (a VAE's fitted Gaussian, the prior one click away) with help for the
    model's kind; Compare shows the input and inverts a GAN; the interpolation GIF plays on the page; a VQ-VAE's
    sliders open on the principal directions; a denoiser re-runs when its noise moves; Set A is picked by clicking an
    example; and the Model tab shows the card with its samples and curves."""
    from playwright.sync_api import expect

    # an upload unlike the training data (a bright colour photo, for a model of white-on-black 16x16 digits) gets the
    # one-line warning
    photo = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(150, 255, (6, 8, 3), dtype=np.uint8)).resize((120, 90), Image.BICUBIC).save(photo)
    page.get_by_text("example #0. Reconstruction").wait_for()  # the page has opened on its first model
    before = image(page, "Reconstruction").get_attribute("src")
    choose_model(page, served, "vae")
    wait_for_new_image(page, "Reconstruction", before)  # the VAE's first example: the picked model has taken over
    page.locator("input[type=file]").first.set_input_files(str(photo))
    page.get_by_text("centre-cropped 120×90 → 90×90").wait_for(timeout=60_000)  # the upload's reconstruction
    assert page.get_by_text("This image is unlike the digits images vae was trained on").is_visible(), page.locator(
        ".prose"
    ).all_inner_texts()
    before = image(page, "Reconstruction").get_attribute("src")
    page.locator("button.thumbnail-item").nth(1).click()  # a held-out digit: no warning
    wait_for_new_image(page, "Reconstruction", before)
    page.get_by_text("example #1. Reconstruction").wait_for()
    assert not page.get_by_text("This image is unlike").is_visible()

    # Sample opens on a grid drawn from the mixture over the labelled codes, with the fitted Gaussian and the prior
    # one click away and explained
    open_tab(page, "sample")
    image(page, "Samples").wait_for()
    expect(page.get_by_label("Gaussian mixture over the codes, a component per label combination")).to_be_checked()
    page.get_by_text("the prior N(0, I) is what a VAE is trained towards").wait_for()
    page.get_by_text("the mixture (the default) draws each sample near the codes of one label combination").wait_for()

    # Compare: the input first, then each model, a GAN by inversion
    open_tab(page, "compare")
    dcgan = next(label for label, entry in served.catalog.entries.items() if entry.key == "dcgan")
    page.get_by_label(dcgan).check()
    page.get_by_role("button", name="Compare", exact=True).locator("visible=true").click()
    page.get_by_text("dcgan (inverted)").wait_for(timeout=90_000)
    captions = page.locator(".gallery-container .caption-label, .gallery-item .caption-label").all_inner_texts()
    assert captions[0].startswith("input") and "vae" in [caption.split(" · ")[0] for caption in captions]
    assert all(" min, " in caption for caption in captions[1:]), captions  # each model's training budget beside it

    # Interpolate: the GIF plays on the page
    open_tab(page, "interpolate")
    page.get_by_role("button", name="Interpolate", exact=True).locator("visible=true").click()
    gif = image(page, "Animated GIF (the path forth and back)")
    gif.wait_for()
    assert gif.get_attribute("src").endswith(".gif")

    # Set A by clicking an example in the Attribute tab's custom source
    open_tab(page, "attributes")
    page.get_by_label("my picks: mean(set A) - mean(set B)").check()
    page.locator("button.thumbnail-item").locator("visible=true").nth(2).click()
    page.wait_for_function("() => [...document.querySelectorAll('.token')].some(t => t.innerText.includes('#2'))")
    # a strength set for this model's vectors...
    strength = page.locator('input[type=range][aria-label^="range slider for Strength"]')
    drag(page, strength, 0.9)
    assert float(strength.input_value()) != DEFAULT_STRENGTH

    # Model: the card, its samples and its curves
    open_tab(page, "model")
    page.locator("#model-card").get_by_text("Trained with Latent Lab on").wait_for()
    page.locator("#model-samples img").wait_for()  # the Sample tab's opening grid, labelled with its source
    assert page.locator("#model-samples").get_by_text("16 samples from").is_visible()
    image(page, "Training curves").wait_for()

    # a VQ-VAE's sliders open on its principal directions; a GAN's sampling help speaks of a GAN
    choose_model(page, served, "vqvae")
    open_tab(page, "sliders")
    expect(page.get_by_label("principal directions of the latent means")).to_be_checked()
    open_tab(page, "attributes")  # ...is back at its default on another model
    page.wait_for_function(
        f"() => Number(document.querySelector('input[aria-label^=\"range slider for Strength\"]').value) === {DEFAULT_STRENGTH}"
    )
    choose_model(page, served, "dcgan")
    open_tab(page, "sample")
    page.get_by_text("a GAN samples its noise prior").wait_for()

    # a denoiser: moving its noise slider re-runs the reconstruction of the example shown
    choose_model(page, served, "dae")
    open_tab(page, "reconstruct")
    page.get_by_text("corrupted with").wait_for()
    before = image(page, "Model input").get_attribute("src")
    drag(page, page.locator('input[type=range][aria-label^="range slider for Noise"]'), 0.9)
    wait_for_new_image(page, "Model input", before)
    page.get_by_text("noise at 0.9").wait_for()
    assert error_toasts(page) == [] and page.errors == []


def test_on_a_phone_the_decoded_image_stays_in_view_above_the_sliders(browser, served):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(served.url)
        image(page, "Reconstruction").wait_for()
        open_tab(page, "sliders")
        decoded = image(page, "Decoded")
        decoded.wait_for()
        sliders = page.locator('input[type=range][aria-label^="range slider for z"]')
        sliders.first.wait_for()
        assert decoded.bounding_box()["y"] < sliders.first.bounding_box()["y"], "the picture is below the sliders"
        sliders.nth(sliders.count() - 1).scroll_into_view_if_needed()  # the last slider: the picture sticks at the top
        box = decoded.bounding_box()
        assert box["y"] >= -1 and box["y"] + box["height"] <= 844, f"the picture left the screen: {box}"
        assert box["width"] <= 390
    finally:
        page.close()
