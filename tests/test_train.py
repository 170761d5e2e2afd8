"""The training CLI and loop: flags, errors, loss falls, resume after a kill, DDP, stats."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import conftest
import pytest
import torch
from safetensors.torch import load_file

import models
from latent import load_stats
from models import field_specs
from train.config import TrainConfig
from train.loop import NonFiniteLoss, train

ROOT = Path(__file__).resolve().parents[1]
TINY = {"mlp": True, "hidden_dims": (64,), "latent_dim": 4}  # 16x16 digits through a small MLP: fast on CPU


def tiny_run(out, **overrides) -> TrainConfig:
    return conftest.tiny_run(out, **{"epochs": 2, "log_every": 1, "stats_images": 300, **overrides})


def cli(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "train", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=timeout)


def exits(capsys, *args) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `python -m train ARGS` run in this process, for arguments that end it before any
    work starts: a help, or refused ones (an interpreter per case cost 5 s of the quick suite each)."""
    from train.cli import main

    try:
        main(list(args))
        code = 0
    except SystemExit as exit_:
        code = exit_.code or 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def metrics(out):
    return [json.loads(line) for line in (Path(out) / "metrics.jsonl").read_text().splitlines()]


def test_help_lists_models_and_every_field(capsys):
    code, out, _ = exits(capsys, "--help")
    assert code == 0 and "ae, dae, cae, vae, cvae" in out
    _, out, _ = exits(capsys, "vae", "--help")
    text = " ".join(out.split())
    for spec in field_specs(models.config_class("vae")):
        if spec["name"] != "model_type":
            assert "--" + spec["name"].replace("_", "-") in text and spec["help"][:30] in text, spec["name"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["vae", "--out", "x", "--lr", "fast"], "argument --lr: invalid float value: 'fast'"),
        (["vae", "--out", "x", "--latent-size", "3"], "unrecognized arguments: --latent-size"),
        (["gan", "--out", "x"], "unknown model 'gan'"),
        (["vae", "--data", "imagenet", "--out", "x"], "unknown dataset 'imagenet'"),
        (["--preset", "nope"], "unknown preset 'nope'"),
        (["vae", "--data", "digits", "--out", "x", "--activation", "tanh"], "invalid choice: 'tanh'"),
    ],
)
def test_bad_flags_give_one_line_errors(capsys, args, message):
    code, _, stderr = exits(capsys, *args)
    assert code == 2 and message in stderr and len(stderr.strip().splitlines()) == 1, stderr


def test_bad_config_value_is_reported_without_traceback(tmp_path, capsys):
    code, _, stderr = exits(capsys, "vae", "--data", "digits", "--out", str(tmp_path / "x"), "--beta", "-1")
    assert code == 1 and "beta" in stderr and "Traceback" not in stderr


def test_loss_falls_and_run_dir_is_complete(tmp_path):
    out = train("vae", TINY, tiny_run(tmp_path / "run", epochs=3))
    losses = [m["loss"] for m in metrics(out) if "loss" in m]
    assert len(losses) >= 50 and sum(losses[-10:]) / 10 < 0.8 * sum(losses[:10]) / 10
    for name in ("config.json", "model.safetensors", "README.md", "stats.safetensors", "samples.png", "training.json"):
        assert (out / name).exists(), name
    assert not (out / "resume.pt").exists()  # a finished run leaves no resume state
    model = models.load(out)
    assert model.config.image_size == 16 and model.config.channels == 1
    stats, meta = load_stats(out / "stats.safetensors")
    assert stats["p01"].shape == (4,) and (stats["p01"] <= stats["p99"]).all()
    assert stats["kl"].shape == (4,) and stats["class_vectors"].shape == (10, 4)
    assert meta["label_names"] == [str(i) for i in range(10)] and meta["num_images"] == "300"
    n_val = round(0.05 * 1438)  # the held-out slice of digits' training split
    assert stats["heldout_latents"].shape == (n_val, 4) and stats["heldout_labels"].shape == (n_val,)
    assert stats["examples"].shape == (16, 16, 16, 1) and stats["examples"].dtype == torch.uint8
    assert "digits" in (out / "README.md").read_text()


def test_held_out_rows_spread_over_a_dataset_stored_in_order():
    """dSprites runs through its factor grid shape first: the first 1,000 sorted validation indices were all squares."""
    import numpy as np

    from train.artifacts import spread
    from train.config import TrainConfig
    from train.inputs import split

    shapes = np.repeat(np.arange(3), 20_000)  # like dSprites: every square, then every ellipse, then every heart
    _, val = split(len(shapes), TrainConfig(out="unused", val_fraction=0.05))
    held = spread(val, 1000)
    assert len(set(held)) == 1000 and set(held) <= set(val)
    assert np.bincount(shapes[held], minlength=3).min() > 300  # each shape about a third (the first 1,000 of val: one shape)
    assert np.array_equal(spread(val[:10], 1000), val[:10])  # a small held-out set is kept whole


@pytest.mark.slow  # tens of seconds (training runs, subprocesses): with --all, as CI runs
def test_killed_run_resumes_to_the_same_weights(tmp_path):
    reference = train("vae", TINY, tiny_run(tmp_path / "reference", epochs=3, checkpoint_every=7))
    killed = tmp_path / "killed"
    args = [
        *"vae --data digits --data-size 16 --mlp --hidden-dims 64 --latent-dim 4 --epochs 3 --batch-size 32 --threads 1 --log-every 1 --sample-every 0 --stats-images 300 --checkpoint-every 7 --out".split(),
        str(killed),
    ]
    proc = subprocess.Popen([sys.executable, "-m", "train", *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:  # kill it mid-run, at whatever instant the poll lands
        if (killed / "metrics.jsonl").exists() and len((killed / "metrics.jsonl").read_text().splitlines()) >= 60:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (killed / "resume.pt").exists()
    refused = cli(*args)
    assert refused.returncode == 1 and "--resume" in refused.stderr
    resumed = train("vae", TINY, tiny_run(killed, epochs=3, checkpoint_every=7, resume=True))
    a, b = load_file(reference / "model.safetensors"), load_file(resumed / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    steps = [m["step"] for m in metrics(resumed) if "loss" in m]
    assert steps == sorted(set(steps))  # no step logged twice after the replay


def test_non_finite_loss_stops_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    class Exploding(models.VAE):
        def loss(self, x, y=None, step=None, generator=None):
            parts = super().loss(x, y, step=step, generator=generator)
            if self.training and step >= 50:
                parts["loss"] = parts["loss"] * float("nan")
            return parts

    monkeypatch.setitem(models.MODELS, "vae", Exploding)
    out = tmp_path / "run"
    with pytest.raises(NonFiniteLoss, match="at step 50.*last good checkpoint"):
        train("vae", TINY, tiny_run(out, epochs=3))
    assert (out / "model.safetensors").exists() and (out / "resume.pt").exists()  # epoch 1 (44 steps) survived
    assert torch.isfinite(torch.cat([v.flatten() for v in load_file(out / "model.safetensors").values()])).all()


CLI_TINY = [
    *"vae --data digits --data-size 16 --mlp --hidden-dims 64 --latent-dim 4 --batch-size 32 --threads 1 --sample-every 0 --stats-images 300".split()
]


def one_line_error(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_an_out_that_is_a_file_or_cannot_be_written_is_a_one_line_error(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    assert "is a file; name a directory" in one_line_error(cli(*CLI_TINY, "--epochs", "1", "--out", str(tmp_path / "file")))
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    read_only.chmod(0o500)
    if os.access(read_only, os.W_OK):  # root ignores permissions: /proc refuses new directories to anyone
        read_only = Path("/proc/latent-lab")
    assert "cannot write the run" in one_line_error(cli(*CLI_TINY, "--epochs", "1", "--out", str(read_only / "run")))


def test_a_full_disk_stops_with_one_line_and_the_last_checkpoint_loads_and_resumes(tmp_path, monkeypatch, capsys):
    """The disk fills up while epoch 2's checkpoint is written: one line, exit 1, epoch 1's checkpoint intact; --resume
    then finishes the run with the same weights as a run that never failed."""
    from train import cli as train_cli
    from train import loop

    reference = train("vae", TINY, tiny_run(tmp_path / "reference", epochs=2))
    saved = loop.save_model_atomic
    calls = []

    def fills_up(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device", str(tmp_path / "run" / "model.safetensors.tmp"))
        return saved(*args, **kwargs)

    monkeypatch.setattr(loop, "save_model_atomic", fills_up)
    args = [*CLI_TINY, "--epochs", "2", "--log-every", "1", "--out", str(tmp_path / "run")]
    with pytest.raises(SystemExit) as exit_:
        train_cli.main(args)
    stderr = capsys.readouterr().err  # tqdm's bars, then the error
    error = stderr.strip().splitlines()[-1]
    assert exit_.value.code == 1 and "Traceback" not in stderr and "No space left on device" in error and "kept whole" in error
    models.load(tmp_path / "run")  # epoch 1's checkpoint
    monkeypatch.setattr(loop, "save_model_atomic", saved)
    train_cli.main([*args, "--resume"])
    a, b = load_file(reference / "model.safetensors"), load_file(tmp_path / "run" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_damaged_resume_file_is_a_one_line_error(tmp_path):
    out = tmp_path / "run"
    train("vae", TINY, tiny_run(out, epochs=1))
    (out / "resume.pt").write_bytes(b"not a resume file")
    message = one_line_error(cli(*CLI_TINY, "--epochs", "2", "--resume", "--out", str(out)))
    assert "resume.pt is damaged or from another run" in message
    models.load(out)


def test_conditional_model_takes_labels_or_attributes(tmp_path):
    out = train("cvae", TINY, tiny_run(tmp_path / "labels", epochs=1))
    assert models.load(out).config.num_classes == 10
    faces = dict(
        data="faces", data_options={"n": 300, "size": 32}, condition="Smiling,Eyeglasses", epochs=1, batch_size=50, stats_images=100
    )
    out = train("cvae", TINY, tiny_run(tmp_path / "attrs", **faces))
    config = models.load(out).config
    assert config.num_attributes == 2 and config.condition_names == ("Smiling", "Eyeglasses")
    with pytest.raises(ValueError, match="no attribute 'Smile'"):
        train("cvae", TINY, tiny_run(tmp_path / "bad", **{**faces, "condition": "Smile"}))
    with pytest.raises(ValueError, match="only applies to conditional models"):
        train("vae", TINY, tiny_run(tmp_path / "bad2", condition="labels"))


@pytest.mark.slow  # tens of seconds (training runs, subprocesses): with --all, as CI runs
def test_ddp_two_cpu_processes(tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [
            sys.executable,
            *"-m torch.distributed.run --nproc_per_node=2 --master_port=29517 -m train vae --data digits --data-size 16 --mlp --hidden-dims 64 --latent-dim 4 --epochs 1 --batch-size 64 --log-every 5 --sample-every 0 --stats-images 200 --out".split(),
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    steps = [m["step"] for m in metrics(out) if "loss" in m]
    assert steps == sorted(set(steps)) and len(steps) == 1366 // 64 // 5  # rank 0 alone logs: no duplicates
    assert json.loads((out / "training.json").read_text())["processes"] == 2
    assert models.load(out).config.latent_dim == 4


def test_preset_with_overrides(tmp_path):
    out = tmp_path / "preset"
    result = cli(
        "--preset",
        "digits-vae",
        "--epochs",
        "1",
        "--data-size",
        "16",
        "--mlp",
        "--hidden-dims",
        "32",
        "--sample-every",
        "0",
        "--stats-images",
        "200",
        "--threads",
        "1",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((out / "training.json").read_text())
    assert summary["preset"] == "digits-vae" and summary["epochs"] == 1  # the flag overrides the preset's 60 epochs
    assert models.load(out).config.latent_dim == 8  # from the preset


def test_bfloat16_autocast_trains_on_the_cpu_and_the_record_pins_the_faces_version(tmp_path):
    """--precision bfloat16 (the face presets') trains on the CPU with float32 weights; training.json records the faces
    version the run used (the newest, as none was asked for), so its metrics measure it on that version later."""
    faces = dict(
        data="faces", data_options={"n": 300, "size": 32}, epochs=4, batch_size=50, stats_images=100, precision="bfloat16", lr=3e-3
    )
    out = train("vae", {"base_width": 8, "max_width": 16, "latent_dim": 8}, tiny_run(tmp_path / "bf16", **faces))
    losses = [m["loss"] for m in metrics(out) if "loss" in m]
    assert len(losses) == 20 and all(abs(v) < 1e9 for v in losses) and sum(losses[-5:]) < sum(losses[:5])
    record = json.loads((out / "training.json").read_text())
    assert record["data_options"] == {"n": 300, "size": 32, "version": 2} and record["train_config"]["precision"] == "bfloat16"
    assert "--data-version 2" in (out / "README.md").read_text()
    assert all(t.dtype == torch.float32 for t in models.load(out).state_dict().values())
    with pytest.raises(ValueError, match="--precision must be"):
        tiny_run(tmp_path / "x", precision="half")


def test_auto_precision_is_bfloat16_only_where_it_runs_natively(monkeypatch):
    """An AVX2 CPU emulates bfloat16 at about a tenth of float32's speed: auto keeps float32 there."""
    from train.loop import native_bfloat16

    for avx512_bf16, amx, expected in ((False, False, False), (True, False, True), (False, True, True)):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda v=avx512_bf16: v)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda v=amx: v)
        assert native_bfloat16(torch.device("cpu")) is expected
    assert native_bfloat16(torch.device("cuda"))
