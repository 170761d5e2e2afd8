"""A checkpoint's decoder as ONNX, so a page can decode while a slider is dragged (README: what runs where).

`python -m models.export checkpoints/NAME [...]` writes `decoder.onnx` beside the weights and `decoder.json`, which
records the SHA-256 of the `model.safetensors` it was exported from: `decoder_file` hands the decoder out only while
that hash still matches, so page and server can never decode with different weights. A model that decodes a flat
latent with no condition exports (a VQ-VAE too: its nearest-code lookup is an ArgMin and a Gather); a conditional
model, whose decoder also takes y, decodes on the server, as every model does for every other tab.

Weights that float16 holds exactly (the shipped safetensors store float16) are stored as float16 and cast to float32
inside the graph: half the bytes, and the page computes with exactly the float32 weights the server loads. Exporting needs the `onnx` package (requirements-dev.txt);
running the app does not.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import warnings
from pathlib import Path

import torch
from torch import nn

from .storage import WEIGHTS_NAME

DECODER_NAME = "decoder.onnx"
RECORD_NAME = "decoder.json"
OPSET = 17  # onnxruntime-web 1.30 runs every op the decoders use at this opset
TOLERANCE = 1e-4  # largest difference from torch, in [0, 1] pixel units, that an export may show (measured: < 1e-6)


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class _Decode(nn.Module):
    """z [N, D] -> images [N, C, S, S] in [0, 1]: what the server's explorer decodes, with no condition."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model.decode(z, None)


def exportable(model: nn.Module) -> str | None:
    """None if model's decoder can run in a page, else why not (one line)."""
    if not model.has_latent:
        return "it has no decoder"
    if len(model.latent_shape) != 1:
        return f"its latent is not a flat vector (shape {tuple(model.latent_shape)})"
    try:
        with torch.no_grad():
            model.decode(model.sample_latent(1, torch.Generator().manual_seed(0)), None)
    except ValueError as err:
        return f"it decodes with a condition ({err})"
    return None


def export_decoder(model: nn.Module, directory: str | Path) -> Path:
    """Write directory/decoder.onnx and decoder.json for the model saved in directory; ValueError if it cannot run in
    a page or the export differs from torch."""
    import onnx  # export time only
    from onnx import helper

    directory = Path(directory)
    why = exportable(model)
    if why:
        raise ValueError(f"{directory}: the decoder does not run in a page: {why}")
    weights = directory / WEIGHTS_NAME
    if not weights.is_file():
        raise ValueError(f"{directory} holds no {WEIGHTS_NAME}: save the model before exporting its decoder")
    was_training = model.training
    wrapper = _Decode(model).eval()  # eval: BatchNorm with running statistics, as the server decodes
    # one latent per call, the page's use: a traced graph fixes the batch size (a VQ-VAE's view to its grid does)
    z = model.sample_latent(1, torch.Generator().manual_seed(0)).float().cpu()
    buffer = io.BytesIO()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on shape checks: the graph is checked against torch below
            torch.onnx.export(wrapper, (z,), buffer, dynamo=False, opset_version=OPSET, input_names=["z"], output_names=["image"])
            expected = wrapper(z)
    finally:
        model.train(was_training)
    graph = onnx.load_from_string(buffer.getvalue())
    # float32 initialisers that float16 holds exactly (weights saved as float16) -> float16 plus a Cast back: half the
    # bytes, and the page computes with the very float32 values the server loads
    casts = []
    for tensor in graph.graph.initializer:
        values = onnx.numpy_helper.to_array(tensor)
        if tensor.data_type == onnx.TensorProto.FLOAT and (values.astype("float16").astype("float32") == values).all():
            half = onnx.numpy_helper.from_array(values.astype("float16"), tensor.name + "_f16")
            casts.append(helper.make_node("Cast", [half.name], [tensor.name], to=onnx.TensorProto.FLOAT))
            tensor.CopyFrom(half)
    for cast in reversed(casts):
        graph.graph.node.insert(0, cast)
    onnx.checker.check_model(graph)
    data = graph.SerializeToString()
    difference = _check(data, z, expected)
    (directory / DECODER_NAME).write_bytes(data)
    record = {
        "weights_sha256": sha256(weights),
        "onnx_sha256": hashlib.sha256(data).hexdigest(),
        "latent_dim": int(model.latent_shape[0]),  # the input: z [1, latent_dim]
        "image_shape": list(expected.shape[1:]),
        "opset": OPSET,
        "max_difference_from_torch": difference,
    }
    (directory / RECORD_NAME).write_text(json.dumps(record, indent=2) + "\n")
    return directory / DECODER_NAME


def _check(data: bytes, z: torch.Tensor, expected: torch.Tensor) -> float:
    """The largest difference between onnxruntime's decode and torch's; ValueError above TOLERANCE."""
    import onnxruntime  # export time only

    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    difference = float(abs(session.run(None, {"z": z.numpy()})[0] - expected.numpy()).max())
    if difference > TOLERANCE:
        raise ValueError(f"the exported decoder differs from torch by {difference:.3g} (tolerance {TOLERANCE})")
    return difference


def decoder_file(directory: str | Path) -> Path | None:
    """directory/decoder.onnx if its record names the weights now in directory, else None (not exported, or stale)."""
    directory = Path(directory)
    try:
        record = json.loads((directory / RECORD_NAME).read_text())
        fresh = record["weights_sha256"] == sha256(directory / WEIGHTS_NAME) and record["onnx_sha256"] == sha256(directory / DECODER_NAME)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return directory / DECODER_NAME if fresh else None


def main(argv: list[str] | None = None) -> None:
    from . import load

    parser = argparse.ArgumentParser(prog="python -m models.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", help="checkpoint directories")
    args = parser.parse_args(argv)
    for directory in args.checkpoints:
        model = load(directory)
        why = exportable(model)
        if why:
            print(f"{directory}: skipped: the decoder does not run in a page: {why}")
            continue
        path = export_decoder(model, directory)
        print(f"{directory}: wrote {path.name} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
