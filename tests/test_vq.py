"""VQ-VAE and its PixelCNN prior: the quantiser on small tensors, the prior's causality by gradients,
checkpoints, training, and sampling through the explorer."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_run

import metrics
import models
from latent import Explorer
from models.pixelcnn import fingerprint
from models.vqvae import VectorQuantizer, perplexity


def quantizer(**fields) -> VectorQuantizer:
    cfg = models.VQVAEConfig(image_size=8, latent_dim=2, num_codes=3, **fields)
    q = VectorQuantizer(cfg)
    with torch.no_grad():
        q.codebook.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
        if cfg.codebook_update == "ema":
            q.ema_sum.copy_(q.codebook)
    return q


def grid(vectors) -> torch.Tensor:
    """[M, 2] vectors -> z_e [1, 2, 1, M] (one row of M cells)."""
    return torch.tensor(vectors, dtype=torch.float32).T[None, :, None, :]


# --- the quantiser


def test_each_vector_takes_its_nearest_code():
    q = quantizer().eval()
    z_q, codes, _ = q(grid([[0.1, -0.2], [0.9, 0.3], [0.2, 0.7], [0.6, 0.0]]))
    assert codes.flatten().tolist() == [0, 1, 2, 1]
    assert torch.equal(z_q[0, :, 0, :].T, q.codebook[codes.flatten()].detach())


def test_the_gradient_passes_straight_through_the_quantiser():
    q = quantizer().eval()
    z_e = grid([[0.1, -0.2], [0.9, 0.3]]).requires_grad_()
    z_q, _, _ = q(z_e)
    weights = torch.randn_like(z_q)
    (z_q * weights).sum().backward()
    assert torch.equal(z_e.grad, weights)  # d z_q / d z_e = identity


def test_ema_update_follows_the_paper_with_laplace_smoothing():
    q = quantizer(ema_decay=0.9, ema_epsilon=1e-5, revive_after=0).train()
    vectors = [[0.2, 0.0], [0.9, 0.1], [1.1, -0.1]]  # code 0 once, code 1 twice, code 2 never
    q(grid(vectors))
    counts = torch.tensor([1.0, 2.0, 0.0])
    sums = torch.tensor([[0.2, 0.0], [2.0, 0.0], [0.0, 0.0]])
    ema_count = 0.9 * torch.ones(3) + 0.1 * counts
    ema_sum = 0.9 * torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]) + 0.1 * sums
    total = ema_count.sum()
    smoothed = (ema_count + 1e-5) / (total + 3 * 1e-5) * total
    assert torch.allclose(q.ema_count, ema_count) and torch.allclose(q.ema_sum, ema_sum)
    assert torch.allclose(q.codebook, ema_sum / smoothed[:, None])


def test_a_code_unused_for_revive_after_steps_is_reinitialised_from_encoder_outputs():
    torch.manual_seed(0)
    q = quantizer(revive_after=3).train()
    vectors = [[0.1, 0.0], [0.9, 0.0], [0.95, 0.05]]  # never near code 2
    for step in range(3):
        q(grid(vectors))
        if step < 2:
            assert q.unused_steps[2] == step + 1 and q.unused_steps[:2].eq(0).all()
    revived = q.codebook[2]
    assert any(torch.allclose(revived, torch.tensor(v)) for v in vectors), revived  # a recent encoder output
    assert q.unused_steps[2] == 0 and q.ema_count[2] == 1.0


def test_the_codebook_loss_option_trains_the_codebook_by_gradient():
    q = quantizer(codebook_update="loss").train()
    assert q.codebook.requires_grad and not hasattr(q, "ema_count")
    _, _, parts = q(grid([[0.3, 0.0]]))
    parts["codebook"].backward()
    assert q.codebook.grad[0].abs().sum() > 0 and q.codebook.grad[1:].abs().sum() == 0


def test_perplexity_and_usage():
    assert perplexity(torch.tensor([5.0, 5.0, 5.0, 5.0])).item() == pytest.approx(4.0)
    assert perplexity(torch.tensor([7.0, 0.0, 0.0])).item() == pytest.approx(1.0)
    assert metrics.code_usage(torch.tensor([3, 0, 1, 0])) == {
        "codes_used": 0.5,
        "perplexity": pytest.approx(perplexity(torch.tensor([3.0, 0, 1, 0])).item()),
        "dead_codes": 2,
    }


# --- the VQ-VAE


@pytest.fixture
def vqvae():
    torch.manual_seed(0)
    return models.VQVAE(models.VQVAEConfig(image_size=16, channels=1, latent_dim=4, num_codes=16, base_width=8, max_width=16)).eval()


def test_latents_are_the_flattened_pre_quantisation_grid(vqvae):
    x = torch.rand(3, 1, 16, 16)
    assert vqvae.grid_size == 4 and vqvae.latent_shape == (4 * 4 * 4,)
    z = vqvae.encode(x).mean
    assert z.shape == (3, 64) and torch.equal(vqvae.grid(z), vqvae.encoder(x))
    codes = vqvae.codes(z)
    assert codes.shape == (3, 4, 4) and torch.equal(vqvae.codes(vqvae.embed(codes)), codes)
    assert torch.allclose(vqvae.decode(z), vqvae.decode(vqvae.embed(codes)), atol=1e-6)  # decode quantises first
    with pytest.raises(ValueError, match=r"codes must lie in \[0, 16\)"):
        vqvae.embed(torch.full((1, 4, 4), 16))
    with pytest.raises(ValueError, match="divisible by 2\\^downsamples"):
        models.VQVAEConfig(image_size=28, downsamples=3)


def test_vqvae_loss_falls_and_the_checkpoint_round_trips(vqvae, tmp_path):
    x = torch.zeros(8, 1, 16, 16)
    for i in range(8):  # a bright square in a different place in each image
        x[i, :, i : i + 6, 8 - i : 14 - i] = 1.0
    vqvae.train()
    optimizer = torch.optim.Adam([p for p in vqvae.parameters() if p.requires_grad], lr=3e-3)
    losses = []
    for _ in range(30):
        parts = vqvae.loss(x)
        assert set(parts) == {"loss", "recon", "commitment", "perplexity"}
        optimizer.zero_grad()
        parts["loss"].backward()
        optimizer.step()
        losses.append(parts["loss"].item())
    assert losses[-1] < 0.7 * losses[0]
    vqvae.eval().save(tmp_path / "vq")
    loaded = models.load(tmp_path / "vq")
    assert isinstance(loaded, models.VQVAE) and fingerprint(loaded) == fingerprint(vqvae)
    for name, tensor in vqvae.state_dict().items():  # weights and the codebook's buffers
        assert torch.equal(loaded.state_dict()[name], tensor), name


# --- the PixelCNN prior


def small_prior(**fields) -> models.PixelCNN:
    torch.manual_seed(0)
    return models.PixelCNN(models.PixelCNNConfig(**{"num_codes": 7, "grid_size": 5, "width": 8, "layers": 5, **fields})).eval()


# a prior over a VQ-VAE-2's bottom codes, given a 2x2 grid of 3 top codes
GIVEN = {"level": "bottom", "condition_level": "top", "condition_num_codes": 3, "condition_grid_size": 2, "grid_size": 4}
PRIORS = {
    "unconditional": {},
    "classes": {"num_classes": 3},
    "attention": {"attention_layers": 2, "attention_heads": 2, "level": "top"},
    "given codes": GIVEN,
}


def conditions(prior: models.PixelCNN, n: int) -> dict:
    cfg = prior.config
    given = torch.randint(cfg.condition_num_codes, (n, cfg.condition_grid_size, cfg.condition_grid_size)) if cfg.condition_level else None
    return {"y": torch.arange(n) % cfg.num_classes if cfg.num_classes else None, "given": given}


@pytest.mark.parametrize("fields", PRIORS.values(), ids=PRIORS)
def test_each_cell_depends_on_every_earlier_cell_and_on_no_later_one(fields):
    """Gradients of the logits at cell p w.r.t. the embedded input: zero at p and after (raster order),
    non-zero at every cell before p (no blind spot); with self-attention and with a map of given codes too."""
    prior = small_prior(**fields)
    g = prior.config.grid_size
    x = prior.embedding(torch.randint(7, (1, g, g))).permute(0, 3, 1, 2).detach().requires_grad_()
    c = conditions(prior, 1)
    biases = prior.biases(1, c["y"], c["given"])
    for i in range(g):
        for j in range(g):
            (grad,) = torch.autograd.grad(prior.logits_of_embedded(x, biases)[0, :, i, j].sum(), x, retain_graph=True)
            seen = grad.abs().sum(1)[0] > 0  # [g, g]
            for a in range(g):
                for b in range(g):
                    assert bool(seen[a, b]) == ((a, b) < (i, j)), f"cell {(i, j)} {'sees' if seen[a, b] else 'misses'} cell {(a, b)}"


@pytest.mark.parametrize("fields", PRIORS.values(), ids=PRIORS)
def test_row_by_row_sampling_draws_what_the_full_network_gives(fields):
    prior = small_prior(**fields)
    c, g = conditions(prior, 4), prior.config.grid_size
    fast = prior.sample(4, generator=torch.Generator().manual_seed(1), **c)
    slow, generator = torch.zeros(4, g, g, dtype=torch.long), torch.Generator().manual_seed(1)
    with torch.no_grad():
        for i in range(g):
            for j in range(g):
                probs = torch.softmax(prior.logits(slow, **c)[:, :, i, j], 1)
                slow[:, i, j] = torch.multinomial(probs, 1, generator=generator).squeeze(1)
    assert torch.equal(fast, slow)
    assert torch.equal(prior.sample(4, generator=torch.Generator().manual_seed(1), **c), fast)


def test_a_prior_given_codes_reads_them_and_refuses_bad_ones():
    prior = small_prior(**GIVEN)
    codes, given = torch.randint(7, (2, 4, 4)), torch.zeros(2, 2, 2, dtype=torch.long)
    with torch.no_grad():
        assert not torch.allclose(prior.logits(codes, given=given), prior.logits(codes, given=given + 1))
    for bad in (None, given[:, :1], given + 3, given.float()):
        with pytest.raises(ValueError, match=r"conditioned on the top codes: given must be code grids \[2, 2, 2\] in \[0, 3\)"):
            prior.sample(2, given=bad)
    with pytest.raises(ValueError, match="must divide the grid"):
        models.PixelCNNConfig(**{**GIVEN, "condition_grid_size": 3})
    with pytest.raises(ValueError, match="cannot be conditioned on them"):
        models.PixelCNNConfig(level="top", condition_level="top", condition_grid_size=2)


def test_a_conditional_prior_needs_class_ids():
    prior = small_prior(num_classes=3)
    with pytest.raises(ValueError, match=r"class ids, an integer tensor \[2\] in \[0, 3\)"):
        prior.sample(2)
    with pytest.raises(ValueError, match="class ids"):
        prior.sample(2, y=torch.tensor([0, 3]))


def test_a_prior_refuses_a_vqvae_it_was_not_trained_on(vqvae, tmp_path):
    prior = models.PixelCNN(
        models.PixelCNNConfig(
            vqvae="runs/vq",
            num_codes=16,
            width=8,
            layers=2,
            **{k: v for k, v in models.PixelCNN.fields_for(vqvae).items() if k != "num_codes"},
        )
    )
    prior.attach(vqvae)
    prior.save(tmp_path / "prior")
    loaded = models.load(tmp_path / "prior")
    assert not any(name.startswith("_vqvae") for name in loaded.state_dict())  # the VQ-VAE's weights are not in the prior
    other = models.VQVAE(vqvae.config)
    with pytest.raises(ValueError, match="belongs to the VQ-VAE 'runs/vq'"):
        loaded.attach(other)
    with pytest.raises(ValueError, match="has no VQ-VAE attached"):
        loaded.loss(torch.rand(2, 1, 16, 16))
    explorer = Explorer(vqvae, {"mean": torch.zeros(64)}, {}, prior=loaded)
    assert explorer.default_source == "prior"
    first = explorer.sample_latent(3, seed=5)
    assert torch.equal(first, explorer.sample_latent(3, seed=5)) and not torch.equal(first, explorer.sample_latent(3, seed=6))
    assert torch.equal(vqvae.embed(vqvae.codes(first)), first)  # prior samples are code grids


def test_a_classifier_guided_edit_is_refused_for_a_vqvae(vqvae):
    """Its decoder snaps every cell to a code: no gradient with respect to the latent to follow."""
    explorer = Explorer(vqvae, {"mean": torch.zeros(64)}, {})
    explorer.classifier = models.Classifier(
        models.ClassifierConfig(
            image_size=16, channels=1, base_width=8, max_width=16, num_classes=0, num_attributes=2, condition_names=("a", "b")
        )
    )
    with pytest.raises(ValueError, match="a VQ-VAE snaps every grid cell to its nearest code"):
        explorer.guided_edit(torch.zeros(64), "a")


# --- training


def test_a_prior_trains_on_a_frozen_vqvae_and_says_what_is_wrong(tmp_path):
    from train.config import TrainConfig
    from train.loop import train

    def run(model_type, fields, out, **extra):
        cfg = tiny_run(tmp_path / out, epochs=1, stats_images=200, **extra)
        return train(model_type, fields, cfg)

    vq = run("vqvae", {"latent_dim": 4, "num_codes": 16, "base_width": 8, "max_width": 16, "revive_after": 5}, "vq")
    training = (vq / "training.json").read_text()
    assert '"codes_used"' in training and '"perplexity"' in training  # over the validation set
    with pytest.raises(ValueError, match="pass --vqvae"):
        run("pixelcnn", {"width": 8, "layers": 2}, "p0")
    with pytest.raises(ValueError, match="takes 16x16 images"):
        cfg = TrainConfig(data="digits", out=str(tmp_path / "p1"), epochs=1, threads=1)
        train("pixelcnn", {"vqvae": str(vq)}, cfg)
    with pytest.raises(ValueError, match="class labels only"):
        run("pixelcnn", {"vqvae": str(vq)}, "p2", condition="Smiling")
    prior_dir = run("pixelcnn", {"vqvae": str(vq), "width": 8, "layers": 3}, "prior", condition="labels")
    prior = models.load(prior_dir)
    assert prior.config.num_classes == 10 and prior.config.grid_size == 4 and prior.config.vqvae_fingerprint == fingerprint(models.load(vq))
    assert (prior_dir / "samples.png").exists()
    explorer = Explorer.load(vq, prior=prior)
    assert explorer.conditioned_on_classes and explorer.condition_labels[:2] == ["0", "1"]
    images = explorer.sample(4, seed=0, y=torch.tensor([0, 1, 2, 3]))
    assert images.shape == (4, 1, 16, 16) and 0 <= images.min() and images.max() <= 1
