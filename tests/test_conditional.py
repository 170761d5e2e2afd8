"""Conditional models in the explorer (issue 29, items 7-9): the Attribute tab edits a CVAE by switching its condition
and shows the card's figure for that; Reconstruct sets the condition from the dataset's classifier's reading of the
input, and a change of condition re-runs it; a shared view shows the scorecard of the attribute it opens.

Served on tiny checkpoints trained here: a CVAE on 32x32 faces conditioned on three attributes (with its card's
condition scorecards, measured by metrics.condition_scorecard) and a faces attribute classifier, beside the suite's
class-conditional digits CVAE and its digits classifier. The slow test reads the shipped faces-cvae.
"""

from __future__ import annotations

import json
import shutil
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY, tiny_run
from gradio_client import Client, handle_file
from PIL import Image

import ui
from data.face_factors import VERSION
from ui import reconstruct as reconstruct_tab
from ui import views
from ui.attribute_vectors import scorecard

ROOT = Path(__file__).resolve().parents[1]
FACES = {"n": 600, "size": 32, "version": VERSION}  # the tiny faces: 32x32, 600 training images
CONDITIONS = ("Smiling", "Eyeglasses", "Wearing_Hat")
SKIP = {"__type__": "update"}  # gr.skip(): an output left as it is

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="session")
def conditional_checkpoints(tmp_path_factory, checkpoints, digits_classifier) -> Path:
    """faces-cvae (tiny, on CONDITIONS, with an evaluation.json of condition scorecards), the suite's digits cvae, and
    classifiers/ holding a tiny faces attribute classifier and the digits classifier."""
    import data
    import metrics
    from latent import Explorer
    from train.loop import train

    root = tmp_path_factory.mktemp("conditional")
    shutil.copytree(checkpoints / "cvae", root / "cvae")
    shutil.copytree(digits_classifier, root / "classifiers" / "digits")
    faces = {"data": "faces", "data_options": FACES}
    train(
        "classifier",
        {"base_width": 8, "max_width": 32, "latent_dim": 32},
        tiny_run(root / "classifiers" / "faces", **faces, epochs=2, condition="attributes"),
    )
    cvae = train(
        "cvae", TINY, tiny_run(root / "faces-cvae", **faces, epochs=2, stats_images=300, log_every=50, condition=",".join(CONDITIONS))
    )
    classifier = metrics.classifier_for("faces", 32, FACES, checkpoints=root)
    explorer = Explorer.load(cvae)
    test = data.load("faces", split="test", **{**FACES, "n": 200})
    edits = {a: metrics.condition_scorecard(explorer, classifier, test, a, n=100) for a in ("Smiling", "Eyeglasses")}
    (Path(cvae) / metrics.EVALUATION_NAME).write_text(json.dumps({"dataset": "faces", "edits": edits}))
    return root


@pytest.fixture(scope="module")
def app(launch_app, conditional_checkpoints):
    with launch_app(conditional_checkpoints) as served:
        yield served


@pytest.fixture
def client(app):
    return Client(app.url, verbose=False)


def shared_of(app):
    """The app's ui.Shared (the model picker's handler is its bound model_change)."""
    return next(f.fn.__self__ for f in app.demo.fns.values() if getattr(f.fn, "__name__", "") == "model_change")


def component(app, elem_id: str):
    return next(block for block in app.demo.blocks.values() if getattr(block, "elem_id", None) == elem_id)


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path)).astype(int)


def example_png(app, key: str, index: int, tmp_path) -> str:
    path = tmp_path / f"{key}-{index}.png"
    image = np.asarray(app.catalog.get(app.labels[key]).examples[index])  # [H, W, C] uint8
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path)
    return str(path)


def tensor_of(path, entry):
    """A picture file as the entry's model takes it, [1, C, S, S] (an upscaled result brought back to its size)."""
    from data import to_tensor
    from data.images import fit_image

    return to_tensor(fit_image(Image.open(path), entry.config.image_size, entry.config.channels)[0])


def reading_of(entry, png: str) -> list[str]:
    """The condition attributes the entry's classifier sees in the picture."""
    x = tensor_of(png, entry)
    seen = entry.classifier.predict(x)[0]
    return [n for n in entry.conditions if bool(seen[entry.classifier.names.index(n)])]


def edit(client, label, name, method, strength, attributes=(), class_choice=None):
    """(current, edited, note) of /edit_attribute on the session's current latent, under the header's condition."""
    current, edited, note = client.predict(
        label, "attribute", name, method, [], [], [], strength, class_choice, list(attributes), None, api_name="/edit_attribute"
    )
    return pixels(current), pixels(edited), note


# --- item 7: the Attribute tab switches a conditional model's condition, under the card's figure for that


def test_attribute_tab_switches_the_condition_of_a_conditional_model(app, client, tmp_path):
    label = app.labels["faces-cvae"]
    client.predict(label, handle_file(example_png(app, "faces-cvae", 0, tmp_path)), 0.0, None, [], api_name="/reconstruct")
    current, edited, note = edit(client, label, "Smiling", "condition", 1.0, [])
    assert "switching faces-cvae's condition" in note and "Smiling = 0" in note and "then 1" in note, note
    assert np.abs(current - edited).max() > 0, "switching Smiling on changed nothing"
    # the header's condition is what the current picture is decoded under: ticking Smiling there changes it, and
    # gives what the switch gave
    smiling, unchanged, note = edit(client, label, "Smiling", "condition", 1.0, ["Smiling"])
    assert np.abs(smiling - current).max() > 0
    assert np.abs(smiling - edited).mean() < 0.5 and np.abs(unchanged - smiling).mean() < 0.5
    assert "already" in note  # Smiling is on above: a positive strength has nothing to switch
    on, switched_off, _ = edit(client, label, "Smiling", "condition", -1.0, ["Smiling"])  # a negative strength: off
    assert np.abs(switched_off - current).mean() < 0.5 and np.abs(switched_off - on).max() > 0
    still, same, _ = edit(client, label, "Smiling", "condition", 0.0, [])  # strength 0: no edit
    assert np.abs(still - same).mean() < 0.5


def test_a_conditional_model_opens_on_the_condition_switch_under_its_cards_figure(app):
    from ui import attributes

    entry = app.catalog.get(app.labels["faces-cvae"])
    card = entry.evaluation["edits"]["Smiling"]
    c = types.SimpleNamespace(**{name: object() for name in attributes.Components.__annotations__})
    opening = attributes._model_updates(entry, c)
    assert opening[c.name]["value"] == "Smiling" and opening[c.method]["value"] == "condition"
    assert ("switch the model's condition" in opening[c.method]["choices"][0][0]) and opening[c.method]["choices"][0][1] == "condition"
    shown = opening[c.card]["value"]
    assert shown.startswith("**Measured on this model**") and "switching the Smiling condition on" in shown, shown
    assert f"{card['flip_rate']:.0%}" in shown and "The edit shown here is that one" in shown
    # a vector on a conditional model is not what the card measured: its figure is not promised for it
    vector = scorecard(entry, "Smiling", "mean_difference")
    assert not vector.startswith("**Measured on this model**") and "not this method" in vector, vector
    assert "no measured scorecard for Bald" in scorecard(entry, "Bald", "condition")
    classes = attributes._model_updates(app.catalog.get(app.labels["cvae"]), c)  # class-conditional: classes switch
    assert classes[c.method]["value"] == "condition"


def test_a_class_conditional_model_switches_its_class(app, client, tmp_path):
    label = app.labels["cvae"]
    client.predict(label, handle_file(example_png(app, "cvae", 0, tmp_path)), 0.0, "3", [], api_name="/reconstruct")
    current, edited, note = edit(client, label, "7", "condition", 1.0, class_choice="3")
    assert "class 3 (the condition above), then class 7" in note and np.abs(current - edited).max() > 0
    _, _, note = edit(client, label, "3", "condition", 1.0, class_choice="3")
    assert "already" in note


def test_an_attribute_the_model_is_not_conditioned_on_is_explained(app, client, tmp_path):
    from gradio_client.exceptions import AppError

    label = app.labels["faces-cvae"]
    client.predict(label, handle_file(example_png(app, "faces-cvae", 0, tmp_path)), 0.0, None, [], api_name="/reconstruct")
    with pytest.raises(AppError, match="not conditioned on Bald"):
        edit(client, label, "Bald", "condition", 1.0, [])


# --- item 8: Reconstruct conditions on the classifier's reading, and a change of condition re-runs it


def test_reconstruct_reads_the_condition_from_the_classifier(app, client, tmp_path):
    label = app.labels["faces-cvae"]
    entry = app.catalog.get(label)
    png = example_png(app, "faces-cvae", 3, tmp_path)
    read = reading_of(entry, png)
    assert client.predict(label, handle_file(png), api_name="/read_condition") == (None, read)
    _, shown, _, note = client.predict(label, handle_file(png), 0.0, None, read, api_name="/reconstruct")
    assert f"conditioned on attributes {', '.join(read) or 'none'}: what the shipped attribute classifier reads" in note, note
    other = [a for a in CONDITIONS if a not in read][:1]
    _, other_shown, _, note = client.predict(label, handle_file(png), 0.0, None, other, api_name="/reconstruct")
    assert f"chosen above: {other[0]} (the shipped attribute classifier reads {', '.join(read) or 'none'})" in note, note
    assert np.abs(pixels(shown) - pixels(other_shown)).max() > 0
    # a class-conditional model: the class the dataset's classifier predicts
    digits = app.catalog.get(app.labels["cvae"])
    png = example_png(app, "cvae", 0, tmp_path)
    x = tensor_of(png, digits)
    predicted = digits.classifier.names[int(digits.classifier.predict(x)[0])]
    assert client.predict(app.labels["cvae"], handle_file(png), api_name="/read_condition") == (predicted, [])


def test_a_model_opens_with_its_first_examples_reading(app):
    shared = shared_of(app)
    entry = app.catalog.get(app.labels["faces-cvae"])
    values = shared.model_change(app.labels["faces-cvae"])
    read = reconstruct_tab.read_condition(entry, ui.common.example_tensor(entry, 0))
    boxes = values[shared.condition_attributes]
    assert boxes["value"] == read[1] and boxes["visible"] and boxes["choices"]
    assert any(isinstance(v, str) and "what the shipped attribute classifier reads" in v for v in values.values())


def test_a_change_of_condition_reruns_the_reconstruction(app):
    shared = shared_of(app)
    label = app.labels["faces-cvae"]
    rerun = reconstruct_tab.rerun
    first = reconstruct_tab.reconstruct(label, None, 0.0, None, [], 4, None, shared=shared)
    again = rerun(label, None, 0.0, None, ["Wearing_Hat"], 4, None, shared=shared)
    assert len(again) == 4 and "example #4" in again[3]
    assert "chosen above: Wearing_Hat" in again[3] or "conditioned on attributes Wearing_Hat" in again[3]
    assert np.abs(np.asarray(again[1]).astype(int) - np.asarray(first[1])).max() > 0  # a new reconstruction
    assert "keep the current latent" in again[3]  # the other tabs decode the current latent under the new condition
    assert rerun(label, None, 0.0, None, ["Smiling"], None, None, shared=shared) == [SKIP] * 4  # no image: nothing runs


# --- item 9: a shared view shows the scorecard of the attribute and method it opens


def test_a_shared_view_shows_the_scorecard_of_its_attribute(app):
    shared = shared_of(app)
    label = app.labels["faces-cvae"]
    entry = app.catalog.get(label)
    edit_fields = {"source": "attribute", "name": "Eyeglasses", "method": "condition", "given": [], "set_a": [], "set_b": []}
    token = views.encode(
        {"v": views.VERSION, "model": "faces-cvae", "tab": "attributes", "condition": [None, []], "edit": {**edit_fields, "strength": 2.0}}
    )
    values = views.open_view(shared, label, types.SimpleNamespace(query_params={"view": token}))
    card = values[component(app, "attribute-scorecard")]["value"]
    assert card == scorecard(entry, "Eyeglasses", "condition") and card.startswith("**Measured on this model**")
    assert "switching the Eyeglasses condition on" in card and "Smiling condition" not in card
    vector = views.encode({"v": views.VERSION, "model": "faces-cvae", "edit": {**edit_fields, "method": "svm", "strength": 2.0}})
    values = views.open_view(shared, label, types.SimpleNamespace(query_params={"view": vector}))
    assert values[component(app, "attribute-scorecard")]["value"] == scorecard(entry, "Eyeglasses", "svm")


# --- the shipped faces-cvae


@pytest.fixture(scope="module")
def shipped(launch_app, tmp_path_factory):
    served = tmp_path_factory.mktemp("faces-cvae-only")
    for name in ("faces-cvae", "classifiers"):
        (served / name).symlink_to(ROOT / "checkpoints" / name)
    with launch_app(served) as app:
        yield app


@pytest.mark.slow  # the shipped faces-cvae
def test_shipped_faces_cvae_keeps_example_6s_hat_and_switches_smiling(shipped, tmp_path):
    client = Client(shipped.url, verbose=False)
    label = shipped.labels["faces-cvae"]
    entry = shipped.catalog.get(label)
    png = example_png(shipped, "faces-cvae", 6, tmp_path)
    _, read = client.predict(label, handle_file(png), api_name="/read_condition")
    assert "Wearing_Hat" in read
    hat = entry.classifier.names.index("Wearing_Hat")

    def hat_seen(path) -> bool:
        x = tensor_of(path, entry)
        return bool(entry.classifier.predict(x)[0, hat])

    _, kept, _, note = client.predict(label, handle_file(png), 0.0, None, read, api_name="/reconstruct")
    _, lost, _, _ = client.predict(label, handle_file(png), 0.0, None, [], api_name="/reconstruct")
    assert hat_seen(kept) and not hat_seen(lost), note
    client.predict(label, handle_file(png), 0.0, None, read, api_name="/reconstruct")
    current, edited, note = client.predict(
        label, "attribute", "Smiling", "condition", [], [], [], 1.0, None, read, None, api_name="/edit_attribute"
    )
    smile = entry.classifier.names.index("Smiling")
    seen = [bool(entry.classifier.predict(tensor_of(p, entry))[0, smile]) for p in (current, edited)]
    assert seen == [False, True], note
    assert "98%" in scorecard(entry, "Smiling", "condition")


@pytest.mark.parametrize(
    "key, class_choice, threshold, rule",
    [
        ("cvae", "3", 0.15, "gives the chosen class a probability of at least 0.15"),  # the tiny digits model: p(3) 0.03-0.21
        ("faces-cvae", None, 0.6, "every attribute plainly there or plainly absent (probability >= 0.6 or <= 0.4)"),
    ],
)
def test_rejection_sampling_keeps_the_draws_the_classifier_is_sure_of(app, client, key, class_choice, threshold, rule):
    """Any sampler can reject (issue 33): a class-conditional model by the probability of its class, a model of faces
    by the classifier's least sure attribute. What is kept passes the rule, a rejected draw is redrawn, and the note
    says how many draws were kept."""
    entry = shared_of(app).entry(app.labels[key])
    y = entry.condition(class_choice, [], 12, sampling=True)
    wanted = y if class_choice else None  # the class the confidence is of; the faces classifier reads attributes
    kept, acceptance, never = entry.explorer.sample_confident(12, entry.classifier, threshold, seed=1, y=y, source="prior")
    assert (entry.classifier.confidence(kept, wanted) >= threshold).sum() >= 12 - never and 0 < acceptance < 1
    drawn = entry.explorer.sample(12, seed=1, y=y, source="prior")  # the first round's draws
    passed = entry.classifier.confidence(drawn, wanted) >= threshold
    assert torch.allclose(kept[passed], drawn[passed]) and not torch.allclose(kept[~passed], drawn[~passed])
    _, note = client.predict(app.labels[key], 4, 1.0, 1, "prior", class_choice, [], threshold, 0.0, api_name="/sample")
    assert "Rejection sampling kept" in note and rule in note
