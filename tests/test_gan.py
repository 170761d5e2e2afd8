"""The GAN family (DCGAN, WGAN-GP, conditional GAN, InfoGAN) and the training monitor: losses and penalties
on known cases, the monitor's measures on feature sets whose answer is known, the collapse detector,
checkpoints, training through the shared loop, and the explorer's endpoints for GANs."""

from __future__ import annotations

import json
import re
import types

import numpy as np
import pytest
import torch
from conftest import tiny_run
from gradio_client import Client
from PIL import Image

import models
from latent import Explorer
from metrics.monitor import Monitor, attribute_cells, cell_coverage, code_agreement, collapse_warning, kid, precision_recall
from metrics.samples import frechet_distance
from models.wgan_gp import gradient_penalty

GANS = {"dcgan": {}, "wgan-gp": {}, "cgan": {"num_classes": 3}, "infogan": {"latent_dim": 6, "categories": 4, "continuous": 2}}


def tiny(model_type: str, **fields):
    config = models.config_class(model_type)(
        image_size=16, channels=1, base_width=8, max_width=16, **{"latent_dim": 8, **GANS[model_type], **fields}
    )
    return models.MODELS[model_type](config)


# --- models


@pytest.mark.parametrize("model_type", GANS)
def test_generator_shapes_and_image_range(model_type):
    torch.manual_seed(0)
    model = tiny(model_type).eval()
    z = model.sample_latent(5, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 0, 1]) if model_type == "cgan" else None
    images = model.decode(z, y)
    assert images.shape == (5, 1, 16, 16) and 0 <= images.min() and images.max() <= 1
    assert model.first_features(z, y).shape[:2] == (5, 16)


@pytest.mark.parametrize("size", [28, 32, 64])
def test_sizes_follow_image_size(size):
    model = models.DCGAN(models.DCGANConfig(image_size=size, channels=3, base_width=8, max_width=32, latent_dim=4))
    images = model.decode(model.sample_latent(2))
    assert images.shape == (2, 3, size, size)
    assert model.discriminate(images)[0].shape == (2,)


def test_truncation_bounds_the_noise_and_is_seeded():
    model = tiny("dcgan")
    z = model.sample_latent(2000, generator=torch.Generator().manual_seed(1), truncation=0.5)
    again = model.sample_latent(2000, generator=torch.Generator().manual_seed(1), truncation=0.5)
    assert z.abs().max() <= 0.5 and torch.equal(z, again)
    assert 0.25 < z.std() < 0.3  # a N(0, 1) truncated to +-0.5 has std 0.28
    assert 0.9 < model.sample_latent(2000, generator=torch.Generator().manual_seed(1)).std() < 1.1


def test_gradient_penalty_of_a_linear_critic_is_its_known_value():
    # a linear critic D(x) = w.x has gradient w everywhere: the penalty is (||w|| - 1)^2 at every x_hat
    w = torch.full((1, 1, 4, 4), 0.5)  # ||w|| = 0.5 * 4 = 2
    critic = lambda x: (x * w).flatten(1).sum(1)  # noqa: E731
    real, fake = torch.rand(8, 1, 4, 4), torch.rand(8, 1, 4, 4)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(1.0)
    unit = lambda x: (x * w / 2).flatten(1).sum(1)  # noqa: E731  ||w|| = 1: no penalty
    assert gradient_penalty(unit, real, fake).item() == pytest.approx(0.0, abs=1e-10)


def test_wgan_gp_takes_n_critic_critic_steps_per_generator_step():
    model = tiny("wgan-gp")
    phases = [model.phases(step) for step in range(10)]
    assert sum("generator" in p for p in phases) == 2 and all(p[0] == "discriminator" for p in phases)
    assert phases[4] == ("discriminator", "generator")
    with pytest.raises(ValueError, match="must be one of"):
        models.WGANGPConfig(discriminator_norm="batch")  # BatchNorm would break the per-sample gradient penalty
    assert models.WGANGP.adam_betas == (0.0, 0.9) and models.WGANGP.default_lr == 1e-4


def test_each_phase_trains_its_own_parameters():
    model = tiny("infogan")
    generator = {id(p) for p in model.phase_parameters("generator")}
    rest = {id(p) for p in model.phase_parameters("discriminator")}
    assert generator == {id(p) for p in model.generator.parameters()} and not generator & rest
    assert {id(p) for p in model.q.parameters()} <= rest  # the Q head trains with the discriminator
    with pytest.raises(ValueError, match="unknown phase"):
        model.loss(torch.rand(2, 1, 16, 16), phase="model")


def test_conditional_gan_checks_its_condition():
    model = tiny("cgan")
    z = model.sample_latent(2)
    with pytest.raises(ValueError, match="class ids"):
        model.decode(z)
    with pytest.raises(ValueError, match=r"values in \[0, 3\)"):
        model.decode(z, torch.tensor([0, 5]))
    # the projection discriminator's score depends on the condition
    x = torch.rand(2, 1, 16, 16)
    torch.nn.init.normal_(model.embed.weight)
    assert not torch.allclose(model.discriminate(x, torch.tensor([0, 0]))[0], model.discriminate(x, torch.tensor([1, 1]))[0])


def test_infogan_latent_layout_and_codes():
    model = tiny("infogan")
    z = model.sample_latent(500, generator=torch.Generator().manual_seed(0))
    categorical, continuous = model.code_slices
    assert z.shape == (500, 12) and torch.equal(z[:, categorical].sum(1), torch.ones(500))
    assert z[:, continuous].abs().max() <= 1 and z[:, continuous].std() > 0.5  # U(-1, 1) has std 0.58
    assert set(model.category_of(z).tolist()) == {0, 1, 2, 3}
    set_ = model.with_codes(z[:3], category=2, continuous=[0.5, -1.5])
    assert model.category_of(set_).tolist() == [2, 2, 2] and torch.equal(set_[:, continuous], torch.tensor([[0.5, -1.5]] * 3))
    assert torch.equal(set_[:, : model.config.latent_dim], z[:3, : model.config.latent_dim])  # the noise is kept
    with pytest.raises(ValueError, match="category must be in"):
        model.with_codes(z[:1], category=4)
    # the information loss is small when Q reads the codes back, large otherwise
    loss, categorical_loss, continuous_loss = model.info_loss(z[:8], model.discriminator(2 * model.decode(z[:8]) - 1))
    assert categorical_loss.item() == pytest.approx(np.log(4), rel=0.3) and loss.item() > 0


@pytest.mark.parametrize("model_type", GANS)
def test_save_and_load_round_trip(model_type, tmp_path):
    torch.manual_seed(0)
    model = tiny(model_type).eval()
    model.save(tmp_path / "ckpt")
    loaded = models.load(tmp_path / "ckpt")
    assert type(loaded) is type(model) and loaded.config == model.config
    z = model.sample_latent(3, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2]) if model_type == "cgan" else None
    assert torch.equal(loaded.decode(z, y), model.decode(z, y))


def test_float16_storage_halves_the_file_and_loads_as_float32(tmp_path):
    model = tiny("dcgan").eval()
    model.save(tmp_path / "full")
    model.save(tmp_path / "half", dtype=torch.float16)
    full, half = (tmp_path / d / "model.safetensors" for d in ("full", "half"))
    assert half.stat().st_size < 0.55 * full.stat().st_size
    loaded = models.load(tmp_path / "half")
    assert next(loaded.parameters()).dtype == torch.float32
    z = model.sample_latent(4, generator=torch.Generator().manual_seed(0))
    assert (loaded.decode(z) - model.decode(z)).abs().max() < 0.02


# --- the monitor's measures, on feature sets where the answer is known


def test_identical_sets_score_zero_distance_and_full_precision_recall():
    a = torch.randn(600, 8, generator=torch.Generator().manual_seed(0))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert abs(kid(a, a)) < 0.05
    assert precision_recall(a, a) == (1.0, 1.0)


def test_disjoint_sets_have_no_precision_and_a_large_distance():
    a = torch.randn(500, 8, generator=torch.Generator().manual_seed(0))
    b = torch.randn(500, 8, generator=torch.Generator().manual_seed(1)) + 20
    precision, recall = precision_recall(a, b)
    assert precision == 0.0 and recall == 0.0
    assert frechet_distance(a, b) > 8 * 20**2 * 0.9 and kid(a, b) > 1


def test_a_collapsed_sample_set_keeps_precision_and_loses_recall():
    real = torch.randn(500, 4, generator=torch.Generator().manual_seed(0))
    collapsed = real[:1].repeat(500, 1)  # one real point, over and over
    precision, recall = precision_recall(real, collapsed)
    assert precision == 1.0 and recall < 0.05


def test_kid_is_unbiased_for_samples_of_one_distribution():
    g = torch.Generator().manual_seed(0)
    same = [kid(torch.randn(500, 16, generator=g), torch.randn(500, 16, generator=g)) for _ in range(5)]
    shifted = kid(torch.randn(500, 16, generator=g), torch.randn(500, 16, generator=g) + 0.5)
    assert abs(np.mean(same)) < 0.01 < shifted


def test_attribute_cells_coverage_and_kl():
    data = np.array([[0, 0]] * 50 + [[1, 0]] * 30 + [[1, 1]] * 19 + [[0, 1]] * 1)
    cells, shares = attribute_cells(data, min_share=0.05)  # [0, 1] holds 1%: not a cell
    assert cells.tolist() == [[0, 0], [1, 0], [1, 1]] and np.allclose(shares, [0.5, 0.3, 0.19])
    matched = cell_coverage(cells, shares, data)
    assert matched["coverage"] == 1.0 and matched["cell_kl"] == pytest.approx(0.0, abs=1e-12) and matched["outside"] == pytest.approx(0.01)
    one_cell = cell_coverage(cells, shares, np.array([[1, 1]] * 10))
    assert one_cell["coverage"] == pytest.approx(1 / 3)
    assert one_cell["cell_kl"] == pytest.approx(np.log(1 / (0.19 / 0.99)))  # KL(point mass || data over the cells)


def test_code_agreement_finds_the_best_matching():
    classes = np.repeat(np.arange(3), 10)
    assert code_agreement((classes + 1) % 3, classes, 3) == 1.0  # relabelled codes agree perfectly
    codes = np.zeros(30, dtype=int)
    assert code_agreement(codes, classes, 3) == pytest.approx(1 / 3)


class OneImage(torch.nn.Module):
    """A generator collapsed onto one image: whatever z, the same digit."""

    def __init__(self, image):
        super().__init__()
        self.image = image
        self.anchor = torch.nn.Parameter(torch.zeros(()))
        self.config = models.DCGANConfig(image_size=16, channels=1, latent_dim=4)

    @property
    def device(self):
        return self.anchor.device

    def sample_latent(self, n, generator=None, temperature=1.0):
        return torch.randn(n, 4, generator=generator)

    def decode(self, z, y=None):
        return self.image.expand(len(z), -1, -1, -1)


def test_the_collapse_detector_fires_on_a_generator_that_outputs_one_image(digits_monitor):
    monitor, real = digits_monitor
    collapsed = monitor(OneImage(real[:1]))
    assert collapsed["coverage"] == pytest.approx(0.1) and collapsed["recall"] < 0.05  # one class of ten
    assert "mode collapse" in collapse_warning(collapsed["coverage"], best=collapsed["coverage"])
    # the real images themselves, as a "generator", cover every class and raise no warning
    diverse = monitor(Replay(real))
    assert diverse["coverage"] == 1.0 and collapse_warning(diverse["coverage"], best=1.0) is None
    assert diverse["frechet_distance"] < 0.1 * collapsed["frechet_distance"]
    assert collapse_warning(0.9, best=0.95) is None and "mode collapse" in collapse_warning(0.7, best=0.95)  # a fall from the best


class Replay(OneImage):
    """A "generator" that returns the real images in order: a perfect model of them."""

    def decode(self, z, y=None):
        start = getattr(self, "start", 0)
        self.start = start + len(z)
        return self.image[start : start + len(z)]


@pytest.fixture(scope="module")
def digits_monitor(digits_classifier):
    import data

    classifier = models.load(digits_classifier)
    ds = data.load("digits", split="test", size=16)
    real = ds.batch(np.arange(300))
    return Monitor(classifier, real), real


# --- training through the shared loop


def records(path):
    return [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]


def test_gan_run_logs_both_phases_monitors_and_keeps_the_best(checkpoints):
    run = checkpoints / "dcgan"
    logged = records(run)
    losses = [r for r in logged if "generator_loss" in r]
    checks = [r for r in logged if "monitor_frechet_distance" in r]
    assert losses and all("discriminator_loss" in r for r in losses)
    assert [r["step"] for r in checks] == [20, 40, 42]  # every monitor_every steps, and the last step
    summary = json.loads((run / "training.json").read_text())
    best = min(r["monitor_frechet_distance"] for r in checks)
    assert summary["validation"]["frechet_distance"] == pytest.approx(best, rel=1e-6)  # the kept checkpoint is the best
    for name in ("curves.png", "samples.png", "stats.safetensors", "README.md"):
        assert (run / name).exists(), name
    card = (run / "README.md").read_text()
    assert "Frechet distance" in card and "curves.png" in card


def test_gan_stats_hold_ganspace_directions(checkpoints):
    explorer = Explorer.load(checkpoints / "dcgan")
    stats = explorer.stats
    components = stats["pca_components"]
    assert torch.allclose(components @ components.T, torch.eye(len(components)), atol=1e-4)  # orthonormal
    assert torch.all(stats["pca_explained"][:-1] >= stats["pca_explained"][1:]) and stats["pca_explained"].sum() <= 1 + 1e-5
    assert explorer.default_source == "prior"
    assert stats["examples"].shape == (16, 16, 16, 1)  # held-out pictures to invert
    assert "attribute_vectors" not in stats  # the digits classifier predicts classes, not attributes to label samples with


@pytest.mark.slow  # tens of seconds (training runs, subprocesses): with --all, as CI runs
def test_gan_stops_early_when_the_frechet_distance_stops_improving(tmp_path, digits_classifier):
    from train.loop import train

    cfg = tiny_run(tmp_path / "run", epochs=4, stats_images=200, monitor_every=4, patience=2, monitor_classifier=str(digits_classifier))
    out = train("dcgan", {"base_width": 8, "max_width": 16, "latent_dim": 8}, cfg)
    scores = [r["monitor_frechet_distance"] for r in records(out) if "monitor_frechet_distance" in r]
    steps = json.loads((out / "training.json").read_text())["steps"]
    assert steps < 4 * 42 and steps % 4 == 0  # stopped at a check, before the 4 epochs' 168 steps
    assert min(scores[-2:]) >= min(scores[:-2])  # the last `patience` checks did not beat the best before them


@pytest.mark.slow  # tens of seconds (training runs, subprocesses): with --all, as CI runs
def test_gan_trains_under_ddp_with_two_cpu_processes(tmp_path, digits_classifier):
    """torchrun: both phases' gradients are averaged, the lead process monitors, and every process follows its verdict."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "ddp"
    result = subprocess.run(
        [
            sys.executable,
            *"-m torch.distributed.run --nproc_per_node=2 --master_port=29533 -m train wgan-gp --data digits --data-size 16 --base-width 8 --max-width 16 --latent-dim 8 --epochs 2 --batch-size 64 --log-every 5 --sample-every 0 --stats-images 200 --monitor-every 10 --monitor-classifier".split(),
            str(digits_classifier),
            "--out",
            str(out),
        ],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    checks = [r["step"] for r in records(out) if "monitor_frechet_distance" in r]
    assert checks == [10, 20, 30, 40, 42]  # one process measures: no duplicates
    assert json.loads((out / "training.json").read_text())["processes"] == 2
    assert isinstance(models.load(out), models.WGANGP)


def test_a_gan_without_a_classifier_to_monitor_it_is_refused(tmp_path):
    from train.config import TrainConfig
    from train.loop import train

    cfg = TrainConfig(data="digits", data_options={"size": 16}, out=str(tmp_path / "run"), epochs=1, batch_size=32, threads=1)
    with pytest.raises(ValueError, match="--monitor-classifier"):
        train("dcgan", {"base_width": 8, "max_width": 16, "latent_dim": 8}, cfg)


# --- the explorer's endpoints


@pytest.fixture
def client(app):
    return Client(app.url, verbose=False)


def pixels(path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path))


def test_gan_samples_with_seed_and_truncation(client, app):
    model = app.labels["dcgan"]
    assert "DCGAN" in model and "noise 8" in model
    first, note = client.predict(model, 4, 1.0, 3, "prior", None, [], 0.0, 0.0, api_name="/sample")
    again, _ = client.predict(model, 4, 1.0, 3, "prior", None, [], 0.0, 0.0, api_name="/sample")
    truncated, truncated_note = client.predict(model, 4, 1.0, 3, "prior", None, [], 0.0, 0.5, api_name="/sample")
    assert np.array_equal(pixels(first), pixels(again)) and not np.array_equal(pixels(first), pixels(truncated))
    assert "noise prior" in note and "Truncation trick" in truncated_note
    vae = app.labels["vae"]
    with pytest.raises(Exception, match="truncation trick applies to a GAN"):
        client.predict(vae, 4, 1.0, 3, "prior", None, [], 0.0, 0.5, api_name="/sample")


def test_gan_interpolates_between_seeds_and_between_inverted_images(client, app):
    model = app.labels["dcgan"]
    strip, _, note = client.predict(model, "seeds", None, None, None, None, 0, 1, "slerp", 4, None, [], api_name="/interpolate")
    tiles = np.split(pixels(strip), 4, axis=1)
    assert "seeds 0 and 1" in note and not np.array_equal(tiles[0], tiles[-1])
    strip, _, note = client.predict(model, "images", None, None, "#0", "#1", 0, 1, "slerp", 4, None, [], api_name="/interpolate")
    tiles = np.split(pixels(strip), 4, axis=1)
    assert "inverted latents" in note and not np.array_equal(tiles[0], tiles[-1])


def test_a_custom_vector_is_refused_for_a_gan_with_the_reason(client, app):
    model = app.labels["dcgan"]
    client.predict(model, None, [], api_name="/randomise")
    with pytest.raises(Exception, match="stores no encoded example images to pick from"):
        client.predict(model, "custom", None, "mean_difference", [], ["0"], ["1"], 1.0, None, [], api_name="/edit_attribute")


def test_gan_sliders_move_the_image(client, app):
    model = app.labels["dcgan"]
    client.predict(model, None, [], api_name="/randomise")
    base, _ = client.predict(model, "pca", None, [], [-3.0], api_name="/decode")
    moved, _ = client.predict(model, "pca", None, [], [3.0], api_name="/decode")
    assert not np.array_equal(pixels(base), pixels(moved))


def test_infogan_codes_set_the_current_image(client, app):
    model = app.labels["infogan"]
    assert "10-way code + 2 continuous" in model
    client.predict(model, None, [], api_name="/randomise")
    images = []
    for category, code in (("0", 0.0), ("5", 0.0), ("5", 1.0)):
        images.append(pixels(client.predict(model, category, code, 0.0, 0.0, 0.0, api_name="/set_codes")))
    assert not np.array_equal(images[0], images[1]) and not np.array_equal(images[1], images[2])
    with pytest.raises(Exception, match="not an InfoGAN"):
        client.predict(app.labels["dcgan"], "0", 0.0, 0.0, 0.0, 0.0, api_name="/set_codes")


def test_infogan_dimension_sliders_cover_the_noise_and_leave_the_codes_to_their_own_controls(app):
    from ui import sliders

    entry = app.catalog.get(app.labels["infogan"])
    z = entry.explorer.sample_latent(1, seed=0)[0]
    noise = entry.model.config.latent_dim
    assert sorted(s.index for s in entry.explorer.sliders(z, "kl")) == list(range(noise))
    assert len(entry.explorer.sliders(z, "pca")) > noise  # principal directions mix every dimension, codes included
    note = sliders._note(entry, "kl", sliders.layout(entry, z, "kl"), len(entry.explorer.sliders(z, "kl")))
    assert "codes have their own controls" in note and "Showing" not in note  # all of the noise is shown


def test_reconstructing_with_a_gan_inverts_the_image(client, app, tmp_path):
    """The GAN's Reconstruct is an inversion: it reports its error, and the inverted latent becomes the current image,
    which the sliders then move (the latent went into the session state)."""
    from gradio_client import handle_file

    model = app.labels["dcgan"]
    sample = client.predict(model, 1, 1.0, 7, "prior", None, [], 0.0, 0.0, api_name="/sample")[0]
    shown, output, _, note = client.predict(model, handle_file(sample), 0.0, None, [], api_name="/reconstruct")
    assert "found by inversion" in note
    psnr = float(re.search(r"PSNR (-?[\d.]+) dB", note).group(1))
    assert psnr > 18, note  # the generator's own sample: a latent that reproduces it exists
    moved, _ = client.predict(model, "pca", None, [], [3.0], api_name="/decode")
    assert not np.array_equal(pixels(moved), pixels(output))
    gallery = client.predict(model, [model, app.labels["vae"]], "image", handle_file(sample), None, 0, api_name="/compare")
    assert len(gallery) == 3 and all(np.asarray(Image.open(item["image"])).std() > 0 for item in gallery)  # input, GAN, VAE


# --- inversion, and attribute directions from labelled samples


def test_inversion_recovers_the_generators_own_samples_better_than_a_random_start(dcgan_model):
    from latent.invert import invert

    target = dcgan_model.decode(dcgan_model.sample_latent(3, generator=torch.Generator().manual_seed(5))).detach()
    calls = []
    result = invert(dcgan_model, target, steps=150, progress=calls.append)
    assert len(calls) == 150 and calls[-1] == 1.0
    random = dcgan_model.decode(dcgan_model.sample_latent(3, generator=torch.Generator().manual_seed(9))).detach()
    random_mse = (random - target).pow(2).flatten(1).mean(1)
    assert (result.mse < random_mse / 4).all(), (result.mse, random_mse)
    assert torch.allclose(
        result.mse, (result.images - target).pow(2).flatten(1).mean(1), atol=1e-6
    )  # the reported error is the kept image's
    assert result.z.shape == (3, dcgan_model.config.latent_dim) and torch.allclose(result.psnr, 10 * torch.log10(1 / result.mse))


def test_more_starts_never_invert_worse(dcgan_model):
    from latent.invert import invert

    target = torch.rand(2, 1, 16, 16)
    one = invert(dcgan_model, target, starts=1, steps=30)
    four = invert(dcgan_model, target, starts=4, steps=30)  # start 0 of the four is the same draw as the single start
    assert (four.mse <= one.mse + 1e-6).all()


def test_inversion_refuses_a_classifier_of_other_images(dcgan_model):
    from latent.invert import invert

    other = models.Classifier(models.ClassifierConfig(image_size=28, channels=1, num_classes=10, latent_dim=8, base_width=4, max_width=8))
    with pytest.raises(ValueError, match="needs a classifier of 16x16 images with 1 channel"):
        invert(dcgan_model, torch.rand(1, 1, 16, 16), classifier=other)
    with pytest.raises(ValueError, match="expects float images"):
        invert(dcgan_model, torch.rand(1, 3, 16, 16))


@pytest.fixture
def dcgan_model(checkpoints):
    return models.load(checkpoints / "dcgan")


def test_labelled_directions_find_the_hyperplane_a_classifier_draws():
    """Scores that are a linear function of z along w (plus noise): the fitted direction is w, on the groups' scale."""
    from latent import labelled_directions

    g = torch.Generator().manual_seed(0)
    z = torch.randn(4000, 6, generator=g)
    w = torch.tensor([[0.0, 3.0, 0.0, 4.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]]) / torch.tensor([[5.0], [1.0]])
    scores = z @ w.T + 0.1 * torch.randn(4000, 2, generator=g)
    vectors = labelled_directions(z, scores, fraction=0.1)
    cosine = torch.nn.functional.cosine_similarity(vectors, w, dim=1)
    assert (cosine > 0.98).all(), cosine
    top = z[scores[:, 0].argsort()[-400:]].mean(0) @ w[0] - z[scores[:, 0].argsort()[:400]].mean(0) @ w[0]
    assert abs(vectors[0].norm().item() - top.item()) < 0.1 * top.item()  # strength 1 crosses the gap between the groups


def test_guided_edit_moves_the_target_and_holds_the_others_to_first_order():
    """A linear 'generator' and 'classifier': each step's direction is exactly orthogonal to the held attributes'
    gradients, so their logits do not move at all, and the target's rises by the step length times its residual."""
    from latent import guided_edit

    class Linear(torch.nn.Module):
        def __init__(self, weight):
            super().__init__()
            self.weight = torch.nn.Parameter(weight)
            self.names = ["a", "b", "c"]
            self.config = types.SimpleNamespace(num_attributes=3)

        @property
        def device(self):
            return self.weight.device

        def decode(self, z, y=None):  # an "image" is z itself
            return z

        def logits(self, x):
            return x @ self.weight.T

    torch.manual_seed(0)
    model = Linear(torch.randn(3, 5))
    z = torch.randn(4, 5)
    edited = guided_edit(model, model, z, "a", strength=1.0, steps=4, step_length=0.5)
    before, after = model.logits(z).detach(), model.logits(edited).detach()
    assert torch.allclose(after[:, 1:], before[:, 1:], atol=1e-4)
    assert ((edited - z).norm(dim=1) - 2.0).abs().max() < 1e-4 and (after[:, 0] > before[:, 0] + 0.1).all()
    assert (model.logits(guided_edit(model, model, z, "a", strength=-1.0)).detach()[:, 0] < before[:, 0]).all()
    loose = guided_edit(model, model, z, "a", hold=[], steps=1, step_length=1.0)  # nothing held: the plain gradient
    assert torch.allclose(loose - z, model.weight[0].detach().expand(4, 5) / model.weight[0].detach().norm(), atol=1e-5)
    with pytest.raises(ValueError, match="does not predict 'smile'"):
        guided_edit(model, model, z, "smile")
    with pytest.raises(ValueError, match="cannot be held fixed while it is edited"):
        guided_edit(model, model, z, "a", hold=["a"])
