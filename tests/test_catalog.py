"""One damaged checkpoint never stops the app: a corpus of damaged checkpoint files, each beside a good checkpoint.

For every file of a checkpoint directory, damaged variants (missing, garbage bytes, cut short, the wrong JSON type,
tensors or names missing): Catalog.discover (what `python app.py --checkpoints DIR` calls) serves the good checkpoint
and warns once, naming the damaged file. A damaged required file (config.json, model.safetensors, stats.safetensors)
skips its checkpoint; a damaged optional one serves it without what that file provided (see ui.catalog.load_entry).
"""

import json
import shutil
import warnings
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from ui import model_card
from ui.catalog import Catalog

pytestmark = pytest.mark.usefixtures("one_thread")

GOOD = "vae"  # the conftest checkpoint copied as "good" and as the one damaged, "bad"


# ----------------------------------------------------------------------------- damage


def missing(name):
    return lambda d: (d / name).unlink()


def garbage(name):
    return lambda d: (d / name).write_bytes(b"\xff\xfe\x00 this is not the file you are looking for \x00" * 3)


def cut_short(name):
    return lambda d: (d / name).write_bytes((d / name).read_bytes()[: (d / name).stat().st_size // 2])


def text(name, content):
    return lambda d: (d / name).write_text(content)


def json_edit(name, **changes):
    def damage(d):
        (d / name).write_text(json.dumps({**json.loads((d / name).read_text()), **changes}))

    return damage


def stats_edit(edit):
    """Rewrite stats.safetensors after edit(tensors, metadata) changed them (metadata: raw strings, as stored)."""

    def damage(d):
        file = d / "stats.safetensors"
        with safe_open(str(file), framework="pt") as f:
            tensors, metadata = {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
        edit(tensors, metadata)
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(file), metadata=metadata)

    return damage


def weights_edit(edit):
    def damage(d):
        state = load_file(d / "model.safetensors")
        edit(state)
        save_file(state, str(d / "model.safetensors"))

    return damage


def _class_vectors_without_names(tensors, metadata):
    tensors["class_vectors"] = torch.zeros(10, tensors["mean"].shape[0])
    metadata.pop("label_names", None)


def _drop_first(state):
    state.pop(sorted(state)[0])


def _reshape_first(state):
    key = sorted(state)[0]
    state[key] = torch.zeros(*state[key].shape[:-1], state[key].shape[-1] + 1)


# file -> [(case, damage)]: a damaged required file skips its checkpoint
REQUIRED = {
    "config.json": [
        ("missing", missing("config.json")),
        ("garbage", garbage("config.json")),
        ("cut short", cut_short("config.json")),
        ("array", text("config.json", "[]")),
        ("no model_type", text("config.json", "{}")),
        ("unknown model_type", json_edit("config.json", model_type="nope")),
        ("wrong field type", json_edit("config.json", latent_dim="four")),
        ("unknown field", json_edit("config.json", latent_size=4)),
        ("another architecture", json_edit("config.json", latent_dim=5)),  # refused by model.safetensors, named with config.json
    ],
    "model.safetensors": [
        ("missing", missing("model.safetensors")),
        ("garbage", garbage("model.safetensors")),
        ("cut short", cut_short("model.safetensors")),
        ("tensor missing", weights_edit(_drop_first)),
        ("tensor mis-shaped", weights_edit(_reshape_first)),
    ],
    "stats.safetensors": [
        ("missing", missing("stats.safetensors")),
        ("garbage", garbage("stats.safetensors")),
        ("cut short", cut_short("stats.safetensors")),
        ("no mean", stats_edit(lambda t, m: t.pop("mean"))),
        ("no std", stats_edit(lambda t, m: t.pop("std"))),
        ("class vectors without names", stats_edit(_class_vectors_without_names)),
        ("names not JSON", stats_edit(lambda t, m: m.update(label_names="[0, 1"))),
        ("names not a list", stats_edit(lambda t, m: m.update(label_names='{"a": 1}'))),
        ("fewer names than vectors", stats_edit(lambda t, m: m.update(label_names=json.dumps(json.loads(m["label_names"])[:3])))),
        ("mean of another size", stats_edit(lambda t, m: t.update(mean=torch.zeros(t["mean"].shape[0] + 1)))),
        (
            "latents of another size",
            stats_edit(lambda t, m: t.update({k: v[..., :1] for k, v in t.items() if v.shape[-1:] == t["mean"].shape})),
        ),
        ("NaN", stats_edit(lambda t, m: t["std"].fill_(float("nan")))),
        ("examples not pictures", stats_edit(lambda t, m: t.update(examples=t["examples"].float()))),
        ("labels out of range", stats_edit(lambda t, m: t["heldout_labels"].fill_(99))),
    ],
}

# file -> [(case, damage)], and what the served "bad" entry goes without
OPTIONAL = {
    "training.json": [
        ("array", text("training.json", "[]")),
        ("garbage", garbage("training.json")),
        ("cut short", cut_short("training.json")),
        ("data not a name", json_edit("training.json", data=3)),
        ("options not an object", json_edit("training.json", data_options=[16])),
        ("options not scalars", json_edit("training.json", data_options={"size": [16]})),
    ],
    "evaluation.json": [
        ("array", text("evaluation.json", "[]")),
        ("garbage", garbage("evaluation.json")),
        ("cut short", cut_short("evaluation.json")),
    ],
    "decoder.onnx": [
        ("garbage", garbage("decoder.onnx")),
        ("missing", missing("decoder.onnx")),
        ("stale: exported from other weights", json_edit("decoder.json", weights_sha256="0" * 64)),
    ],
    "decoder.json": [
        ("array", text("decoder.json", "[]")),
        ("garbage", garbage("decoder.json")),
        ("missing", missing("decoder.json")),
        ("no hashes", text("decoder.json", "{}")),
    ],
    "README.md": [("garbage", garbage("README.md"))],
    "metrics.jsonl": [("garbage", garbage("metrics.jsonl")), ("not records", text("metrics.jsonl", '[1]\n{"step": "x", "loss": null}\n'))],
}


def _cases(table):
    return [pytest.param(name, damage, id=f"{name}: {case}") for name, cases in table.items() for case, damage in cases]


# ----------------------------------------------------------------------------- helpers


@pytest.fixture
def root(tmp_path, checkpoints) -> Path:
    """A checkpoints folder holding two copies of the tiny VAE: "good", and "bad" for a test to damage."""
    root = tmp_path / "checkpoints"
    root.mkdir()
    for name in ("good", "bad"):
        shutil.copytree(checkpoints / GOOD, root / name)
    return root


def discover(root: Path, **kwargs) -> tuple[dict, list[str]]:
    """({key: entry} served from root, the warnings that name something under root)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        catalog = Catalog.discover(root, **kwargs)
    messages = [str(w.message) for w in caught if str(root) in str(w.message)]
    for message in messages:
        assert "\n" not in message, message
    return {entry.key: entry for entry in catalog.entries.values()}, messages


# ----------------------------------------------------------------------------- tests


def test_good_checkpoints_load_without_warnings(root):
    served, messages = discover(root)
    assert sorted(served) == ["bad", "good"] and messages == []
    assert served["good"].dataset == "digits" and served["good"].evaluation
    assert (served["good"].decoder is not None) == (root / "good" / "decoder.onnx").exists()


@pytest.mark.parametrize("name, damage", _cases(REQUIRED))
def test_damaged_required_file_skips_only_its_checkpoint(root, name, damage):
    damage(root / "bad")
    served, messages = discover(root)
    assert sorted(served) == ["good"]
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"skipping {root / 'bad'}: ") and name in messages[0], messages[0]


@pytest.mark.parametrize("name, damage", _cases(OPTIONAL))
def test_damaged_optional_file_serves_the_model_without_it(root, name, damage):
    # decoder.onnx is exported where onnx is installed, as requirements-dev.txt does: no skip to hide a missing export
    assert (root / "bad" / name).exists(), f"the tiny checkpoint has no {name}: is onnx installed (requirements-dev.txt)?"
    damage(root / "bad")
    served, messages = discover(root)
    assert sorted(served) == ["bad", "good"]
    assert len(messages) == 1 and str(root / "bad" / name) in messages[0], messages
    bad = served["bad"]
    if name == "training.json":
        assert bad.dataset == "?" and bad.data_options == {} and bad.classifier is None
    elif name == "evaluation.json":
        assert bad.evaluation == {}
    elif name.startswith("decoder"):
        assert bad.decoder is None and served["good"].decoder is not None
    else:  # the Model tab shows what it can read, and a note for the rest
        assert isinstance(model_card.card_text(bad.path), str)
        model_card.curves(bad.path)


@pytest.fixture
def vq_root(tmp_path, checkpoints) -> Path:
    """The good VAE, and the tiny VQ-VAE with its PixelCNN prior."""
    root = tmp_path / "checkpoints"
    root.mkdir()
    for name in ("vae", "vqvae", "vqvae-prior"):
        shutil.copytree(checkpoints / name, root / name)
    return root


def test_good_prior_samples_its_vqvae(vq_root):
    served, messages = discover(vq_root)
    assert sorted(served) == ["vae", "vqvae"] and messages == []
    assert served["vqvae"].explorer.prior is not None


@pytest.mark.parametrize(
    "name, damage",
    [
        pytest.param("config.json", text("config.json", "[]"), id="config.json: array"),
        pytest.param("config.json", json_edit("config.json", grid_size="four"), id="config.json: wrong field type"),
        pytest.param("model.safetensors", garbage("model.safetensors"), id="model.safetensors: garbage"),
        pytest.param("model.safetensors", cut_short("model.safetensors"), id="model.safetensors: cut short"),
    ],
)
def test_damaged_prior_serves_its_vqvae_without_it(vq_root, name, damage):
    damage(vq_root / "vqvae-prior")
    served, messages = discover(vq_root)
    assert sorted(served) == ["vae", "vqvae"] and served["vqvae"].explorer.prior is None
    assert len(messages) == 1 and str(vq_root / "vqvae-prior" / name) in messages[0], messages


@pytest.fixture
def classifier_root(tmp_path, checkpoints, digits_classifier) -> Path:
    """The good VAE and, under classifiers/, the tiny digits classifier of its dataset and image size."""
    root = tmp_path / "checkpoints"
    root.mkdir()
    shutil.copytree(checkpoints / GOOD, root / "good")
    shutil.copytree(digits_classifier, root / "classifiers" / "digits")
    return root


def test_good_classifier_is_picked(classifier_root):
    served, messages = discover(classifier_root)
    assert messages == [] and served["good"].classifier is not None


@pytest.mark.parametrize(
    "name, damage",
    [
        pytest.param("training.json", text("training.json", "[]"), id="training.json: array"),
        pytest.param("training.json", garbage("training.json"), id="training.json: garbage"),
        pytest.param("training.json", json_edit("training.json", data_options=[16]), id="training.json: options not an object"),
        pytest.param("config.json", text("config.json", "[]"), id="config.json: array"),
        pytest.param("model.safetensors", garbage("model.safetensors"), id="model.safetensors: garbage"),
    ],
)
def test_damaged_classifier_serves_the_models_without_one(classifier_root, name, damage):
    damage(classifier_root / "classifiers" / "digits")
    served, messages = discover(classifier_root)
    assert sorted(served) == ["good"] and served["good"].classifier is None
    assert len(messages) == 1 and str(classifier_root / "classifiers" / "digits" / name) in messages[0], messages


def test_unexpected_error_skips_the_checkpoint_in_one_line(root, monkeypatch):
    import ui.catalog

    real = ui.catalog.Explorer.load

    def load(path, *args, **kwargs):
        if Path(path).name == "bad":
            raise KeyError("a key no loader anticipated")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(ui.catalog.Explorer, "load", load)
    served, messages = discover(root)
    assert sorted(served) == ["good"]
    assert messages == [f"skipping {root / 'bad'}: KeyError: 'a key no loader anticipated'"]


def test_ctrl_c_is_not_swallowed(root, monkeypatch):
    import ui.catalog

    def load(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ui.catalog.Explorer, "load", load)
    with pytest.raises(KeyboardInterrupt):
        Catalog.discover(root)


def test_nothing_left_to_serve_is_one_error(root):
    shutil.rmtree(root / "good")
    missing("stats.safetensors")(root / "bad")
    with warnings.catch_warnings(), pytest.raises(ValueError, match="no models to serve"):
        warnings.simplefilter("ignore")
        Catalog.discover(root)


def test_training_budget_says_minutes_epochs_and_a_warm_start():
    from ui.catalog import training_budget

    record = {"epochs": 12, "seconds": 3380.8, "hardware": "x86_64 CPU, 2 cores", "train_config": {"init": ""}}
    assert training_budget(record) == "56 min, 12 epochs"
    started = {**record, "epochs": 1, "train_config": {"init": "checkpoints/faces-vae"}}
    assert training_budget(started) == "56 min, 1 epoch, after faces-vae"
    for damaged in ({}, {**record, "seconds": "long"}, {**record, "epochs": True}, {**record, "seconds": None}):
        assert training_budget(damaged) == "", damaged
    assert training_budget({**record, "train_config": []}) == "56 min, 12 epochs"  # no warm start read
