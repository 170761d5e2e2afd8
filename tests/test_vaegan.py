"""VAE-GAN (Larsen et al. 2016): its two phases, the reconstruction error in the discriminator's features, the
adaptive adversarial weight, a run that starts from a VAE (--init) and is kept by its samples, and the explorer
treating it as any VAE."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import TINY, tiny_run

import models
from latent import Explorer
from train.inputs import warm_start

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {
    "image_size": 16,
    "channels": 1,
    "latent_dim": 4,
    "base_width": 4,
    "max_width": 8,
    "discriminator_width": 4,
    "discriminator_max_width": 8,
}


def build(seed: int = 0, **overrides) -> models.VAEGAN:
    torch.manual_seed(seed)
    return models.VAEGAN(models.VAEGANConfig(**{**SMALL, **overrides}))


def images(n: int = 6) -> torch.Tensor:
    return torch.rand(n, 1, 16, 16, generator=torch.Generator().manual_seed(0))


def test_each_phase_trains_its_own_parameters_and_nothing_else():
    model = build(feature_layer=2)
    critic = {id(p) for p in model.phase_parameters("discriminator")}
    autoencoder = {id(p) for p in model.phase_parameters("autoencoder")}
    assert critic and autoencoder and not critic & autoencoder and critic | autoencoder == {id(p) for p in model.parameters()}
    assert critic == {id(p) for m in (model.discriminator, model.head) for p in m.parameters()}
    model.loss(images(), phase="discriminator", generator=torch.Generator().manual_seed(0))["loss"].backward()
    assert all(p.grad is None for p in model.encoder.parameters()) and all(p.grad is None for p in model.decoder.parameters())
    assert all(p.grad is not None for p in model.discriminator.parameters())
    with pytest.raises(ValueError, match="unknown phase 'generator'; a VAE-GAN trains discriminator, autoencoder"):
        model.loss(images(), phase="generator")


def test_the_reconstruction_error_is_measured_in_the_discriminators_features_too():
    model = build(feature_layer=2)
    x = images()
    with torch.no_grad():  # validation: no adversarial term, so the loss is exactly the reconstruction terms and the KL
        parts = model.loss(x, generator=torch.Generator().manual_seed(0))
        assert parts["loss"].item() == pytest.approx((parts["recon"] + parts["feature"] + parts["kl"]).item(), rel=1e-5)
        assert parts["adversarial_weight"].item() == 0
        _, features = model.discriminate(x)
    # the features after block feature_layer: the second of two at 16x16, 8 channels at 4x4
    assert features.shape == (6, 8 * 4 * 4)


def test_feature_layer_and_objective_are_checked():
    assert models.VAEGANConfig().feature_layer == 3  # Larsen et al.'s third conv layer
    with pytest.raises(ValueError, match="feature_layer 3: the discriminator of 16x16 images has 2 conv blocks"):
        build(feature_layer=3)
    with pytest.raises(ValueError, match="weighs its KL by beta"):
        models.VAEGANConfig(gamma=1000.0)


def test_the_adversarial_weight_scales_with_gan_weight():
    x = images()
    weights = []
    for gan_weight in (0.5, 1.0):
        model = build(gan_weight=gan_weight, feature_layer=2)
        weights.append(model.loss(x, generator=torch.Generator().manual_seed(0))["adversarial_weight"].item())
    assert weights[1] == pytest.approx(2 * weights[0], rel=1e-5) and weights[0] > 0


def test_a_vaegan_starts_from_a_vae_is_kept_by_its_samples_and_explores_like_a_vae(checkpoints, digits_classifier, tmp_path):
    from train.loop import train

    vae = checkpoints / "vae"  # TINY on 16x16 digits
    architecture = {**TINY, "discriminator_width": 8, "discriminator_max_width": 16, "feature_layer": 2}
    model = models.VAEGAN(models.VAEGANConfig(image_size=16, channels=1, **architecture))
    warm_start(model, str(vae))
    source = models.load(vae).state_dict()
    assert all(torch.equal(model.state_dict()[name], tensor) for name, tensor in source.items())
    with pytest.raises(ValueError, match=r"--init .*vae2d: \d+ of its tensors have no place of that shape in this model \(encoder\.head"):
        warm_start(model, str(checkpoints / "vae2d"))  # latent 2, not 4

    cfg = tiny_run(
        tmp_path / "vaegan",
        epochs=1,
        init=str(vae),
        stats_images=200,
        monitor_every=20,
        log_every=5,
        monitor_classifier=str(digits_classifier),
    )
    out = train("vaegan", architecture, cfg)
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in logged if "autoencoder_loss" in r]
    assert steps and all("discriminator_loss" in r and r["adversarial_weight"] > 0 and "feature" in r for r in steps)
    checks = [r["monitor_frechet_distance"] for r in logged if "monitor_frechet_distance" in r]
    summary = json.loads((out / "training.json").read_text())
    assert len(checks) >= 2 and summary["validation"]["frechet_distance"] == pytest.approx(min(checks), rel=1e-6)
    assert summary["train_config"]["init"] == str(vae)

    explorer = Explorer.load(out)
    x = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    assert explorer.model.kind == "VAE-GAN" and explorer.model.has_encoder
    assert explorer.model.reconstruct(x).shape == x.shape
    assert explorer.model.decode(explorer.model.sample_latent(3)).shape == (3, 1, 16, 16)
