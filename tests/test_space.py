"""The repository as a Hugging Face Space: the README's front matter passes the Hub's documented rules, and the
Space installs the CPU build of torch at the version requirements.txt pins.

The rules are the Hub's Spaces configuration reference (https://huggingface.co/docs/hub/spaces-config-reference)
plus its 60-character limit on short_description, which the Hub enforces on upload; huggingface_hub's own parser
(SpaceCard) reads the block."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import types
import unicodedata
from pathlib import Path

import gradio
import httpx
import huggingface_hub.constants
import numpy as np
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from huggingface_hub import HfApi, ModelCard, SpaceCard
from huggingface_hub.utils import filter_repo_objects
from PIL import Image

import models

ROOT = Path(__file__).resolve().parents[1]

SPACE_KEYS = {  # every key the configuration reference accepts
    "title",
    "emoji",
    "colorFrom",
    "colorTo",
    "sdk",
    "python_version",
    "sdk_version",
    "suggested_hardware",
    "suggested_storage",
    "app_file",
    "app_port",
    "base_path",
    "fullWidth",
    "header",
    "short_description",
    "models",
    "datasets",
    "tags",
    "thumbnail",
    "pinned",
    "hf_oauth",
    "hf_oauth_scopes",
    "hf_oauth_expiration_minutes",
    "disable_embedding",
    "startup_duration_timeout",
    "custom_headers",
    "preload_from_hub",
    "license",
}
COLORS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}


def front_matter() -> dict:
    return SpaceCard.load(ROOT / "README.md").data.to_dict()


def pinned(requirements: str, package: str) -> str:
    """The version `package==X` pins in a requirements file."""
    match = re.search(rf"^{package}==(\S+)", (ROOT / requirements).read_text(), re.MULTILINE)
    assert match, f"{requirements} does not pin {package}"
    return match.group(1)


def test_the_front_matter_passes_the_hubs_rules():
    meta = front_matter()
    assert set(meta) <= SPACE_KEYS, f"keys the Hub does not know: {set(meta) - SPACE_KEYS}"
    assert meta["sdk"] == "gradio"
    assert meta["sdk_version"] == gradio.__version__ == pinned("requirements.txt", "gradio"), "the Space must run the Gradio the tests ran"
    assert (ROOT / meta["app_file"]).is_file()
    assert re.fullmatch(r"3\.\d+(\.\d+)?", str(meta["python_version"])), (
        "python_version: a quoted 3.x or 3.x.x (unquoted, YAML reads 3.10 as 3.1)"
    )
    assert meta["colorFrom"] in COLORS and meta["colorTo"] in COLORS
    assert 0 < len(meta["short_description"]) <= 60, (
        f"short_description has {len(meta['short_description'])} characters; the Hub refuses more than 60"
    )
    emoji = meta["emoji"].replace("\ufe0f", "")  # a variation selector may follow the pictograph
    assert len(emoji) == 1 and unicodedata.category(emoji) == "So", f"emoji must be one emoji character, got {meta['emoji']!r}"
    assert isinstance(meta["title"], str) and 0 < len(meta["title"]) <= 30
    assert meta["license"] == "mit" and isinstance(meta["pinned"], bool)


def test_the_space_installs_the_cpu_build_of_the_pinned_torch():
    """A Space installs pre-requirements.txt before requirements.txt: torch comes from PyTorch's CPU index there, at
    requirements.txt's pin (which 2.13.0+cpu satisfies), so no CUDA wheel is pulled."""
    pre = (ROOT / "pre-requirements.txt").read_text()
    assert re.search(r"^--extra-index-url https://download\.pytorch\.org/whl/cpu$", pre, re.MULTILINE)
    assert pinned("pre-requirements.txt", "torch") == pinned("requirements.txt", "torch")
    readme = (ROOT / "README.md").read_text()
    assert "pip install -r pre-requirements.txt" in readme, "the README tells laptops how to get the CPU build"


# --- one push path, and a pushed checkpoint served exactly like the local one


class FakeHub:
    """HfApi's create_repo and upload_folder against a local HF cache: an upload lands as the snapshot a download
    would leave (models--owner--name/{refs/main, snapshots/<sha>/...}), so loading it needs HF_HUB_OFFLINE only."""

    def __init__(self, cache: Path):
        self.cache, self.uploads = cache, []

    def create_repo(self, api, repo_id, **kwargs):
        return types.SimpleNamespace(repo_id=repo_id)

    def upload_folder(self, api, *, folder_path, repo_id, ignore_patterns=None, **kwargs):
        folder = Path(folder_path)
        names = sorted(
            filter_repo_objects(
                [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()], ignore_patterns=ignore_patterns
            )
        )
        sha = f"{len(self.uploads):040x}"
        repo = self.cache / ("models--" + repo_id.replace("/", "--"))
        for name in names:
            (repo / "snapshots" / sha / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / name, repo / "snapshots" / sha / name)
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / "main").write_text(sha)
        self.uploads.append((repo_id, names))


@pytest.fixture
def hub(tmp_path, monkeypatch):
    fake = FakeHub(tmp_path / "hub")
    monkeypatch.setattr(HfApi, "create_repo", lambda api, repo_id, **kw: fake.create_repo(api, repo_id, **kw))
    monkeypatch.setattr(HfApi, "upload_folder", lambda api, **kw: fake.upload_folder(api, **kw))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    return fake


def test_the_cli_and_push_to_hub_upload_the_same_complete_checkpoint(checkpoints, hub, capsys):
    from train.cli import main

    main(["push", str(checkpoints / "vae"), "latent-lab/by-cli"])
    assert "pushed VAE to https://huggingface.co/latent-lab/by-cli" in capsys.readouterr().out
    models.load(checkpoints / "vae").push_to_hub("latent-lab/by-method")
    (_, by_cli), (_, by_method) = hub.uploads
    assert by_cli == by_method
    for name in (
        "config.json",
        "model.safetensors",
        "README.md",
        "stats.safetensors",
        "samples.png",
        "training.json",
        "evaluation.json",
        "metrics.jsonl",
    ):
        assert name in by_cli, f"{name} was not pushed"
    assert not any(name == "resume.pt" or name.startswith((".", "progress/")) for name in by_cli)


def test_push_to_hub_refuses_what_is_not_a_trained_checkpoint(checkpoints, hub):
    model = models.load(checkpoints / "vae")
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    with pytest.raises(ValueError, match="weights in memory differ"):
        model.push_to_hub("latent-lab/changed")
    with pytest.raises(ValueError, match="not loaded from a checkpoint directory"):
        models.VAE(model.config).push_to_hub("latent-lab/fresh")
    assert hub.uploads == []


@pytest.mark.parametrize(
    "setting, expected",
    [
        ("offline", "cannot push: HF_HUB_OFFLINE is set"),
        ("no token", "cannot push: not logged in to the Hugging Face Hub; run `hf auth login`"),
        ("unreachable", "cannot push to latent-lab/x: the Hub is unreachable"),
    ],
)
def test_push_fails_in_one_line_without_the_hub(setting, expected, checkpoints, tmp_path, monkeypatch):

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", setting == "offline")
    monkeypatch.setenv("HF_TOKEN", "" if setting == "no token" else "hf_test")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # no stored token either
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")  # the discard port: refused at once
    result = subprocess.run(
        [sys.executable, "-m", "train", "push", str(checkpoints / "vae"), "latent-lab/x"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1" if setting == "offline" else "0", "HF_ENDPOINT": "http://127.0.0.1:9"},
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"python -m train push: {result.stderr.split(': ', 1)[1].strip()}"], result.stderr
    assert expected in result.stderr


def test_a_pushed_checkpoint_is_served_exactly_like_the_local_one(checkpoints, digits_classifier, hub, launch_app, tmp_path, monkeypatch):
    """Push the tiny VAE, then serve its Hub id (offline, from the cache) beside the local directory: the same
    dataset, card, classifier and exported decoder, and the same pictures from /reconstruct."""
    served = tmp_path / "served"
    shutil.copytree(checkpoints / "vae", served / "vae")
    shutil.copytree(digits_classifier, served / "classifiers" / "digits")
    models.push_checkpoint(served / "vae", "latent-lab/tiny-vae")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with launch_app(served, extra=["latent-lab/tiny-vae"]) as app:
        local, remote = app.catalog.get(app.labels["vae"]), app.catalog.get(app.labels["latent-lab/tiny-vae"])
        assert remote.label == local.label.replace("vae ·", "latent-lab/tiny-vae ·", 1)
        assert (remote.dataset, remote.data_options, remote.evaluation) == (local.dataset, local.data_options, local.evaluation)
        assert remote.classifier is local.classifier is not None
        assert (remote.decoder is None) == (local.decoder is None)
        client = Client(app.url, verbose=False)
        image = tmp_path / "digit.png"
        Image.fromarray(np.asarray(local.examples[3])[..., 0]).save(image)
        pictures = [
            client.predict(entry.label, handle_file(str(image)), 0.0, None, [], api_name="/reconstruct")[:3] for entry in (local, remote)
        ]
        for a, b in zip(*pictures):  # input, reconstruction, error map
            assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))


def test_every_shipped_card_carries_the_hubs_metadata():
    """huggingface_hub's own parser reads each shipped card: library, task, tags, the dataset's Hub id where it
    has one, the measured metrics as a model-index matching evaluation.json, and a link to the code."""
    import data
    import metrics

    cards = sorted(p.parent for p in (ROOT / "checkpoints").rglob("README.md"))
    assert len(cards) >= 20
    for directory in cards:
        card = ModelCard.load(directory / "README.md")
        record = json.loads((directory / "training.json").read_text())
        kind = models.read_config_json(str(directory / "config.json"))["model_type"]
        assert card.data.library_name == "latent-lab" and card.data.license == "mit", directory
        assert card.data.pipeline_tag == ("image-classification" if kind == "classifier" else "unconditional-image-generation"), directory
        assert {"latent-lab", kind, record["data"]} <= set(card.data.tags), directory
        assert card.data.datasets == ([data.HUB_DATASETS[record["data"]]] if record["data"] in data.HUB_DATASETS else None), directory
        expected = metrics.headline(json.loads((directory / metrics.EVALUATION_NAME).read_text()))
        assert card.data.model_name == directory.name and len(card.data.eval_results) == len(expected) > 0, directory
        for result, (kind, name, value) in zip(card.data.eval_results, expected):
            assert (result.metric_type, result.metric_name, result.dataset_split) == (kind, name, "test")
            assert result.metric_value == pytest.approx(value, abs=1e-4)
        assert f"[Latent Lab]({models.CODE_URL})" in card.text, directory


# --- the API a program calls


@pytest.fixture(scope="module")
def faces_vae_served(launch_app, tmp_path_factory):
    """The explorer serving the shipped faces-vae (and the shipped classifiers) alone."""
    served = tmp_path_factory.mktemp("faces-vae-api")
    for name in ("faces-vae", "classifiers"):
        (served / name).symlink_to(ROOT / "checkpoints" / name)
    with launch_app(served) as app:
        yield app


def doc_block(document: str, heading: str) -> str:
    """The first ```python block after `heading` in `document` (the README or a page under docs/)."""
    text = (ROOT / document).read_text()
    return re.search(r"```python\n(.*?)```", text[text.index(heading) :], re.S).group(1)


@pytest.mark.slow  # the shipped faces-vae
def test_the_docs_client_snippet_runs_as_written(faces_vae_served, tmp_path):
    code = doc_block("docs/explorer.md", "## An API a program can call").replace("http://127.0.0.1:7860/", faces_vae_served.url)
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Smiling (mean_difference) at strength +2" in result.stdout and "held-out ROC-AUC" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("64 ")


@pytest.mark.slow  # the shipped faces-vae
def test_the_typed_endpoints_refuse_bad_values_by_name(faces_vae_served, tmp_path):
    client = Client(faces_vae_served.url, verbose=False)
    latent = client.predict(model="faces-vae", n=1, api_name="/sample_latents")["latents"][0]
    bad = [
        (dict(model="nope", latent=latent), "/decode_latent", "model: unknown 'nope'"),
        (dict(model="faces-vae", latent=latent[:5]), "/decode_latent", "latent: faces-vae takes a list of 64 numbers, got 5"),
        (
            dict(model="faces-vae", latent=latent, attribute="Smiling", strength=1e9),
            "/edit_latent",
            "strength: expected a number from -10 to 10",
        ),
        (
            dict(model="faces-vae", latent=latent, attribute="Smiling", method="guided"),
            "/edit_latent",
            "method: one of mean_difference, svm",
        ),
        (dict(model="faces-vae", latent=latent, attribute="Bogus"), "/edit_latent", "attribute: unknown 'Bogus'"),
        (dict(model="faces-vae", n=1000), "/sample_latents", "n: expected a number from 1 to 64"),
        (dict(model="faces-vae", n=1, source="nowhere"), "/sample_latents", "source: faces-vae draws from one of "),
        (dict(model="faces-vae", latent=latent, condition=["Smiling"]), "/decode_latent", "condition: unknown attribute(s) ['Smiling']"),
    ]
    for kwargs, api_name, message in bad:
        with pytest.raises(AppError, match=re.escape(message)):
            client.predict(**kwargs, api_name=api_name)
    for api_name, data, message in [  # NaN and infinity, which a JSON client cannot send but a raw request can
        ("/decode_latent", ["faces-vae", [float("nan")] * 64, None], "latent[0]: expected a number"),
        (
            "/edit_latent",
            ["faces-vae", latent, "Smiling", float("inf"), "mean_difference", None, None, None, None],
            "strength: expected a number from -10 to 10",
        ),
        ("/sample_latents", ["faces-vae", 1, 0, float("nan"), "prior", None], "temperature: expected a number"),
    ]:
        body = json.dumps({"data": data})  # json writes NaN and Infinity; the server's json reads them
        event_id = httpx.post(
            f"{faces_vae_served.url}gradio_api/call{api_name}", content=body, headers={"content-type": "application/json"}, timeout=30
        ).json()["event_id"]
        stream = httpx.get(f"{faces_vae_served.url}gradio_api/call{api_name}/{event_id}", timeout=60).text
        assert "event: error" in stream and message in stream, (api_name, stream[-500:])
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    with pytest.raises(AppError, match="vector: not an attribute vector file"):
        client.predict(model="faces-vae", latent=latent, vector=handle_file(str(junk)), api_name="/edit_latent")
    from latent import save_vector

    save_vector(tmp_path / "short.safetensors", torch.ones(8), model="x")
    with pytest.raises(AppError, match=re.escape("the vector has shape [8]")):
        client.predict(model="faces-vae", latent=latent, vector=handle_file(str(tmp_path / "short.safetensors")), api_name="/edit_latent")
    decoded = client.predict(model="faces-vae", latent=latent, api_name="/decode_latent")
    assert np.asarray(Image.open(decoded["image"])).shape == (64, 64, 3) and decoded["latent"] == latent
