"""Adding a kind of model takes its own file and one registry line. This file is that file for a throwaway kind, a
sparse autoencoder (an AE with an L1 penalty on its codes; Ng 2011, CS294A lecture notes, sec. 3): registered in
models.MODELS for this test only, it trains, is measured for its card, and is served by the explorer, with not one line
changed elsewhere. Training, evaluation and every tab ask the model what it can do (models.hub.HubModel's
capabilities), never its class."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from conftest import TINY, serve, tiny_run
from gradio_client import Client, handle_file
from PIL import Image

import models
from models import Autoencoder, ModelConfig, option
from models.nets import bernoulli_nll, build_decoder, build_encoder, detached


@dataclass(frozen=True)
class SparseAEConfig(ModelConfig):
    model_type: str = option("sparse-ae", "registry key in models.MODELS; fixed by the config class")
    sparsity: float = option(1e-3, "weight of the L1 penalty on the codes")


class SparseAE(Autoencoder):
    config_class = SparseAEConfig
    kind = "sparse AE"

    def __init__(self, config: SparseAEConfig):
        super().__init__(config)
        self.encoder = build_encoder(config, out_dim=config.latent_dim)
        self.decoder = build_decoder(config)

    def loss(self, x, y=None, step=None, generator=None) -> dict[str, torch.Tensor]:
        z = self.encode(x, y).mode()
        recon = bernoulli_nll(self.decode_logits(z, y), x).mean()
        l1 = z.abs().sum(1).mean()
        return detached(recon + self.config.sparsity * l1, recon=recon, l1=l1)


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(models.MODELS, "sparse-ae", SparseAE)  # the one registry line


def test_a_new_kind_of_model_trains_is_measured_and_is_served_with_one_registry_line(registered, tmp_path):
    from train.loop import train

    out = train("sparse-ae", TINY, tiny_run(tmp_path / "sparse", epochs=2, stats_images=300))
    assert isinstance(models.load(out), SparseAE)
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert evaluation["reconstruction"]["psnr"] > 11  # two epochs on 16x16 digits: about 13 dB
    assert "second row: their reconstructions" in (out / "README.md").read_text()  # the caption it inherits
    assert any("l1" in json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines())  # its own loss part

    digit = tmp_path / "digit.png"
    Image.fromarray(np.asarray(Image.open(out / "samples.png").convert("L"))[:16, :16]).save(digit)
    with serve(tmp_path) as app:
        label = app.labels["sparse"]
        assert "sparse AE" in label and "latent 4" in label
        client = Client(app.url, verbose=False)
        original, reconstruction, _, note = client.predict(label, handle_file(str(digit)), 0.0, None, [], api_name="/reconstruct")
        assert "PSNR" in note and Image.open(reconstruction).size == Image.open(original).size
        latent = client.predict(label, handle_file(str(digit)), api_name="/encode_image")["latent"]
        assert len(latent) == 4 and all(np.isfinite(latent))
        grid, sample_note = client.predict(label, 4, 1.0, 0, "fitted", None, [], api_name="/sample")
        assert Image.open(grid).size[0] > 0 and "fitted" in sample_note.lower()
