"""VQ-VAE-2 (models/vqvae2.py): two code levels, the latent that holds both, and a run that trains, saves and loads."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import tiny_run

import models
from models.pixelcnn import fingerprint


@pytest.fixture
def vq2():
    torch.manual_seed(0)
    config = models.VQVAE2Config(image_size=16, channels=1, latent_dim=4, num_codes=16, base_width=8, max_width=16, downsamples=1)
    return models.VQVAE2(config).eval()


def test_the_latent_is_both_levels_pre_quantisation_grids_top_first(vq2):
    x = torch.rand(3, 1, 16, 16)
    assert vq2.grid_sizes == {"top": 4, "bottom": 8} and vq2.latent_shape == (4 * 16 + 4 * 64,)
    z = vq2.encode(x).mean
    grids = vq2.grids(z)
    assert torch.equal(grids["top"], vq2.encoder_top(vq2.encoder_bottom(x)))  # the top level, before quantisation
    codes = vq2.codes(z)
    assert codes["top"].shape == (3, 4, 4) and codes["bottom"].shape == (3, 8, 8)
    assert all(torch.equal(vq2.codes(vq2.embed(codes))[level], codes[level]) for level in codes)
    assert torch.allclose(vq2.decode(z), vq2.decode(vq2.embed(codes)), atol=1e-6)  # decode snaps both levels first


def test_the_bottom_code_depends_on_the_quantised_top_code(vq2):
    """Razavi et al.'s Fig. 2a: the bottom encoder is told what the top level holds. A different top code changes the
    bottom one that encode computes for the same image."""
    x = torch.rand(2, 1, 16, 16)
    z = vq2.encode(x).mean
    with torch.no_grad():
        vq2.quantizer_top.codebook.mul_(-1)  # every top code moves
    assert not torch.allclose(vq2.grids(vq2.encode(x).mean)["bottom"], vq2.grids(z)["bottom"])


def test_the_top_alone_loss_decodes_the_top_codes_with_the_bottom_zeroed():
    """top_alone_weight adds the MSE of the picture decoded from the top codes alone, so its gradient reaches the top
    encoder through that path too; at 0 (Razavi et al.'s setting) the term is absent."""
    fields = dict(image_size=16, channels=1, latent_dim=4, num_codes=16, base_width=8, max_width=16, downsamples=1)
    x = torch.rand(4, 1, 16, 16)
    torch.manual_seed(0)
    plain = models.VQVAE2(models.VQVAE2Config(**fields)).eval()  # eval: no EMA update between the calls compared
    torch.manual_seed(0)
    weighted = models.VQVAE2(models.VQVAE2Config(**fields, top_alone_weight=0.5)).eval()
    assert "recon_top" not in plain.loss(x)
    parts = weighted.loss(x)
    weighted.zero_grad()
    parts["loss"].backward()
    with torch.no_grad():  # what the term measures is what decode_top_alone draws
        alone = weighted.decode_top_alone(weighted.encode(x).mean)
    assert parts["recon_top"] == pytest.approx(float(((alone - x) ** 2).mean()), rel=1e-5)
    assert float(parts["loss"].detach()) == pytest.approx(float(plain.loss(x)["loss"].detach() + 0.5 * parts["recon_top"]), rel=1e-5)
    assert weighted.encoder_top[0].weight.grad.abs().sum() > 0


def test_bad_code_grids_and_sizes_are_refused(vq2):
    codes = vq2.codes(vq2.sample_latent(2, generator=torch.Generator().manual_seed(0)))
    with pytest.raises(ValueError, match="both levels"):
        vq2.embed({"top": codes["top"]})
    with pytest.raises(ValueError, match=r"must lie in \[0, 16\)"):
        vq2.embed({**codes, "bottom": codes["bottom"] + 16})
    with pytest.raises(ValueError, match=r"integer grids \[N, 4, 4\]"):
        vq2.embed({**codes, "top": codes["bottom"]})
    with pytest.raises(ValueError, match="as many of each"):
        vq2.embed({**codes, "top": codes["top"][:1]})
    with pytest.raises(ValueError, match="2\\^3"):
        models.VQVAE2Config(image_size=28, downsamples=2)


def test_vqvae2_trains_saves_and_loads_with_both_codebooks(tmp_path):
    from train.loop import train

    fields = {"latent_dim": 4, "num_codes": 16, "base_width": 8, "max_width": 16, "downsamples": 1, "revive_after": 5}
    out = train("vqvae2", fields, tiny_run(tmp_path / "vq2", epochs=4, lr=3e-3, stats_images=300))
    model = models.load(out)
    assert isinstance(model, models.VQVAE2)
    state = model.state_dict()
    assert {"quantizer_top.ema_count", "quantizer_bottom.ema_count"} <= set(state)  # both levels' EMA statistics
    training = json.loads((out / "training.json").read_text())
    validation = training["validation"]
    assert validation["psnr"] > 20  # four epochs on 16x16 digits: about 24.7 dB; after the first, 11.5
    assert validation["perplexity_top"] > 4 and validation["perplexity_bottom"] > 4  # both codebooks in use
    first = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if "recon" in json.loads(line)]
    assert first[-1]["recon"] < first[0]["recon"]
    assert fingerprint(models.load(out)) == fingerprint(model)


def test_a_prior_per_level_trains_and_the_explorer_samples_through_both(tmp_path):
    """The top prior (with self-attention) and the bottom prior (given the top codes) train on a frozen VQ-VAE-2; the
    catalog gives the VQ-VAE-2 both, and sampling draws the top codes, then the bottom ones given them."""
    from metrics.evaluate import with_priors
    from train.loop import train
    from ui.catalog import Catalog

    def run(model_type, fields, out, **extra):
        return train(model_type, fields, tiny_run(tmp_path / out, epochs=1, stats_images=200, **extra))

    vq = run("vqvae2", {"latent_dim": 4, "num_codes": 16, "base_width": 8, "max_width": 16, "downsamples": 1, "revive_after": 5}, "vq2")
    with pytest.raises(ValueError, match="no code level 'codes'; its levels: top, bottom"):
        run("pixelcnn", {"vqvae": str(vq), "width": 8, "layers": 2}, "p0")
    top = run("pixelcnn", {"vqvae": str(vq), "level": "top", "width": 8, "layers": 2, "attention_layers": 1, "attention_heads": 2}, "top")
    bottom = run("pixelcnn", {"vqvae": str(vq), "level": "bottom", "condition_level": "top", "width": 8, "layers": 2}, "bottom")
    config = models.load(bottom).config
    assert (config.grid_size, config.condition_grid_size, config.condition_num_codes) == (8, 4, 16)
    assert models.load(top).config.grid_size == 4 and (top / "samples.png").exists() and (bottom / "samples.png").exists()
    assert "code level | bottom (8x8), given the top codes" in (bottom / "README.md").read_text()
    # the card of the last level's prior measures the samples of both (the top prior found beside it)
    assert "| sampling time |" in (bottom / "README.md").read_text()
    assert "measured on the card of the last code level's prior" in (top / "README.md").read_text()
    assert isinstance(with_priors(vq).prior, models.PriorStack)

    catalog = Catalog.discover(tmp_path)
    (entry,) = catalog.entries.values()
    explorer = entry.explorer
    assert isinstance(explorer.prior, models.PriorStack) and set(explorer.level_priors) == {"top", "bottom"}
    assert entry.prior_key == "bottom" and explorer.default_source == "prior"
    z = explorer.sample_latent(3, seed=4)
    assert torch.equal(z, explorer.sample_latent(3, seed=4))
    codes = explorer.model.codes(z)
    assert torch.equal(explorer.model.embed(codes), z)  # prior samples are code grids of both levels
    # the bottom codes are drawn given the top ones: other top codes, other probabilities for every bottom cell (a
    # comparison of the draws themselves would hang on whether a one-epoch prior's small shift crosses a draw's bin)
    stack = explorer.prior
    drawn = stack.sample(3, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        given, other = (stack.priors[1].logits(drawn["bottom"], given=top) for top in (drawn["top"], (drawn["top"] + 1) % 16))
    assert ((given - other).abs().amax(1) > 1e-4).float().mean() > 0.9
    assert explorer.sample(2, seed=0).shape == (2, 1, 16, 16)
    assert stack.loss(torch.rand(2, 1, 16, 16))["bits_per_code"] > 0
