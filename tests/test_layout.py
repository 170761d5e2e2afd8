"""The explorer's layout in a real browser, measured rather than looked at: what is on top, what is inside its box,
what stays in view, what moves -- at a laptop's 1280x900 and a phone's 390x844 -- and tabs that open on something.

Chromium is launched as tests/test_browser.py does (its fixtures; skipped without Debian's Chromium unless
LATENT_LAB_REQUIRE_BROWSER=1), on the tiny test checkpoints.
"""

from __future__ import annotations

import pytest
import test_browser
from test_browser import TIMEOUT_MS, choose_model, error_toasts, image, open_tab, picture, wait_for_new_image

browser = test_browser.browser  # fixtures: Chromium, and the app it visits
served = test_browser.served
faces_vae_app = test_browser.faces_vae_app  # the shipped faces-vae alone (slow tests)

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
CLIPBOARD = ["clipboard-read", "clipboard-write"]


@pytest.fixture
def open_page(browser, served):
    """open_page(viewport, permissions=(), script=None, url=None) -> a page on the app (or `url`), its first model shown;
    closed after."""
    contexts = []

    def make(viewport, permissions=(), script=None, url=None):
        context = browser.new_context(viewport=viewport, permissions=list(permissions))
        contexts.append(context)
        if script:
            context.add_init_script(script)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.errors = []
        page.on("pageerror", lambda err: page.errors.append(str(err)))
        page.goto(url or served.url)
        image(page, "Reconstruction").wait_for()  # the first model's first example: the page has opened
        return page

    yield make
    for context in contexts:
        context.close()


def box(locator) -> dict:
    locator.scroll_into_view_if_needed()
    return locator.bounding_box()


def hit(page, point: tuple[float, float], locator) -> bool:
    """Whether what the page shows at `point` (viewport coordinates) is `locator`'s element or inside it."""
    return page.evaluate(
        "([x, y, el]) => { const top = document.elementFromPoint(x, y); return !!top && (top === el || el.contains(top)); }",
        [*point, locator.element_handle()],
    )


def centre(b: dict) -> tuple[float, float]:
    return b["x"] + b["width"] / 2, b["y"] + b["height"] / 2


# --- 10. the tab menu over the pinned picture; the attribute tab's pictures in view on a phone


def test_on_a_phone_the_tab_menu_opens_above_the_pinned_slider_picture(open_page):
    page = open_page(PHONE)
    open_tab(page, "sliders")
    decoded = image(page, "Decoded")
    decoded.wait_for()
    page.evaluate("window.scrollTo(0, 0)")
    page.get_by_role("button", name="More tabs").click()
    entries = page.locator(".overflow-dropdown button").locator("visible=true")
    entries.first.wait_for()
    picture_box = page.locator("#slider-picture").bounding_box()
    over_picture = 0
    for i in range(entries.count()):
        entry = entries.nth(i)
        b = entry.bounding_box()
        x, y = centre(b)
        over_picture += picture_box["y"] <= y <= picture_box["y"] + picture_box["height"]
        assert hit(page, (x, y), entry), f"the menu's {entry.inner_text()!r} is covered at {x:.0f},{y:.0f}"
    assert over_picture, "no menu entry lies over the picture: the test measures nothing"
    page.locator(".overflow-dropdown button").filter(has_text="Model").click()  # and it opens the tab
    page.locator('button[role=tab][data-tab-id="model"][aria-selected="true"]').wait_for()
    assert page.errors == []


def attribute_pictures_stay_in_view(page, where: str) -> None:
    """On a phone: with the strength slider scrolled to the bottom ('end') or middle ('center') of the screen, the
    current and edited pictures are on screen, uncovered, and stay so while the slider is dragged."""
    open_tab(page, "attributes")
    strength = page.locator('input[type=range][aria-label^="range slider for Strength"]')
    edited = image(page, "Edited")
    edited.wait_for()
    before = edited.get_attribute("src")
    strength.evaluate(f"(el) => el.closest('.block').scrollIntoView({{block: '{where}'}})")  # the slider's box, label and all
    page.wait_for_timeout(200)

    def in_view():
        slider = strength.bounding_box()
        assert 0 <= slider["y"] and slider["y"] + slider["height"] <= PHONE["height"], f"the slider is out of view: {slider}"
        assert hit(page, centre(slider), strength), "the slider is covered"
        for label in ("Current", "Edited"):
            shown = image(page, label).bounding_box()
            assert shown["y"] >= -1 and shown["y"] + shown["height"] <= PHONE["height"] + 1, f"{label} left the screen: {shown}"
            assert hit(page, centre(shown), image(page, label)), f"{label} is covered"

    in_view()
    slider = strength.bounding_box()  # drag as a thumb does, without scrolling
    y = slider["y"] + slider["height"] / 2
    page.mouse.move(slider["x"] + slider["width"] / 2, y)
    page.mouse.down()
    for step in range(1, 6):
        page.mouse.move(slider["x"] + slider["width"] * (0.5 + 0.08 * step), y)
    page.mouse.up()
    wait_for_new_image(page, "Edited", before)
    in_view()
    assert error_toasts(page) == [] and page.errors == []


@pytest.mark.parametrize("where", ["end", "center"])
def test_on_a_phone_the_attribute_pictures_stay_in_view_while_the_strength_is_dragged(open_page, where):
    attribute_pictures_stay_in_view(open_page(PHONE), where)


def test_on_a_laptop_the_attribute_pictures_stay_beside_the_controls(open_page):
    page = open_page(DESKTOP)
    open_tab(page, "attributes")
    image(page, "Edited").wait_for()
    strength = page.locator('input[type=range][aria-label^="range slider for Strength"]')
    assert image(page, "Current").bounding_box()["x"] > strength.bounding_box()["x"] + strength.bounding_box()["width"]


# --- 11. the example gallery shows every example; the link goes to the clipboard without moving the page


EXAMPLES = """(gallery) => {
    const rect = (el) => el.getBoundingClientRect().toJSON();
    const wrap = gallery.querySelector('.grid-wrap');
    return {
        frame: rect(gallery),
        label: rect(gallery.querySelector('label[data-testid="block-label"]')),
        overflow: [wrap.scrollWidth - wrap.clientWidth, wrap.scrollHeight - wrap.clientHeight],
        thumbnails: [...gallery.querySelectorAll('button.thumbnail-item')].map((el) => {
            const r = rect(el);
            const top = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
            return {...r, shown: !!top && el.contains(top)};
        }),
    };
}"""


def examples_all_shown(page, viewport: dict) -> None:
    """Every Reconstruct example inside the gallery's box, none under its label or scrolled out of it, no blank space."""
    gallery = page.locator("#reconstruct-examples")
    gallery.locator("button.thumbnail-item").first.wait_for()
    gallery.evaluate("(el) => el.scrollIntoView({block: 'start'})")  # the page scrolls; the gallery's own box does not
    at = gallery.evaluate(EXAMPLES)
    frame, label, thumbnails = at["frame"], at["label"], at["thumbnails"]
    assert len(thumbnails) >= 8 and frame["height"] <= viewport["height"]
    assert at["overflow"][0] <= 1 and at["overflow"][1] <= 1, (
        f"the gallery scrolls (by {at['overflow']} px): some examples are out of sight"
    )
    for i, b in enumerate(thumbnails):
        inside = frame["x"] <= b["x"] and b["x"] + b["width"] <= frame["x"] + frame["width"] + 0.5
        inside &= frame["y"] <= b["y"] and b["y"] + b["height"] <= frame["y"] + frame["height"] + 0.5
        assert inside, f"example {i} is not inside its box: {b} in {frame}"
        assert b["y"] >= label["y"] + label["height"] - 0.5, f"the gallery's label covers example {i}"
        assert b["shown"], f"example {i} is hidden"
        assert b["width"] >= 40, f"example {i} is {b['width']:.0f} px wide"
    bottom = max(b["y"] + b["height"] for b in thumbnails)
    assert frame["y"] + frame["height"] - bottom < 40, f"{frame['y'] + frame['height'] - bottom:.0f} px of blank space below the examples"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["laptop", "phone"])
def test_every_reconstruct_example_is_shown_inside_its_box(open_page, viewport):
    examples_all_shown(open_page(viewport), viewport)


@pytest.mark.slow  # the shipped faces-vae, as the audit found it: 16 examples, a long scorecard above the strength
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["laptop", "phone"])
def test_on_the_shipped_faces_vae_every_example_is_shown_and_the_edit_stays_in_view(open_page, faces_vae_app, viewport):
    page = open_page(viewport, url=faces_vae_app.url)
    examples_all_shown(page, viewport)
    if viewport is PHONE:
        attribute_pictures_stay_in_view(page, "end")


HEADER = """() => {
    const rect = (el) => el.getBoundingClientRect();
    const button = document.querySelector('#copy-view-link');
    const tabs = document.querySelector('button[role=tab]');
    return {header: rect(button.closest('.row')).height, button: rect(button).width, tabs: rect(tabs).top + window.scrollY};
}"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["laptop", "phone"])
def test_copy_link_copies_the_view_and_nothing_moves(open_page, browser, served, viewport):
    page = open_page(viewport, CLIPBOARD)
    open_tab(page, "interpolate")  # a view: this tab
    before = page.evaluate(HEADER)
    button = page.get_by_role("button", name="Copy link to this view")
    button.click()
    page.get_by_role("button", name="Link copied").wait_for()  # it says so...
    after = page.evaluate(HEADER)
    url = page.evaluate("navigator.clipboard.readText()")
    assert url.startswith(served.url) and "?view=" in url
    assert after == before, f"the header moved: {before} -> {after}"
    assert not page.locator("#view-link").is_visible()
    button.wait_for(timeout=5_000)  # ...for a moment
    assert page.evaluate(HEADER) == before

    receiver = browser.new_page(viewport=viewport)  # the link reopens the view
    try:
        receiver.goto(url)
        receiver.locator('button[role=tab][data-tab-id="interpolate"][aria-selected="true"]').wait_for(timeout=TIMEOUT_MS)
    finally:
        receiver.close()
    assert error_toasts(page) == [] and page.errors == []


def test_without_a_clipboard_the_link_is_shown_to_copy(open_page, served):
    # served over plain http to another machine, a page has no navigator.clipboard
    page = open_page(DESKTOP, script="Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined})")
    page.get_by_role("button", name="Copy link to this view").click()
    link = page.locator("#view-link textarea")
    link.wait_for()
    page.wait_for_function("(el) => el.value.includes('?view=')", arg=link.element_handle())
    assert link.input_value().startswith(served.url)
    assert page.get_by_role("button", name="Copy link to this view").is_visible()  # not "copied"
    assert page.errors == []


# --- 12. tabs open on something


def test_a_vqvae_sample_tab_opens_on_a_grid_from_its_prior_and_the_model_tab_shows_it(open_page, served):
    page = open_page(DESKTOP)
    choose_model(page, served, "vqvae")
    open_tab(page, "sample")
    page.get_by_text("16 samples from the PixelCNN prior, cell by cell").wait_for(timeout=60_000)
    grid = image(page, "Samples")
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=grid.element_handle())
    pressed = picture(page, "Samples")
    open_tab(page, "model")
    model = page.locator("#model-samples")
    model.get_by_text("16 samples of class 0 from the PixelCNN prior, seed 0").wait_for(timeout=60_000)
    img = model.locator("img")
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    shown = page.request.get(img.get_attribute("src")).body()
    import io

    import numpy as np
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(io.BytesIO(shown))), pressed), "the Model tab's grid is not the Sample tab's"
    assert error_toasts(page) == [] and page.errors == []


def test_interpolate_opens_on_a_path_between_examples_picked_by_their_thumbnails(open_page):
    page = open_page(DESKTOP)
    open_tab(page, "interpolate")
    strip = image(page, "Path")
    strip.wait_for()  # the tab opens on a path, not on empty boxes
    image(page, "Animated GIF (the path forth and back)").wait_for()
    for side, selected in (("A", 0), ("B", 1)):
        picker = page.locator(f"#interpolate-pick-{side.lower()}")
        thumbnails = picker.locator("button.thumbnail-item img")
        thumbnails.first.wait_for()
        assert thumbnails.count() >= 2
        assert all(thumbnails.nth(i).evaluate("(img) => img.complete && img.naturalWidth > 0") for i in range(thumbnails.count()))
        assert picker.locator("button.thumbnail-item").nth(selected).get_attribute("class").count("selected")
    before = strip.get_attribute("src")
    page.locator('div.block:has(> label[data-testid="block-label"]:text-is("…or pick example A"))').locator("button.thumbnail-item").nth(
        3
    ).click()
    page.get_by_role("button", name="Interpolate", exact=True).locator("visible=true").click()
    wait_for_new_image(page, "Path", before)
    assert error_toasts(page) == [] and page.errors == []


def test_the_opening_grid_is_what_sample_draws_at_the_controls_defaults(app):
    """The grid the Sample and Model tabs open on (kept per model) is exactly the one pressing Sample draws."""
    import numpy as np

    import ui.sample as sample

    shared = type("Shared", (), {"entry": staticmethod(app.catalog.get)})()
    for key in ("vae", "vqvae", "cvae"):
        entry = app.catalog.get(app.labels[key])
        pressed, note = sample.sample(entry.label, 16, 1.0, 0, sample.opening_source(entry), *entry.default_condition, shared=shared)
        for _ in range(2):  # drawn, then kept
            grid, kept_note = sample.opening_grid(entry, shared=shared)
            assert np.array_equal(np.asarray(grid), np.asarray(pressed)) and kept_note == note
        assert sample.opening_ready(entry)
