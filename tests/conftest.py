"""Shared fixtures: tiny checkpoints trained in-process, and the explorer launched on them.

Session-scoped, so the whole suite trains its checkpoints once (a few seconds on a CPU)
and talks to one server. The app tests (test_app.py) and the browser tests
(test_browser.py) both use `app`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import types
from pathlib import Path

import pytest

# Before anything imports gradio: no usage reporting, no network, from any test.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# Gradio's uploads and outputs (server) and downloads (gradio_client) go to a directory of this run, removed at the end.
_GRADIO_TEMP = None if "GRADIO_TEMP_DIR" in os.environ else tempfile.mkdtemp(prefix="latent-lab-gradio-")
if _GRADIO_TEMP:
    os.environ["GRADIO_TEMP_DIR"] = _GRADIO_TEMP


ROOT = Path(__file__).resolve().parents[1]
TINY = {"mlp": True, "hidden_dims": (64,), "latent_dim": 4}  # 16x16 digits through a small MLP: fast on CPU
TINY_GAN = {"base_width": 8, "max_width": 16, "latent_dim": 8}


def tiny_run(out, **settings):
    """A TrainConfig for a tiny run on 16x16 digits into `out`: batches of 32, one thread, no progress grids; the
    settings override these and TrainConfig's defaults."""
    from train.config import TrainConfig

    return TrainConfig(
        **{"data": "digits", "data_options": {"size": 16}, "out": str(out), "batch_size": 32, "threads": 1, "sample_every": 0, **settings}
    )


# Checkpoint directory name -> (model type, architecture overrides, extra TrainConfig fields).
CHECKPOINTS = {
    "vae": ("vae", TINY, {}),
    "dae": ("dae", TINY, {}),
    "cvae": ("cvae", TINY, {"condition": "labels"}),
    "vae2d": ("vae", {**TINY, "latent_dim": 2}, {}),  # two dimensions: the manifold grid
    "aae": ("aae", {**TINY, "latent_dim": 2, "prior": "mixture"}, {"condition": "labels"}),  # a mixture prior supervised by the digits
    "vqvae": ("vqvae", {"latent_dim": 4, "num_codes": 16, "base_width": 8, "max_width": 16, "revive_after": 5}, {}),  # a 4x4 code grid
    # two levels of codes: a 4x4 top and an 8x8 bottom grid
    "vqvae2": ("vqvae2", {"latent_dim": 4, "num_codes": 16, "base_width": 8, "max_width": 16, "downsamples": 1, "revive_after": 5}, {}),
    # its class-conditional PixelCNN prior: served as the VQ-VAE's sampler, not as a model of its own
    "vqvae-prior": ("pixelcnn", {"vqvae": "{root}/vqvae", "width": 8, "layers": 3}, {"condition": "labels"}),
    # GANs, monitored by a tiny digits classifier trained outside the served directory
    "dcgan": ("dcgan", TINY_GAN, {"monitor_classifier": "{classifier}", "monitor_every": 20, "log_every": 10}),
    "infogan": ("infogan", {**TINY_GAN, "latent_dim": 6, "categories": 10, "continuous": 2}, {"monitor_classifier": "{classifier}"}),
}
DOOMED = "vae-copy"  # a copy of "vae" that a test deletes while the server runs


def pytest_addoption(parser):
    parser.addoption(
        "--all",
        action="store_true",
        help="also run the slow tests (marked slow: the shipped checkpoints' quality bars and the "
        "browser and API checks on shipped models), as CI does",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: measures the shipped checkpoints (or takes long); runs with --all, as CI does")


def pytest_collection_modifyitems(config, items):
    """Without --all, the slow tests are deselected (and counted as such): the default run stays within minutes."""
    if config.getoption("--all"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]


def pytest_unconfigure(config):
    if _GRADIO_TEMP:
        shutil.rmtree(_GRADIO_TEMP, ignore_errors=True)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run fastest on one thread, and do not stall when other processes share the cores
    (modules of tiny models use it: pytestmark = pytest.mark.usefixtures("one_thread"))."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session", autouse=True)
def latent_lab_cache(tmp_path_factory):
    """Generated datasets go to a temporary cache, not the user's ~/.cache (tests that need
    their own cache still set LATENT_LAB_CACHE per test, which wins)."""
    cache = tmp_path_factory.mktemp("latent-lab-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LATENT_LAB_CACHE", str(cache))
        yield cache


@pytest.fixture(scope="session")
def digits_classifier(tmp_path_factory, latent_lab_cache) -> Path:
    """A small classifier of 16x16 digits (outside the served directory): what the GANs' monitor measures with."""
    from train.loop import train

    cfg = tiny_run(tmp_path_factory.mktemp("classifier"), epochs=3, condition="labels")
    return train("classifier", {"base_width": 8, "max_width": 32, "latent_dim": 32}, cfg)


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory, latent_lab_cache, digits_classifier) -> Path:
    """A directory of tiny checkpoints on 16x16 digits, one epoch each: a VAE (latent 4), a DAE,
    a class-conditional CVAE, a 2-D VAE, a 2-D adversarial AE with a supervised mixture prior, a VQ-VAE with a class-conditional prior, a VQ-VAE-2, a DCGAN, an InfoGAN,
    and a copy of the VAE that a test may delete."""
    from train.loop import train

    root = tmp_path_factory.mktemp("checkpoints")
    classifier = digits_classifier
    for name, (model_type, fields, extra) in CHECKPOINTS.items():

        def fill(settings):
            return {k: v.format(root=root, classifier=classifier) if isinstance(v, str) else v for k, v in settings.items()}

        cfg = tiny_run(root / name, **{"epochs": 1, "log_every": 50, "stats_images": 300, **fill(extra)})
        train(model_type, fill(fields), cfg)
    shutil.copytree(root / "vae", root / DOOMED)
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(checkpoints_dir, extra=()):
    """The explorer on `checkpoints_dir` (and the `extra` directories or Hub repo ids, as --model adds them), served
    on a free local port as `python app.py` builds it.

    Yields a namespace: url, demo, catalog, checkpoints (the directory), labels (checkpoint
    directory name -> the model dropdown's label) and doomed (the name of the deletable copy).
    """
    import ui
    from ui.catalog import Catalog

    catalog = Catalog.discover(checkpoints_dir, extra=list(extra))
    demo = ui.build(catalog)
    port = free_port()
    ui.launch(demo, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    labels = {entry.key: label for label, entry in catalog.entries.items()}
    try:
        yield types.SimpleNamespace(
            url=f"http://127.0.0.1:{port}/", demo=demo, catalog=catalog, checkpoints=Path(checkpoints_dir), labels=labels, doomed=DOOMED
        )
    finally:
        demo.close()


@pytest.fixture(scope="session")
def launch_app():
    """`serve` itself, for a test that needs the explorer on other checkpoints (a context manager)."""
    return serve


@pytest.fixture(scope="session")
def app(checkpoints):
    """The explorer on the tiny checkpoints, for the whole session (see `serve`)."""
    with serve(checkpoints) as served:
        yield served
