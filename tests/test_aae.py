"""The adversarial autoencoder: its priors, its three training phases, and what the latent discriminator does to the
codes (a supervised mixture prior puts each class on its own component)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import tiny_run

import data
import models
from latent import Explorer

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: tiny models on one thread


def aae(**overrides) -> models.AAE:
    torch.manual_seed(0)
    fields = dict(image_size=16, channels=1, latent_dim=2, mlp=True, hidden_dims=(32,)) | overrides
    return models.AAE(models.AAEConfig(**fields))


def test_each_prior_draws_what_it_says():
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    gaussian = aae(latent_dim=8).sample_latent(20_000, g())
    assert gaussian.mean().abs() < 0.02 and abs(gaussian.std().item() - 1) < 0.02
    uniform = aae(latent_dim=8, prior="uniform").sample_latent(20_000, g(), temperature=0.5)
    assert uniform.abs().max() <= 0.5 and uniform.abs().max() > 0.49 and abs(uniform.var().item() - 0.25 / 3) < 0.003
    model = aae(latent_dim=3, prior="mixture", components=4, mixture_radius=3.0, mixture_std=0.2)
    means = model.component_means()
    assert torch.allclose(means[:, :2].norm(dim=1), torch.full((4,), 3.0)) and means[:, 2].abs().max() == 0
    assert torch.allclose(means[1, :2], torch.tensor([0.0, 3.0]), atol=1e-6)  # a quarter turn from component 0 at (3, 0)
    picked = model.sample_latent(4000, g(), components=torch.full((4000,), 1))
    assert torch.allclose(picked.mean(0), means[1], atol=0.02) and abs(picked.std(0).mean().item() - 0.2) < 0.01
    draws = model.sample_latent(4000, g())
    nearest = torch.cdist(draws, means).argmin(1)
    assert torch.bincount(nearest, minlength=4).min() > 900  # every component drawn about equally


def test_the_three_phases_update_disjoint_parts():
    model = aae(prior="mixture", num_classes=10)
    ids = {phase: {id(p) for p in model.phase_parameters(phase)} for phase in model.PHASES}
    assert ids["reconstruction"] == {id(p) for p in [*model.encoder.parameters(), *model.decoder.parameters()]}
    assert ids["discriminator"] == {id(p) for p in model.latent_discriminator.parameters()}
    assert ids["generator"] == {id(p) for p in model.encoder.parameters()}
    assert set().union(*ids.values()) == {id(p) for p in model.parameters()}
    x, y = torch.rand(4, 1, 16, 16), torch.arange(4)
    reached = {}
    for phase in model.PHASES:
        model.zero_grad(set_to_none=True)
        model(x, y, phase=phase)["loss"].backward()
        reached[phase] = {id(p) for p in model.parameters() if p.grad is not None and p.grad.abs().sum() > 0}
        assert ids[phase] <= reached[phase], phase  # each phase's loss reaches every parameter its optimizer steps
    assert reached["reconstruction"] == ids["reconstruction"]  # the discriminator plays no part in reconstructing
    assert reached["discriminator"] == ids["discriminator"]  # the codes are detached: the encoder learns nothing here


def test_bad_configs_and_missing_labels_say_what_is_needed():
    with pytest.raises(ValueError, match="one component per class.*--prior mixture --components 3"):
        models.AAEConfig(num_classes=3)
    with pytest.raises(ValueError, match="latent_dim must be >= 2"):
        models.AAEConfig(latent_dim=1, prior="mixture")
    with pytest.raises(ValueError, match="must be one of 'gaussian', 'mixture', 'uniform'"):
        models.AAEConfig(prior="laplace")
    model = aae(prior="mixture", num_classes=10)
    with pytest.raises(ValueError, match=r"needs class ids y \[2\].*--condition labels"):
        model.loss(torch.rand(2, 1, 16, 16), phase="discriminator")
    with pytest.raises(ValueError, match="unknown phase 'model'"):
        model.loss(torch.rand(2, 1, 16, 16), phase="model")
    assert model.loss(torch.rand(2, 1, 16, 16))["loss"].isfinite()  # reconstruction (validation) needs no labels


def test_the_regularisation_phases_move_each_class_to_its_component():
    """The discriminator and generator phases alone (Makhzani et al. 2016, sec. 2.3): the encoder learns to put the
    codes of class k where component k of the prior is, which an untrained encoder does not."""
    torch.manual_seed(0)
    ds = data.load("digits", split="train", size=16)
    x, y = ds.batch(np.arange(len(ds))), torch.from_numpy(ds.labels).long()
    model = aae(hidden_dims=(64,), prior="mixture", num_classes=10, mixture_radius=1.0, mixture_std=0.15)
    optimizers = {
        phase: torch.optim.Adam(model.phase_parameters(phase), lr=1e-3, betas=(0.5, 0.999)) for phase in ("discriminator", "generator")
    }

    def agreement():
        with torch.no_grad():
            return (torch.cdist(model.encode(x).mean, model.component_means()).argmin(1) == y).float().mean().item()

    before = agreement()
    for _ in range(800):
        batch = torch.randint(len(x), (32,))
        for phase, optimizer in optimizers.items():
            optimizer.zero_grad(set_to_none=True)
            model(x[batch], y[batch], phase=phase)["loss"].backward()
            optimizer.step()
    assert before < 0.25 and agreement() > 0.6, (before, agreement())


def test_supervised_mixture_aae_trains_through_the_shared_loop(tmp_path):
    """The three phases through train/loop.py: logged, validated on reconstruction, the classes recorded, and the
    explorer samples the prior the codes were matched to."""
    from train.loop import train

    cfg = tiny_run(tmp_path / "aae", epochs=2, condition="labels")
    out = train("aae", {"mlp": True, "hidden_dims": (64,), "latent_dim": 2, "prior": "mixture", "components": 10}, cfg)
    model = models.load(out)
    assert model.config.num_classes == 10 and model.config.condition_names == tuple(str(i) for i in range(10))
    log = (out / "metrics.jsonl").read_text()
    assert '"discriminator_accuracy"' in log and '"generator_loss"' in log and '"val_recon"' in log
    explorer = Explorer.load(out)
    assert explorer.default_source == "prior"  # an adversarial AE samples its prior, which its codes were matched to
    radius = explorer.sample_latent(500, seed=0).norm(dim=1)
    assert abs(radius.mean().item() - 4.0) < 0.2 and not math.isclose(radius.std().item(), 0.0)
