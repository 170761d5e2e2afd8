"""Training on a full disk: one line naming the file, the previous files whole, no temporary left behind.

The disk is simulated: every write into the run's directory fails as a full disk makes it fail, through each way the
run writes (Python files, PIL, torch.save's own writer, safetensors' own writer), after writing part of the data.
"""

import builtins
import contextlib
import errno
import io
import os
from pathlib import Path

import numpy as np
import pytest
import safetensors
import safetensors.torch
import torch

import latent.stats
import models
from train.artifacts import write_png, write_text
from train.checkpoint import Progress, append_metrics, save_model_atomic, save_resume

NO_SPACE = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class _FullFile:
    """A file on a full disk: each write stores half its data, then fails with ENOSPC."""

    def __init__(self, file):
        self._file = file

    def write(self, data):
        self._file.write(data[: len(data) // 2])
        self._file.flush()
        raise NO_SPACE

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()


@contextlib.contextmanager
def full_disk(root: Path, monkeypatch):
    """Every write under `root` fails as on a full disk; reads, and files elsewhere, work."""
    root = Path(root).resolve()
    real_open, real_torch_save, real_save_file = builtins.open, torch.save, safetensors.torch.save_file

    def inside(file) -> bool:
        return isinstance(file, (str, os.PathLike)) and Path(file).resolve().is_relative_to(root)

    def fake_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        return _FullFile(f) if inside(file) and any(c in mode for c in "wax+") else f

    def fake_torch_save(obj, f, *args, **kwargs):
        if not inside(f):
            return real_torch_save(obj, f, *args, **kwargs)
        buffer = io.BytesIO()
        real_torch_save(obj, buffer, *args, **kwargs)
        Path(f).write_bytes(buffer.getvalue()[:100])  # what torch's writer leaves, and the error it raises
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534")

    def fake_save_file(tensors, filename, metadata=None):
        if not inside(filename):
            return real_save_file(tensors, filename, metadata=metadata)
        Path(filename).write_bytes(b"\0" * 100)
        raise safetensors.SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(io, "open", fake_open)  # pathlib's
    monkeypatch.setattr(torch, "save", fake_torch_save)
    monkeypatch.setattr(safetensors.torch, "save_file", fake_save_file)
    monkeypatch.setattr(latent.stats, "save_file", fake_save_file)
    try:
        yield
    finally:
        monkeypatch.undo()


def _tiny_model():
    return models.AE(models.config_class("ae")(image_size=8, latent_dim=2, mlp=True, hidden_dims=(8,)))


def _resume(out):
    model = _tiny_model()
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.rand(4, 1, 8, 8))["loss"].backward()
    optimizer.step()
    save_resume(out, model, {"model": optimizer}, Progress(step=7), rank=0, world=1)


WRITERS = {
    "resume.pt": _resume,
    "model.safetensors": lambda out: save_model_atomic(_tiny_model(), out),
    "training.json": lambda out: write_text(out / "training.json", '{"data": "digits"}'),
    "samples.png": lambda out: write_png(out / "samples.png", np.full((8, 8), 200, np.uint8)),
    "metrics.jsonl": lambda out: append_metrics(out, {"step": 8, "loss": 1.0}),
}


@pytest.mark.parametrize("name", WRITERS)
def test_full_disk_keeps_the_previous_file_and_leaves_no_temporary(tmp_path, monkeypatch, name):
    out = tmp_path / "run"
    out.mkdir()
    WRITERS[name](out)  # the previous run's file, written while there was room
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with full_disk(out, monkeypatch), pytest.raises(OSError) as raised:
        WRITERS[name](out)
    assert str(raised.value) == f"out of disk space writing {out / name} (No space left on device): free some space and rerun with --resume"
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(after) == sorted(before), "a temporary file or folder was left behind"
    assert after == before, "a file written before the disk filled was changed"


def test_full_disk_ends_the_cli_in_one_line(tmp_path, monkeypatch, capsys):
    from train.cli import main

    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.jsonl").write_text('{"step": 0, "loss": 2.0}\n')  # an earlier line: kept, with no line cut short after it
    flags = "--data digits --data-size 16 --mlp --hidden-dims 64 --latent-dim 4 --epochs 1 --threads 1 --sample-every 0 --log-every 1"
    with full_disk(out, monkeypatch), pytest.raises(SystemExit) as exit_:
        main(["vae", *flags.split(), "--out", str(out)])
    err = capsys.readouterr().err  # tqdm's bars, if any, then the error
    assert exit_.value.code == 1 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        f"python -m train vae: error: out of disk space writing {out / 'metrics.jsonl'} (No space left on device): "
        f"free some space and rerun with --resume; any checkpoint already saved in {out} is kept whole"
    )
    assert sorted(p.name for p in out.iterdir()) == ["metrics.jsonl"]
    assert (out / "metrics.jsonl").read_text() == '{"step": 0, "loss": 2.0}\n'
