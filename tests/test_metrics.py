"""metrics/: MIG against a hand count and on latents of known structure, PSNR, reconstruction and
ELBO against the model's own loss, classifier accuracy, evaluate() on a trained checkpoint."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

import data
import metrics
import models
from metrics.disentanglement import discretize


def grid_factors(sizes=(3, 6, 8), n=4000, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, k, n) for k in sizes], axis=1)


def mutual_information_by_counting(a: np.ndarray, b: np.ndarray) -> float:
    """I(a; b) in nats from the joint histogram, written out: a second implementation to check against."""
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1)
    joint /= joint.sum()
    pa, pb = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float((joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])).sum())


def test_mutual_information_matches_a_hand_count():
    rng = np.random.default_rng(1)
    factors = grid_factors()
    latents = factors[:, [0, 1]] + rng.normal(0, 0.7, (len(factors), 2))  # noisy copies of two factors
    result = metrics.mig_from_codes(latents, factors, bins=20)
    codes = discretize(latents, 20)
    assert codes.min() == 0 and codes.max() == 19
    for d in range(2):
        for k in range(3):
            assert result["mutual_information"][d][k] == pytest.approx(mutual_information_by_counting(codes[:, d], factors[:, k]), abs=1e-9)


def test_mig_is_high_for_one_dim_per_factor_and_low_for_noise_or_mixing():
    rng = np.random.default_rng(0)
    factors = grid_factors()
    noise = rng.normal(size=(len(factors), 4))
    aligned = np.concatenate([factors + rng.normal(0, 0.05, factors.shape), noise], axis=1)  # one dim per factor, plus noise dims
    assert metrics.mig_from_codes(aligned, factors)["mig"] > 0.9
    assert metrics.mig_from_codes(aligned, factors)["best_dim"] == [0, 1, 2]
    assert metrics.mig_from_codes(noise, factors)["mig"] < 0.05
    duplicated = np.concatenate([aligned[:, :3], aligned[:, :3] + rng.normal(0, 0.05, (len(factors), 3))], axis=1)
    assert metrics.mig_from_codes(duplicated, factors)["mig"] < 0.3  # each factor in two dims: no gap
    constant = np.concatenate([factors, np.zeros((len(factors), 1))], axis=1)  # a factor with one value is left out
    assert math.isnan(metrics.mig_from_codes(aligned, constant)["per_factor"][3])
    with pytest.raises(ValueError, match="at least 2"):
        metrics.mig_from_codes(aligned[:, :1], factors)


def test_psnr():
    assert metrics.psnr(0.01) == pytest.approx(20.0)
    assert metrics.psnr(1e-3) == pytest.approx(30.0)


def test_reconstruction_and_elbo_agree_with_the_model(checkpoints):
    model = models.load(checkpoints / "vae")
    ds = data.load("digits", split="test", size=16).subset(np.arange(100))
    result = metrics.reconstruction(model, ds)
    x = ds.batch(np.arange(100))
    with torch.no_grad():
        mse = (model.reconstruct(x) - x).pow(2).mean().item()
        loss = model.loss(x, generator=torch.Generator().manual_seed(0))
    assert result["mse"] == pytest.approx(mse, rel=1e-5)
    assert result["psnr"] == pytest.approx(metrics.psnr(mse))
    assert result["elbo"] == pytest.approx(-loss["loss"].item(), rel=1e-4)  # same noise: the same single-sample ELBO
    assert result["kl"] == pytest.approx(loss["kl"].item(), rel=1e-4)
    assert 0 < result["active_units"] <= model.config.latent_dim
    ae = metrics.reconstruction(models.load(checkpoints / "dae"), ds)
    assert set(ae) == {"images", "mse", "psnr"}  # no ELBO for a deterministic autoencoder


def test_evaluate_writes_what_the_card_shows(checkpoints):
    """Training ends by measuring the checkpoint on the test split; the card shows the same numbers."""
    evaluation = json.loads((checkpoints / "vae" / metrics.EVALUATION_NAME).read_text())
    assert evaluation["split"] == "test" and evaluation["images"] == len(data.load("digits", split="test", size=16))
    again = metrics.evaluate(checkpoints / "vae")  # deterministic: the same numbers when measured again
    measured, stored = dict(again["reconstruction"]), dict(evaluation["reconstruction"])
    assert measured.pop("error_quantiles")["mse"] == pytest.approx(stored.pop("error_quantiles")["mse"])
    assert measured == pytest.approx(stored)
    card = (checkpoints / "vae" / "README.md").read_text()
    assert "license: mit" in card and "library_name: latent-lab" in card
    assert f"| PSNR | {evaluation['reconstruction']['psnr']:.2f} dB ({evaluation['images']} images) |" in card
    assert "| active units (KL > 0.01 nats) |" in card and "![samples](samples.png)" in card
    cvae = metrics.evaluate(checkpoints / "cvae")  # conditional: measured with the test images' own labels
    assert cvae["reconstruction"]["psnr"] > 10 and "edits" not in cvae


def test_classifier_trains_and_reports_accuracy(tmp_path):
    from train.config import TrainConfig
    from train.loop import train

    out = tmp_path / "classifier"
    cfg = TrainConfig(
        data="digits", data_options={"size": 16}, out=str(out), epochs=3, batch_size=32, threads=1, condition="labels", lr=3e-3
    )
    train("classifier", {"base_width": 8, "max_width": 16, "latent_dim": 32}, cfg)
    classifier = models.load(out)
    assert isinstance(classifier, models.Classifier) and classifier.names == [str(d) for d in range(10)]
    assert not (out / "stats.safetensors").exists() and not (out / "samples.png").exists()  # nothing latent to describe
    ds = data.load("digits", split="test", size=16)
    accuracy = metrics.accuracy(classifier, ds, ds.targets())
    assert accuracy["all"] > 0.85, accuracy
    predicted = classifier.predict(ds.batch(np.arange(len(ds))))
    assert accuracy["all"] == pytest.approx((predicted == ds.targets()).float().mean().item())
    card = (out / "README.md").read_text()
    assert f"| accuracy: all | {accuracy['all']:.2%} |" in card and "samples.png" not in card
    with pytest.raises(ValueError, match="expects float images"):
        classifier.predict(torch.rand(2, 3, 16, 16))


def test_attribute_classifier_config_and_loss():
    config = models.ClassifierConfig(
        image_size=16, channels=3, base_width=4, max_width=8, latent_dim=8, num_classes=0, num_attributes=3, condition_names=("A", "B", "C")
    )
    classifier = models.Classifier(config)
    x, y = torch.rand(5, 3, 16, 16), torch.tensor([[1, 0, 1]] * 5).float()
    parts = classifier.loss(x, y)
    assert parts["loss"].requires_grad and 0 <= parts["accuracy"] <= 1
    assert classifier.predict(x).shape == (5, 3) and classifier.predict(x).dtype == torch.bool
    with pytest.raises(ValueError, match="exactly one of"):
        models.ClassifierConfig(num_classes=2, num_attributes=3)
    with pytest.raises(ValueError, match="trains on targets"):
        classifier.loss(x)


@pytest.mark.slow  # tens of seconds (training runs, subprocesses): with --all, as CI runs
def test_metrics_and_card_commands(checkpoints, tmp_path):
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]

    def run(*args):
        return subprocess.run([sys.executable, "-m", *args], cwd=root, capture_output=True, text=True, timeout=300)

    copy = shutil.copytree(checkpoints / "vae", tmp_path / "vae")
    (copy / "README.md").unlink()
    (copy / metrics.EVALUATION_NAME).unlink()
    result = run("train", "card", str(copy))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| PSNR |" in (copy / "README.md").read_text() and (copy / metrics.EVALUATION_NAME).exists()
    card, measured = (copy / "README.md").read_text(), (copy / metrics.EVALUATION_NAME).read_text()
    (copy / "README.md").unlink()
    (copy / metrics.EVALUATION_NAME).write_text(measured.replace('"psnr": ', '"psnr": 1', 1))  # what --stored reads, not a fresh measure
    stored = run("train", "card", str(copy), "--stored")
    assert stored.returncode == 0 and "model card written" in stored.stdout, stored.stderr[-2000:]
    assert (copy / "README.md").read_text() != card and "| PSNR | 1" in (copy / "README.md").read_text()
    shown = run("metrics", str(copy))
    assert shown.returncode == 0 and "on digits test" in shown.stdout and "PSNR" in shown.stdout and "active units" in shown.stdout
    (copy / "training.json").unlink()
    missing = run("metrics", str(copy))
    assert missing.returncode == 1 and "no training.json" in missing.stderr and "Traceback" not in missing.stderr


def test_cosine_schedule_ends_at_zero():
    from train.config import TrainConfig
    from train.loop import learning_rate

    cfg = TrainConfig(out="x", lr=0.01, lr_schedule="cosine")
    assert learning_rate(cfg, 0.01, 0, 100) == pytest.approx(0.01)
    assert learning_rate(cfg, 0.01, 50, 100) == pytest.approx(0.005)
    assert learning_rate(cfg, 0.01, 99, 100) < 1e-5
    assert learning_rate(TrainConfig(out="x", lr=0.01), 0.01, 99, 100) == 0.01  # constant by default
    with pytest.raises(ValueError, match="constant or cosine"):
        TrainConfig(out="x", lr_schedule="step")


def test_frechet_distance_of_known_gaussians():
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(20_000, 6, generator=generator), torch.randn(20_000, 6, generator=generator)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert metrics.frechet_distance(a, b) == pytest.approx(0.0, abs=0.01)  # same distribution
    # N(0, I) vs N(mu, I): ||mu||^2; N(0, I) vs N(0, 4 I): Tr(I + 4I - 2 * 2I) = 6
    assert metrics.frechet_distance(a, b + torch.tensor([1.0, 2.0, 0, 0, 0, 0])) == pytest.approx(5.0, abs=0.05)
    assert metrics.frechet_distance(a, 2 * b) == pytest.approx(6.0, abs=0.1)


def test_degrade_blurs_and_noises_without_moving_the_picture():
    from models.classifier import degrade

    x = torch.zeros(4, 3, 16, 16)
    x[:, :, ::2] = 1.0  # stripes: all high frequency
    out = degrade(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1
    assert torch.equal(out, degrade(x, torch.Generator().manual_seed(0)))  # seeded
    assert (out - x).abs().mean() > 0.05  # blurred stripes lose contrast
    assert out.mean().item() == pytest.approx(x.mean().item(), abs=0.05)  # the picture stays where it was
    flat = torch.full((2, 3, 16, 16), 0.5)
    assert (degrade(flat, torch.Generator().manual_seed(1)) - flat).abs().max() <= 0.3  # a flat image only gets noise


def tiny_judge_config(image_size: int, names: tuple[str, ...], **more) -> models.ClassifierConfig:
    """A small attribute classifier's config, as the dataset judges are built."""
    return models.ClassifierConfig(
        image_size=image_size,
        channels=3,
        base_width=4,
        max_width=8,
        latent_dim=8,
        num_classes=0,
        num_attributes=len(names),
        condition_names=names,
        **more,
    )


def test_judge_augmentation_applies_in_training_only():
    config = tiny_judge_config(16, ("A", "B"), augment=1.0)
    judge, plain = models.Classifier(config), models.Classifier(dataclasses.replace(config, augment=0.0))
    plain.load_state_dict(judge.state_dict())
    x, y = torch.rand(6, 3, 16, 16), torch.tensor([[1.0, 0.0]] * 6)
    judge.eval(), plain.eval()
    assert torch.equal(judge.loss(x, y)["loss"], plain.loss(x, y)["loss"])  # measuring sees the image as it is
    judge.train(), plain.train()
    assert not torch.equal(judge.loss(x, y, generator=torch.Generator().manual_seed(0))["loss"], plain.loss(x, y)["loss"])
    with pytest.raises(ValueError, match="augment"):
        dataclasses.replace(config, augment=1.5)


def _classifier_dir(root, name, size, version, seed=0):
    """A tiny untrained faces attribute classifier saved as checkpoints/classifiers/<name> with its training record."""
    torch.manual_seed(seed)
    config = tiny_judge_config(size, ("Smiling", "Eyeglasses"))
    out = root / "classifiers" / name
    models.Classifier(config).save(out)
    options = {"size": size} | ({} if version is None else {"version": version})
    (out / "training.json").write_text(json.dumps({"data": "faces", "data_options": options}))
    return out


def test_classifier_for_matches_the_dataset_version_and_size(tmp_path):
    """Each checkpoint is measured by a classifier of the faces version it trained on: one that recorded no version is
    version 1 (trained before the renderer was versioned); judges are looked up apart."""
    _classifier_dir(tmp_path, "faces", 64, None)
    _classifier_dir(tmp_path, "faces-v2", 64, 2, seed=1)
    _classifier_dir(tmp_path, "faces-v2-judge", 64, 2, seed=2)
    _classifier_dir(tmp_path, "faces-v2-32", 32, 2, seed=3)

    def found(size, options, judge=False):
        classifier = metrics.classifier_for("faces", size, options, checkpoints=tmp_path, judge=judge)
        return (
            None
            if classifier is None
            else next(
                p.name
                for p in (tmp_path / "classifiers").iterdir()
                if torch.equal(models.load(p).head[1].weight, classifier.head[1].weight)
            )
        )

    assert found(64, {}) == "faces" and found(64, {"version": 1}) == "faces"
    assert found(64, {"version": 2}) == "faces-v2" and found(64, {"version": 2}, judge=True) == "faces-v2-judge"
    assert found(32, {"version": 2, "size": 32}) == "faces-v2-32" and found(32, {"version": 2}, judge=True) is None
    assert found(32, {}) is None and metrics.classifier_for("faces", 64, {}, checkpoints=tmp_path / "nowhere") is None


def test_details_kept_counts_what_the_judge_reads_in_the_reconstructions():
    """A model that reconstructs perfectly keeps exactly what the judge reads in the inputs; one that returns grey keeps
    an attribute only on images the judge reads the same way in grey."""
    config = tiny_judge_config(32, ("Smiling", "Eyeglasses"))
    torch.manual_seed(0)
    judge = models.Classifier(config).eval()
    ds = data.load("faces", split="test", n=40, size=32)

    class Model(torch.nn.Module):
        def __init__(self, grey):
            super().__init__()
            self.grey = grey

        def reconstruct(self, x, y=None):
            return torch.full_like(x, 0.5) if self.grey else x

        @property
        def device(self):
            return torch.device("cpu")

    perfect = metrics.details_kept(Model(False), ds, judge, batch_size=16)
    assert perfect["images"] == 40 and perfect["reconstruction"] == perfect["input"]
    grey = metrics.details_kept(Model(True), ds, judge, batch_size=16)
    truth = ds.targets(judge.names) > 0.5
    on_grey = judge.predict(torch.full((1, 3, 32, 32), 0.5))[0]
    assert list(grey["reconstruction"].values()) == pytest.approx((truth == on_grey).float().mean(0).tolist())


def test_prior_rows_show_each_models_own_prior_at_one_display_size(checkpoints, tmp_path):
    """python -m metrics A B --prior-rows: a row per checkpoint, its name, then 8 seeded prior samples at 128 pixels each
    (16x16 digits at 8x here), the same picture on every run."""
    from metrics.__main__ import main
    from metrics.evaluate import PRIOR_ROW_SIZE, prior_rows
    from metrics.pictures import LABEL_WIDTH

    picture = prior_rows([checkpoints / "vae", checkpoints / "dcgan"])
    assert picture.shape == (2 * PRIOR_ROW_SIZE, LABEL_WIDTH + 8 * PRIOR_ROW_SIZE, 3) and picture.dtype == np.uint8
    assert (picture[:, :LABEL_WIDTH] < 128).any()  # the names are written in the label column
    samples = picture[:PRIOR_ROW_SIZE, LABEL_WIDTH:]
    tile = samples[:, :PRIOR_ROW_SIZE]
    assert np.array_equal(tile[::8, ::8].repeat(8, 0).repeat(8, 1), tile)  # nearest neighbour: 8x8 blocks of one pixel
    assert not np.array_equal(tile, samples[:, PRIOR_ROW_SIZE : 2 * PRIOR_ROW_SIZE])  # different samples
    out = tmp_path / "rows.png"
    main([str(checkpoints / "vae"), str(checkpoints / "dcgan"), "--prior-rows", "--out", str(out)])
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), picture)
    with pytest.raises(SystemExit):
        main([str(checkpoints / "vae"), str(checkpoints / "dcgan")])  # several checkpoints are measured one at a time


def test_level_rows_show_a_vqvae2s_top_codes_alone_under_its_reconstructions(checkpoints, tmp_path):
    """python -m metrics VQ2 --level-rows: test images, the reconstructions, then the same images decoded from their top
    codes alone (models.VQVAE2.decode_top_alone); a model without a top level is refused with one line."""
    from metrics.__main__ import main
    from metrics.evaluate import PRIOR_ROW_SIZE, level_rows
    from metrics.pictures import LABEL_WIDTH

    picture = level_rows([checkpoints / "vqvae2"])
    assert picture.shape == (3 * PRIOR_ROW_SIZE, LABEL_WIDTH + 8 * PRIOR_ROW_SIZE, 3)
    model = models.load(checkpoints / "vqvae2")
    images = data.load("digits", split="test", size=16).batch(np.arange(8))
    with torch.no_grad():
        alone = model.decode_top_alone(model.encode(images).mean)
    first = picture[2 * PRIOR_ROW_SIZE, LABEL_WIDTH].astype(int)  # the top-left pixel of the third row's first tile
    assert np.abs(first - float(alone[0, 0, 0, 0]) * 255).max() <= 1
    with pytest.raises(SystemExit, match="has no top level"):
        main([str(checkpoints / "vae"), "--level-rows", "--out", str(tmp_path / "levels.png")])


def test_a_seed_spread_compares_runs_that_differ_in_their_seed_alone(checkpoints, tmp_path):
    """metrics --seeds refuses, before measuring anything, a run trained otherwise and a seed given twice; a card
    rewritten without --seeds keeps the stored spread only while its shipped run still scores the same."""
    import shutil

    with pytest.raises(ValueError, match="dae was not trained like .*vae apart from its seed"):
        metrics.seed_spread_of(checkpoints / "vae", [checkpoints / "dae"])
    twin = shutil.copytree(checkpoints / "vae", tmp_path / "twin")
    with pytest.raises(ValueError, match="twin: seed 0 is given twice"):
        metrics.seed_spread_of(checkpoints / "vae", [twin])
    with pytest.raises(ValueError, match="ground-truth factors"):  # digits has none: nothing to spread
        metrics.seed_spread_of(checkpoints / "vae", [])
    scores = {"mig": 0.2, "sap": 0.1, "dci": {"disentanglement": 0.3, "completeness": 0.3, "informativeness": 0.5}, "factor_vae": 0.7}
    stored = {"shipped_seed": 0, "runs": {"0": metrics.suite_scores(scores)}}
    (twin / metrics.EVALUATION_NAME).write_text(json.dumps({"seed_spread": stored}))
    assert metrics.stored_seed_spread(twin, {"disentanglement": scores}) == {"seed_spread": stored}
    assert metrics.stored_seed_spread(twin, {"disentanglement": {**scores, "mig": 0.1}}) == {}  # other weights
    assert metrics.stored_seed_spread(twin, {}) == {}
