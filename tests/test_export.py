"""models/export.py: a checkpoint's decoder as ONNX, for the page to decode slider drags. It must decode what the
server decodes, refuse what it cannot carry (a condition), and never be handed out for weights it was not made from."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime
import pytest
import torch
from test_models import build

import models
from models import export

pytestmark = pytest.mark.usefixtures("one_thread")


def decode_in_onnxruntime(path, z: torch.Tensor) -> np.ndarray:
    """Images [N, C, S, S] of latents z [N, D], one call per latent (the page decodes one at a time)."""
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([session.run(None, {"z": row[None].numpy()})[0] for row in z])


@pytest.mark.parametrize("model_type", ["vae", "dcgan", "vqvae"])
def test_exported_decoder_decodes_what_the_server_decodes(model_type, tmp_path):
    """A VAE, a GAN whose BatchNorm must use its running statistics (the model is left in training mode on purpose),
    and a VQ-VAE whose nearest-code lookup is part of the graph."""
    torch.manual_seed(0)
    config = models.config_class(model_type)(image_size=16, channels=3, latent_dim=4, base_width=8, max_width=16)
    model = models.MODELS[model_type](config)
    if model_type == "dcgan":  # running statistics unlike a batch's own: an export that used batch statistics differs
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
    model.save(tmp_path, dtype=torch.float16)
    model = models.load(tmp_path)
    model.train()
    path = export.export_decoder(model, tmp_path)
    assert model.training, "exporting changed the model's mode"
    z = model.sample_latent(5, torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = model.eval().decode(z).numpy()
    decoded = decode_in_onnxruntime(path, z)
    assert decoded.shape == expected.shape and np.abs(decoded - expected).max() < 1e-5
    record = json.loads((tmp_path / export.RECORD_NAME).read_text())
    assert record["latent_dim"] == z.shape[1] and record["image_shape"] == list(expected.shape[1:])
    assert export.decoder_file(tmp_path) == path


def test_float16_weights_are_stored_as_float16(tmp_path):
    """The shipped checkpoints keep float16 weights: the decoder stores them as float16 too (half the bytes), and
    casts them to the same float32 values the server computes with."""
    model = models.VAE(models.VAEConfig(image_size=64, channels=3, base_width=16, max_width=64, latent_dim=16))
    model.save(tmp_path / "half", dtype=torch.float16)
    model.save(tmp_path / "full", dtype=torch.float32)
    half = export.export_decoder(models.load(tmp_path / "half"), tmp_path / "half")
    full = export.export_decoder(models.load(tmp_path / "full"), tmp_path / "full")
    assert half.stat().st_size < 0.6 * full.stat().st_size


def test_a_stale_or_damaged_decoder_is_not_handed_out(tmp_path):
    model = build("vae")
    model.save(tmp_path)
    export.export_decoder(model, tmp_path)
    assert export.decoder_file(tmp_path) is not None
    build("vae", seed=1).save(tmp_path)  # new weights, the old decoder beside them
    assert export.decoder_file(tmp_path) is None
    export.export_decoder(models.load(tmp_path), tmp_path)
    (tmp_path / export.DECODER_NAME).write_bytes(b"not onnx")
    assert export.decoder_file(tmp_path) is None
    (tmp_path / export.RECORD_NAME).write_text("{")
    assert export.decoder_file(tmp_path) is None


def test_a_conditional_model_decodes_on_the_server(tmp_path):
    model = build("cvae")
    model.save(tmp_path)
    assert "decodes with a condition" in export.exportable(model)
    with pytest.raises(ValueError, match="does not run in a page: it decodes with a condition"):
        export.export_decoder(model, tmp_path)
    assert not (tmp_path / export.DECODER_NAME).exists()


def test_training_exports_the_decoder(checkpoints):
    """The training run writes decoder.onnx beside the weights it kept (conftest's tiny checkpoints)."""
    vae = checkpoints / "vae"
    assert export.decoder_file(vae) is not None
    z = models.load(vae).sample_latent(2, torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = models.load(vae).decode(z).numpy()
    assert np.abs(decode_in_onnxruntime(vae / export.DECODER_NAME, z) - expected).max() < 1e-5
