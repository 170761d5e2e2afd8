"""A conditional model in a real browser (issue 29, items 7-9): the model opens with its condition boxes set from the
classifier's reading of its first example; ticking a box re-runs the reconstruction (once: setting the boxes does not
loop); the Attribute tab switches the condition, under the card's figure for that, and redraws when a box is ticked; a
shared view opens on the scorecard of its own attribute.

Served on test_conditional's tiny checkpoints (a faces CVAE conditioned on three attributes, a faces attribute
classifier); Chromium as in test_browser (skipped without it unless LATENT_LAB_REQUIRE_BROWSER=1).
"""

from __future__ import annotations

import numpy as np
import pytest
import test_browser
import test_conditional
from test_browser import image as image_of
from test_browser import open_tab, picture, wait_for_new_image

from ui import common, views
from ui.attribute_vectors import scorecard
from ui.reconstruct import read_condition

pytestmark = pytest.mark.usefixtures("one_thread")
# the fixtures this module shares: Chromium and a page on `served` (test_browser), the checkpoints (test_conditional)
browser, page = test_browser.browser, test_browser.page
conditional_checkpoints = test_conditional.conditional_checkpoints


@pytest.fixture(scope="module")
def served(launch_app, conditional_checkpoints):
    with launch_app(conditional_checkpoints) as app:
        yield app


def boxes(page) -> dict[str, bool]:
    """The header's condition boxes: name -> ticked."""
    group = page.locator("fieldset").filter(has_text="Condition on attributes").locator("input[type=checkbox]")
    return {box.get_attribute("name"): box.is_checked() for box in group.all()}


def tick(page, name: str) -> None:
    page.locator("fieldset").filter(has_text="Condition on attributes").get_by_label(name, exact=True).click()


def choose_model(page, label: str) -> None:
    page.get_by_label("Model", exact=True).click()
    page.get_by_role("option", name=label).click()


def test_condition_boxes_follow_the_reading_rerun_the_reconstruction_and_redraw_the_edit(page, served):
    label = served.labels["faces-cvae"]
    entry = served.catalog.get(label)
    reconstruction = image_of(page, "Reconstruction")
    reconstruction.wait_for()
    choose_model(page, label)
    page.get_by_text("example #0; conditioned on attributes").wait_for()
    _, read = read_condition(entry, common.example_tensor(entry, 0))
    assert boxes(page) == {name: name in read for name in entry.conditions}  # set from the classifier's reading

    # a person's tick re-runs the reconstruction under the boxes as ticked
    before = reconstruction.get_attribute("src")
    other = next(name for name in entry.conditions if name not in read)
    tick(page, other)
    wait_for_new_image(page, "Reconstruction", before)
    page.get_by_text(
        f"conditioned on the attributes chosen above: {', '.join(n for n in entry.conditions if n in {*read, other})}"
    ).wait_for()
    settled = reconstruction.get_attribute("src")
    page.wait_for_timeout(2000)  # and only once: setting the boxes does not set off another run
    assert reconstruction.get_attribute("src") == settled and boxes(page)[other]
    tick(page, other)  # back to the reading
    wait_for_new_image(page, "Reconstruction", settled)

    # Attribute arithmetic: the condition switch, under the card's figure for it
    open_tab(page, "attributes")
    card = page.locator("#attribute-scorecard")
    card.get_by_text("switching the Smiling condition on").wait_for()
    assert card.inner_text().startswith("Measured on this model")
    assert page.get_by_label("switch the model's condition", exact=False).is_checked()
    image_of(page, "Edited").wait_for()
    page.get_by_text("by switching faces-cvae's condition").wait_for()
    assert not np.array_equal(picture(page, "Current"), picture(page, "Edited"))
    # ticking a box in the header redraws the current picture under it
    before = image_of(page, "Current").get_attribute("src")
    tick(page, "Smiling" if "Smiling" not in read else other)
    wait_for_new_image(page, "Current", before)
    assert page.errors == []


def test_a_shared_view_opens_on_its_attributes_scorecard(page, served):
    entry = served.catalog.get(served.labels["faces-cvae"])
    token = views.encode(
        {
            "v": views.VERSION,
            "model": "faces-cvae",
            "tab": "attributes",
            "condition": [None, []],
            "edit": {
                "source": "attribute",
                "name": "Eyeglasses",
                "method": "condition",
                "given": [],
                "set_a": [],
                "set_b": [],
                "strength": 2.0,
            },
        }
    )
    page.goto(f"{served.url}?{views.PARAMETER}={token}")
    page.locator('button[role=tab][data-tab-id="attributes"][aria-selected="true"]').wait_for()
    card = page.locator("#attribute-scorecard")
    card.get_by_text("switching the Eyeglasses condition on").wait_for()
    expected = scorecard(entry, "Eyeglasses", "condition")
    assert "Smiling condition" not in card.inner_text() and expected.startswith("**Measured on this model**")
    strength = page.locator('input[type=range][aria-label^="range slider for Strength"]')
    assert float(strength.input_value()) == 2.0
    assert page.errors == []
