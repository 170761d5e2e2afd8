"""Named attribute sliders (issue 32): one slider per attribute whose directions do not drag each other
(latent.independent_directions), a hold box per attribute, several attributes in one /edit_latent call, decoded in
the page while dragged, and carried by a shared view link.

The direction tests use made-up vectors with known answers; the app and browser tests serve the shipped faces-vae
(and its classifiers); the quality bars (slow) are judged by the faces judge, which guided nothing here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import test_browser
import torch
from test_browser import image, open_tab, settled, wait_for_new_image

from latent.attributes import SEPARABLE, independent_directions

browser, faces_vae_app = test_browser.browser, test_browser.faces_vae_app


def test_independent_directions_leave_the_other_attributes_alone():
    torch.manual_seed(0)
    vectors = torch.randn(4, 10)
    directions = independent_directions(vectors)
    along = directions @ vectors.T  # [A, A]: how far each direction moves each attribute's own read-out
    assert torch.allclose(along.diagonal(), (vectors * vectors).sum(1), rtol=1e-4)  # as far as its own vector
    assert along.fill_diagonal_(0).abs().max() < 1e-4  # and no other attribute at all


def test_attributes_that_exclude_each_other_are_not_separated_and_held_ones_are():
    # c = -(a + b): one hair colour or another; d is unrelated
    a, b, d = torch.eye(6)[0] + 0.1, torch.eye(6)[1], torch.eye(6)[3]
    vectors = torch.stack([a, b, -(a + b), d])
    directions = independent_directions(vectors)
    assert torch.all(directions.norm(dim=1) > 0)  # each still moves
    assert abs(float(directions[0] @ d)) < 1e-6  # separated from the unrelated one
    shrunk = directions[0] * float(vectors[0] @ directions[0]) / float(directions[0] @ directions[0])
    assert shrunk.norm() >= SEPARABLE * vectors[0].norm() - 1e-6  # kept at least SEPARABLE of itself
    held = independent_directions(vectors, held=[1])
    assert held[1].norm() == 0  # a held attribute does not move
    assert torch.all((held @ vectors[1]).abs() < 1e-5)  # and no slider moves it
    assert held[2].norm() == 0 or abs(float(held[2] @ vectors[1])) < 1e-5


def test_the_explorer_applies_attribute_sliders_as_their_directions():
    from latent import Explorer

    explorer = Explorer.load(Path(__file__).resolve().parents[1] / "checkpoints" / "faces-vae")
    names = explorer.attribute_names
    z = explorer.stats["heldout_latents"][0]
    smiling, glasses = names.index("Smiling"), names.index("Eyeglasses")
    specs = explorer.sliders(z, "attributes", held=["Eyeglasses"])
    assert [s.label for s in specs] == names and not specs[glasses].active and specs[smiling].active
    assert all(s.value == 0 and s.min == -1 and s.max == 1 for s in specs)
    directions = explorer.attribute_directions(["Eyeglasses"])
    moved = explorer.apply_sliders(z, {smiling: 0.5, glasses: 1.0}, "attributes", held=["Eyeglasses"])
    assert torch.allclose(moved, z + 0.5 * directions[smiling], atol=1e-6)  # a held slider does not move
    at, axes = explorer.slider_axes(z, [smiling], "attributes", held=["Eyeglasses"])
    assert at.tolist() == [0.0] and torch.equal(axes[0], directions[smiling])
    with pytest.raises(ValueError, match="unknown attribute"):
        explorer.attribute_directions(["Smile"])


@pytest.fixture(scope="module")
def client(faces_vae_app):
    from gradio_client import Client

    return Client(faces_vae_app.url, verbose=False)


def test_edit_latent_moves_several_attributes_in_one_call(faces_vae_app, client):
    entry = faces_vae_app.catalog.get(faces_vae_app.labels["faces-vae"])
    z = entry.explorer.stats["heldout_latents"][1]
    result = client.predict(
        model="faces-vae", latent=z.tolist(), attributes={"Smiling": 1.0, "Eyeglasses": -0.5}, hold=["Wearing_Hat"], api_name="/edit_latent"
    )
    names, directions = entry.explorer.attribute_names, entry.explorer.attribute_directions(["Wearing_Hat"])
    expected = z + directions[names.index("Smiling")] - 0.5 * directions[names.index("Eyeglasses")]
    assert np.allclose(result["latent"], expected.numpy(), atol=1e-5)
    assert "Smiling +1, Eyeglasses -0.5" in result["note"] and "holding Wearing_Hat" in result["note"]
    with pytest.raises(Exception, match="move them or hold them"):
        client.predict(model="faces-vae", latent=z.tolist(), attributes={"Smiling": 1.0}, hold=["Smiling"], api_name="/edit_latent")
    with pytest.raises(Exception, match="unknown attribute"):
        client.predict(model="faces-vae", latent=z.tolist(), attributes={"Smile": 1.0}, api_name="/edit_latent")


def test_decode_in_attribute_mode_moves_the_named_attribute_and_ignores_a_held_one(faces_vae_app, client):
    label = faces_vae_app.labels["faces-vae"]
    names = faces_vae_app.catalog.get(label).explorer.attribute_names
    state = faces_vae_app.catalog.get(label).explorer.stats["heldout_latents"][2].tolist()
    smiling = [1.0 if name == "Smiling" else 0.0 for name in names]

    def decoded(values, held):
        from ui import sliders

        return np.asarray(sliders.decode(label, "attributes", state, None, [], values, held, shared=_shared(faces_vae_app))[0])

    still = decoded([0.0] * len(names), [])
    assert np.abs(decoded(smiling, []).astype(int) - still).mean() > 1  # the picture changes
    assert np.array_equal(decoded(smiling, ["Smiling"]), still)  # held: fixed
    with pytest.raises(Exception, match="held attributes: expected a list"):
        decoded(smiling, ["Smile"])


def _shared(app):
    import types

    return types.SimpleNamespace(entry=app.catalog.get)


@pytest.mark.slow  # 1,000 test faces per bar, judged
def test_the_attribute_slider_bars_on_faces_vae():
    """faces-vae, 1,000 test faces: Smiling at full scale flips >= 90% with others <= 10%; Smiling and Eyeglasses
    together flip both on >= 80% with others <= 10%; with Eyeglasses held, Smiling over its range changes Eyeglasses on
    <= 3%."""
    import data
    from latent import Explorer
    from latent.sliders import ATTRIBUTE_RANGE
    from metrics.edits import slider_scorecard
    from metrics.evaluate import classifier_for, trained_on

    path = Path(__file__).resolve().parents[1] / "checkpoints" / "faces-vae"
    dataset, options = trained_on(path)
    ds, explorer = data.load(dataset, split="test", **options), Explorer.load(path)
    judge = classifier_for(dataset, 64, options, judge=True)
    alone = slider_scorecard(explorer, judge, ds, {"Smiling": ATTRIBUTE_RANGE})
    assert alone["n"] == 1000 and alone["flip_rates"]["Smiling"] >= 0.9 and max(alone["changed"].values()) <= 0.1
    both = slider_scorecard(explorer, judge, ds, {"Smiling": ATTRIBUTE_RANGE, "Eyeglasses": ATTRIBUTE_RANGE})
    assert min(both["flip_rates"].values()) >= 0.8 and max(both["changed"].values()) <= 0.1
    for strength in (-ATTRIBUTE_RANGE, -ATTRIBUTE_RANGE / 2, ATTRIBUTE_RANGE / 2, ATTRIBUTE_RANGE):
        held = slider_scorecard(explorer, judge, ds, {"Smiling": strength}, held=("Eyeglasses",))
        assert held["changed"]["Eyeglasses"] <= 0.03, f"Smiling at {strength}: Eyeglasses changed on {held['changed']['Eyeglasses']:.1%}"


@pytest.mark.slow  # the shipped faces-vae in a browser
def test_dragging_smiling_draws_the_mouth_in_the_page_and_a_link_reopens_it(browser, faces_vae_app):
    """Named attributes on faces-vae, Eyeglasses held: dragging Smiling redraws the mouth on the page's canvas with no
    Gradio call until release; the shared link reopens the same sliders and the same picture."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(test_browser.TIMEOUT_MS)
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    receiver = None
    try:
        page.goto(faces_vae_app.url)
        image(page, "Reconstruction").wait_for()
        open_tab(page, "sliders")
        page.get_by_label("named attributes").check()
        smiling = page.locator('input[type=range][aria-label^="range slider for Smiling"]')
        smiling.wait_for()
        page.locator("#attribute-hold").get_by_label("Eyeglasses", exact=True).check()
        page.locator('input[type=range][aria-label^="range slider for Eyeglasses"][disabled]').wait_for()
        page.wait_for_function("() => window.latentLab && window.latentLab.local()")
        start = settled(page, "Decoded")[..., :3].astype(int)
        before = image(page, "Decoded").get_attribute("src")
        smiling.scroll_into_view_if_needed()
        box = smiling.bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + 0.5 * box["width"], y)
        page.mouse.down()
        for fraction in (0.6, 0.7, 0.8, 0.9, 0.99):
            page.mouse.move(box["x"] + fraction * box["width"], y)
        page.wait_for_function("() => window.latentLab.stats.local >= 1")
        page.wait_for_timeout(300)
        assert image(page, "Decoded").get_attribute("src") == before, "mid-drag, the picture came from Gradio"
        drawn = page.evaluate("() => window.latentLab.stats.lastPixels")
        pixels = np.array(drawn["data"]).reshape(drawn["height"], drawn["width"], 4)[..., :3].astype(int)
        scale = start.shape[0] // pixels.shape[0]
        change = np.abs(pixels - start[::scale, ::scale]).mean(2)
        mouth, eyes = change[40:54, 20:44].mean(), change[18:30, 14:50].mean()
        assert mouth > 8 and mouth > 2 * eyes, f"mouth changed {mouth:.1f}, eyes {eyes:.1f} (of 255)"
        page.mouse.up()
        wait_for_new_image(page, "Decoded", before)
        released = settled(page, "Decoded")
        value = smiling.input_value()

        page.get_by_role("button", name="Copy link to this view").click()
        page.get_by_role("button", name="Link copied").wait_for()
        url = page.evaluate("navigator.clipboard.readText()")
        receiver = context.new_page()
        receiver.set_default_timeout(test_browser.TIMEOUT_MS)
        receiver.on("pageerror", lambda err: errors.append(str(err)))
        receiver.goto(url)
        receiver.locator('button[role=tab][data-tab-id="sliders"][aria-selected="true"]').wait_for()
        assert np.array_equal(settled(receiver, "Decoded", released), released), "the linked picture differs from the sender's"
        assert receiver.locator('input[type=range][aria-label^="range slider for Smiling"]').input_value() == value
        assert receiver.locator("#attribute-hold").get_by_label("Eyeglasses", exact=True).is_checked()
        assert errors == [] and test_browser.error_toasts(page) == []
        assert float(value) > 0.5
    finally:
        context.close()


@pytest.mark.slow  # the shipped faces-vae in a browser
def test_the_attribute_tabs_strength_drag_is_drawn_in_the_page(browser, faces_vae_app):
    """The Attribute tab's strength slider on a vector edit: each drag tick is decoded in the page (no Gradio call
    until release), and the server's picture of the final strength is the page's, within 1/255."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(test_browser.TIMEOUT_MS)
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        page.goto(faces_vae_app.url)
        image(page, "Reconstruction").wait_for()
        open_tab(page, "attributes")
        image(page, "Edited").wait_for()
        page.wait_for_function("() => window.latentLab && window.latentLab.local(1)")
        before = image(page, "Edited").get_attribute("src")
        strength = page.locator("#attribute-strength input[type=range]")
        strength.scroll_into_view_if_needed()
        box = strength.bounding_box()
        y = box["y"] + box["height"] / 2
        start = page.evaluate("() => window.latentLab.stats.local")
        page.mouse.move(box["x"] + box["width"] * 4 / 6, y)  # strength 1: a third of the way from +3
        page.mouse.down()
        for fraction in (0.72, 0.8, 0.88, 0.95):
            page.mouse.move(box["x"] + fraction * box["width"], y)
        page.wait_for_function(f"() => window.latentLab.stats.local >= {start + 1}")
        page.wait_for_timeout(300)
        assert image(page, "Edited").get_attribute("src") == before, "mid-drag, the picture came from Gradio"
        page.mouse.up()
        wait_for_new_image(page, "Edited", before)
        server = settled(page, "Edited")[..., :3].astype(int)
        drawn = page.evaluate("() => window.latentLab.stats.lastPixels")
        pixels = np.array(drawn["data"]).reshape(drawn["height"], drawn["width"], 4)[..., :3]
        scale = server.shape[0] // pixels.shape[0]
        assert np.abs(server[::scale, ::scale] - pixels).max() <= 1
        assert errors == [] and test_browser.error_toasts(page) == []
    finally:
        page.close()
