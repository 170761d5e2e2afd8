"""Face sliders that each move one factor (issue 34): every latent dimension's slider is labelled with the ground-truth
factor it carries most (the disentanglement suite on the faces' factors, continuous ones binned), and its card says
what dragging it across its range changes, as the judge sees it (metrics.edits.factor_slider_scorecard).

The scorecard's known answer comes from a stand-in whose code is the renderer's factor vector; the labels are read
from faces-beta-vae's shipped card."""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import torch

import data
from data.face_factors import FACTOR_NAMES, sample_factors
from data.faces import render_faces
from metrics.edits import factor_slider_scorecard
from metrics.evaluate import EVALUATION_NAME, classifier_for

ROOT = Path(__file__).resolve().parents[1]


class FactorsAreCodes:
    """A stand-in explorer whose code is a face's factor vector: it reads the factors from the 'image' (stored as
    pixels) and decodes by rendering the face, so each dimension moves exactly one factor."""

    def __init__(self, factors: np.ndarray):
        codes = torch.from_numpy(factors)
        self.stats = {"p01": codes.quantile(0.01, dim=0), "p99": codes.quantile(0.99, dim=0)}

    def encode(self, x):
        return x.flatten(1) * 255  # ds.batch scales pixels by 1/255

    def decode(self, z):
        return data.to_tensor(render_faces(z.numpy(), workers=1, progress=False))


def test_factor_slider_scorecard_finds_a_renderers_factor_dims():
    judge = classifier_for("faces", 64, {"version": 2}, judge=True)
    factors = sample_factors(40, seed=3)
    ds = data.ImageDataset(name="face-factors", images=factors[:, None, :, None])
    dims = [{"factor": name, "score": 1.0} for name in FACTOR_NAMES]
    card = factor_slider_scorecard(FactorsAreCodes(factors), judge, ds, dims, n=40, batch_size=20)
    assert card["n"] == 40
    assert str(FACTOR_NAMES.index("head_tilt")) not in card  # a factor no attribute shows is not scored
    for factor in ("smile", "glasses", "hat"):
        changes = card[str(FACTOR_NAMES.index(factor))]["changes"]
        assert changes[factor] >= 0.9, (factor, changes)
        assert max(v for f, v in changes.items() if f != factor) <= 0.1, (factor, changes)


def test_each_latent_slider_is_labelled_with_the_factor_its_card_gives_it():
    """faces-beta-vae's card labels every dimension with a factor; the Latent sliders tab shows the label and score
    on the slider, and what the card measured dragging it as its help. A card without the suite leaves the label."""
    from latent import Explorer
    from ui.sliders import slider_help, slider_label

    checkpoint = ROOT / "checkpoints/faces-beta-vae"
    card = json.loads((checkpoint / EVALUATION_NAME).read_text())
    explorer = Explorer.load(checkpoint)
    entry = types.SimpleNamespace(evaluation=card)
    specs = explorer.sliders(explorer.stats["heldout_latents"][0], "kl")
    assert len(card["disentanglement"]["dims"]) == len(specs) == explorer.latent_dim
    for spec in specs:
        dim = card["disentanglement"]["dims"][spec.index]
        assert slider_label(entry, spec, "kl") == f"{spec.label} · {dim['factor']} {dim['score']:.2f}"
        scored = card["factor_sliders"].get(str(spec.index))
        help_text = slider_help(entry, spec, "kl", [])
        if scored:
            own = scored["changes"][dim["factor"]]
            worst = max((f for f in scored["changes"] if f != dim["factor"]), key=scored["changes"].get)
            assert help_text == (
                f"card: across its range it changes {dim['factor']} on {own:.0%} of test faces, "
                f"and {worst} (the most of the others) on {scored['changes'][worst]:.0%}"
            )
        else:  # a factor the judge cannot see (head tilt, background hue, ...)
            assert help_text is None
    bare = types.SimpleNamespace(evaluation={})
    assert slider_label(bare, specs[0], "kl") == specs[0].label and slider_help(bare, specs[0], "kl", []) is None
    principal = explorer.sliders(explorer.stats["heldout_latents"][0], "pca")[0]
    assert slider_label(entry, principal, "pca") == principal.label  # a principal direction is no one dimension
