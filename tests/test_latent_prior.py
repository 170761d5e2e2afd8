"""The second-stage prior a VAE checkpoint carries (models.latent_prior; Dai & Wipf 2019): fitted by
`python -m train prior`, saved beside the first stage as prior.json + prior.safetensors, loaded by models.load, sampled
by the explorer's "prior" source (N(0, I) of the first stage one source away), measured by metrics, and a damaged pair
of files served as an optional one: the model without its learned prior, one warning naming the file."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

import data
import metrics
import models
from latent import SAMPLE_SOURCES, Explorer
from models.latent_prior import PRIOR_CONFIG_NAME, PRIOR_WEIGHTS_NAME, LatentPrior, LatentPriorConfig, load_latent_prior
from tests.conftest import TINY, tiny_run
from train.cli import main as train_main
from train.prior import fit_latent_prior, train_prior

pytestmark = pytest.mark.usefixtures("one_thread")

TINY_PRIOR = {"epochs": 3, "images": 256, "batch_size": 32, "hidden_dims": (16,), "progress": False}


@pytest.fixture(scope="module")
def first_stage(tmp_path_factory, latent_lab_cache) -> Path:
    """A tiny VAE (latent 4, MLP) on 16x16 digits, one epoch, without a second stage."""
    from train.loop import train

    out = tmp_path_factory.mktemp("first-stage") / "vae"
    return train("vae", TINY, tiny_run(out, epochs=1, log_every=50, stats_images=300))


@pytest.fixture(scope="module")
def two_stage(tmp_path_factory, first_stage) -> Path:
    """The tiny VAE with a tiny second stage fitted by train_prior (seed 0)."""
    out = tmp_path_factory.mktemp("two-stage") / "vae"
    shutil.copytree(first_stage, out)
    train_prior(out, seed=0, **TINY_PRIOR)
    return out


@pytest.fixture
def copy(tmp_path, two_stage) -> Path:
    """A copy of the two-stage checkpoint a test may damage."""
    shutil.copytree(two_stage, tmp_path / "vae")
    return tmp_path / "vae"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fitting_writes_the_prior_beside_an_untouched_first_stage(first_stage, two_stage):
    for name in (models.WEIGHTS_NAME, models.CONFIG_NAME, "stats.safetensors", "training.json"):
        assert digest(first_stage / name) == digest(two_stage / name), name
    assert not (first_stage / PRIOR_CONFIG_NAME).exists()
    record = json.loads((two_stage / PRIOR_CONFIG_NAME).read_text())
    training = record["training"]
    assert training["seed"] == 0 and training["epochs"] == 3 and training["images"] == 256 and training["seconds"] > 0
    assert "z ~ q(z|x)" in training["codes"] and set(training["final"]) == {"loss", "recon", "kl", "gamma"}
    assert record["config"]["latent_dim"] == 4 and record["config"]["hidden_dims"] == [16]
    model = models.load(two_stage)
    assert isinstance(model.latent_prior, LatentPrior) and model.prior_description.endswith("(Dai & Wipf 2019)")
    # the first stage's state dict is exactly what its own checkpoint holds: no prior tensors mixed in
    assert set(model.state_dict()) == set(models.load(first_stage).state_dict())


def test_save_and_load_round_trip_is_bit_identical(two_stage, tmp_path):
    model = models.load(two_stage)
    again = tmp_path / "again"
    shutil.copytree(two_stage, again)
    from models.latent_prior import save_latent_prior

    save_latent_prior(model.latent_prior, again, json.loads((two_stage / PRIOR_CONFIG_NAME).read_text())["training"])
    assert (again / PRIOR_WEIGHTS_NAME).read_bytes() == (two_stage / PRIOR_WEIGHTS_NAME).read_bytes()
    assert (again / PRIOR_CONFIG_NAME).read_text() == (two_stage / PRIOR_CONFIG_NAME).read_text()
    loaded = models.load(again).latent_prior
    for key, tensor in model.latent_prior.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[key]), key


def test_same_seed_same_prior(first_stage, two_stage, tmp_path):
    out = tmp_path / "vae"
    shutil.copytree(first_stage, out)
    train_prior(out, seed=0, **TINY_PRIOR)
    assert load_file(str(out / PRIOR_WEIGHTS_NAME)).keys() == load_file(str(two_stage / PRIOR_WEIGHTS_NAME)).keys()
    for key, tensor in load_file(str(out / PRIOR_WEIGHTS_NAME)).items():
        assert torch.equal(tensor, load_file(str(two_stage / PRIOR_WEIGHTS_NAME))[key]), key
    train_prior(out, seed=1, **TINY_PRIOR)
    assert not torch.equal(
        load_file(str(out / PRIOR_WEIGHTS_NAME))["log_gamma"], load_file(str(two_stage / PRIOR_WEIGHTS_NAME))["log_gamma"]
    )


def test_the_second_stage_learns_the_codes_and_its_output_scale():
    """Codes on a curve in 4-D (a 1-D manifold N(0, I) does not fill): the negative ELBO falls, and the learned output
    scale gamma shrinks below 1 (Dai & Wipf 2019, sec. 3); the samples land near the curve."""
    t = torch.rand(2048, generator=torch.Generator().manual_seed(0)) * 6 - 3
    codes = torch.stack([t, torch.sin(2 * t), torch.cos(2 * t), 0.5 * t], 1)
    config = LatentPriorConfig(latent_dim=4, inner_dim=4, hidden_dims=(64, 64))
    _, first = fit_latent_prior(config, codes, None, epochs=1, batch_size=64, lr=3e-3, seed=0, progress=False)
    prior, last = fit_latent_prior(config, codes, None, epochs=40, batch_size=64, lr=3e-3, seed=0, progress=False)
    assert last["loss"] < first["loss"] - 3 and first["gamma"] > 0.9 and last["gamma"] < 0.3, (first, last)
    with torch.no_grad():  # the decoder's means land near the curve (sample adds gamma-sized noise: p(z|u))
        z = prior.decoder(torch.randn(500, 4, generator=torch.Generator().manual_seed(0)))
    off_curve = (z[:, 1] - torch.sin(2 * z[:, 0])).abs().median()  # 0.02 for seed 0
    assert off_curve < 0.1, off_curve
    # the spread fitted after training: the draws spread as far as the codes (total variance), which they do not at 1
    drawn, plain = (prior.sample(5000, torch.Generator().manual_seed(1), spread=s).var(0).sum() for s in (None, 1.0))
    target = codes.var(0).sum()
    assert prior.config.spread != 1.0 and abs(drawn / target - 1) < 0.03 < abs(plain / target - 1), (
        prior.config.spread,
        drawn,
        plain,
        target,
    )


def test_explorer_sources(first_stage, two_stage):
    assert list(SAMPLE_SOURCES) == ["prior", "standard_normal", "fitted", "mixture"]
    assert all(isinstance(line, str) and "\n" not in line for line in SAMPLE_SOURCES.values())
    explorer = Explorer.load(two_stage)
    assert explorer.default_source == "prior" and explorer.sample_sources[:3] == ["prior", "standard_normal", "fitted"]
    assert "Dai & Wipf 2019" in explorer.source_description("prior")
    assert explorer.source_description("standard_normal") == SAMPLE_SOURCES["standard_normal"]
    prior = explorer.sample_latent(8, seed=3, source="prior")
    assert torch.equal(prior, explorer.sample_latent(8, seed=3))  # the default source
    assert torch.equal(prior, explorer.model.latent_prior.sample(8, torch.Generator().manual_seed(3)))
    plain = explorer.sample_latent(8, seed=3, source="standard_normal")
    assert torch.equal(plain, torch.randn(8, 4, generator=torch.Generator().manual_seed(3)))
    # temperature scales u, the second stage's own N(0, I): at 0 every draw is the decoder's centre
    centre = explorer.sample_latent(4, seed=3, temperature=0.0)
    assert torch.allclose(centre, centre[:1].expand(4, -1))
    assert not torch.allclose(explorer.sample_latent(4, seed=3, temperature=0.5), centre)
    assert explorer.sample(2, seed=0, source="standard_normal").shape == (2, 1, 16, 16)
    # without a second stage the model's prior is N(0, I) itself: no second source for it
    alone = Explorer.load(first_stage)
    assert "standard_normal" not in alone.sample_sources and alone.source_description("prior").startswith("the model's own prior: N(0, I)")
    with pytest.raises(ValueError, match="standard_normal is offered where"):
        alone.sample_latent(2, source="standard_normal")
    with pytest.raises(ValueError, match="unknown sample source 'gaussian'; accepted: prior, standard_normal, fitted, mixture"):
        alone.sample_latent(2, source="gaussian")


def cut_short(name):
    return lambda d: (d / name).write_bytes((d / name).read_bytes()[: (d / name).stat().st_size // 2])


def other_first_stage(d: Path) -> None:
    record = json.loads((d / PRIOR_CONFIG_NAME).read_text())
    record["config"]["first_stage"] = "0" * 64
    (d / PRIOR_CONFIG_NAME).write_text(json.dumps(record))


def misshaped(d: Path) -> None:
    state = load_file(str(d / PRIOR_WEIGHTS_NAME))
    state["log_gamma"] = torch.zeros(2)
    save_file(state, str(d / PRIOR_WEIGHTS_NAME))


DAMAGE = {
    "weights missing": (PRIOR_WEIGHTS_NAME, lambda d: (d / PRIOR_WEIGHTS_NAME).unlink()),
    "config missing": (PRIOR_CONFIG_NAME, lambda d: (d / PRIOR_CONFIG_NAME).unlink()),
    "weights cut short": (PRIOR_WEIGHTS_NAME, cut_short(PRIOR_WEIGHTS_NAME)),
    "config not JSON": (PRIOR_CONFIG_NAME, lambda d: (d / PRIOR_CONFIG_NAME).write_text("{not json")),
    "config a list": (PRIOR_CONFIG_NAME, lambda d: (d / PRIOR_CONFIG_NAME).write_text("[]")),
    "unknown field": (PRIOR_CONFIG_NAME, lambda d: (d / PRIOR_CONFIG_NAME).write_text('{"config": {"widths": 3}}')),
    "other first stage": (PRIOR_CONFIG_NAME, other_first_stage),
    "mis-shaped tensor": (PRIOR_WEIGHTS_NAME, misshaped),
}


@pytest.mark.parametrize("case", DAMAGE)
def test_damaged_prior_is_skipped_with_one_line_naming_the_file(copy, case):
    name, damage = DAMAGE[case]
    damage(copy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = models.load(copy)  # the first stage, without its prior
    with pytest.raises(ValueError) as refused:  # the strict reader: one line naming the file
        load_latent_prior(copy, model)
    assert str(copy / name) in str(refused.value) and "\n" not in str(refused.value)
    with pytest.warns(UserWarning, match="loaded without its learned prior") as caught:
        model = models.load(copy)
    assert model.latent_prior is None and str(copy / name) in model.latent_prior_problem
    assert len([w for w in caught if str(copy) in str(w.message)]) == 1
    # the catalog serves it, sampling N(0, I)
    from ui.catalog import Catalog

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        catalog = Catalog.discover(copy.parent)
    messages = [str(w.message) for w in caught if str(copy) in str(w.message)]
    assert len(messages) == 1 and str(copy / name) in messages[0] and "\n" not in messages[0], messages
    (entry,) = catalog.entries.values()
    assert entry.explorer.default_source == "prior" and "standard_normal" not in entry.explorer.sample_sources
    assert entry.explorer.sample(2, seed=0).shape == (2, 1, 16, 16)
    assert "second-stage prior" not in entry.label  # the picker says only what it serves


def test_the_picker_names_a_second_stage_prior(two_stage):
    from ui.catalog import load_entry

    assert load_entry(str(two_stage)).label.startswith("vae · VAE + second-stage prior, latent 4")


def test_the_cli_fits_a_prior_and_refuses_in_one_line(first_stage, tmp_path, capsys):
    out = tmp_path / "vae"
    shutil.copytree(first_stage, out)
    train_main(["prior", "--checkpoint", str(out), "--epochs", "1", "--images", "64", "--batch-size", "32", "--hidden-dims", "8"])
    assert "second-stage prior written" in capsys.readouterr().out
    assert json.loads((out / PRIOR_CONFIG_NAME).read_text())["training"]["command"].startswith("python -m train prior --checkpoint")
    for argv, message in (
        (["--checkpoint", str(tmp_path / "nowhere")], "no such checkpoint directory"),
        (["--checkpoint", str(out), "--epochs", "0"], "must be >= 1"),
        (["--checkpoint", str(out), "--batch-size", "1000", "--images", "64"], "larger than the 64 training images"),
    ):
        with pytest.raises(SystemExit):
            train_main(["prior", *argv])
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_a_model_that_takes_no_second_stage_is_refused(tmp_path, latent_lab_cache):
    model = models.MODELS["vae"](models.config_class("vae")(**TINY, image_size=16))
    assert model.takes_latent_prior
    conditional = models.MODELS["cvae"](models.config_class("cvae")(**TINY, image_size=16, num_classes=10))
    with pytest.raises(ValueError, match="a second-stage prior models a flat continuous latent"):
        conditional.set_latent_prior(LatentPrior(LatentPriorConfig(latent_dim=4, inner_dim=4)))


def test_metrics_measure_the_prior_against_its_floor_and_the_card_shows_it(two_stage):
    """prior_fd: the prior's samples, its floor (the model's reconstructions) and N(0, I), by one extractor's features
    (an untrained classifier here: the numbers mean nothing, the shape of the entry does)."""
    torch.manual_seed(0)
    extractor = models.Classifier(models.ClassifierConfig(image_size=16, channels=1, latent_dim=8, base_width=4, max_width=8))
    ds = data.load("digits", split="test", size=16)
    result = metrics.prior_fd(Explorer.load(two_stage), ds, extractor, None, n=200)
    assert result["n"] == 200 and result["prior"].endswith("(Dai & Wipf 2019)") and result["floor_model"] == "its own"
    assert result["ratio"] == pytest.approx(result["frechet_distance"] / result["floor"]) and result["floor"] > 0
    assert result["standard_normal_frechet_distance"] > 0
    rows = dict(metrics.summary({"prior_fd": result}))
    assert "x the floor" in rows["domain Frechet distance of prior samples to test images"]
    assert "N(0, I)" in " ".join(rows)
    assert 0 < result["sharpness"] and 0 < result["floor_sharpness"]  # of the samples and the floor, over the test images'
    assert "sharpness of prior samples" in " ".join(rows)
    alone = dict(metrics.summary({"prior_fd": {k: v for k, v in result.items() if k != "standard_normal_frechet_distance"}}))
    assert not any("N(0, I)" in row for row in alone) and len(alone) == len(rows) - 1
