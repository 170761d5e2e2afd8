"""models/: shapes, losses, checkpoints, strict loading, and each paper's defining behaviour."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import socket
import time

import huggingface_hub.constants
import pytest
import safetensors.torch
import torch

import models
from models import Posterior, field_specs
from models.nets import feature_sizes

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: tiny models on one thread

MODEL_TYPES = [
    name for name, cls in models.MODELS.items() if issubclass(cls, models.Autoencoder) and not cls.code_levels
]  # a grid latent: test_vq.py, test_vqvae2.py


def tiny(model_type: str, **overrides) -> models.ModelConfig:
    """A config small enough for CPU tests; conditional models get 3 classes unless overridden."""
    cls = models.config_class(model_type)
    kw = dict(image_size=28, channels=1, latent_dim=4, base_width=4, max_width=8, hidden_dims=(32,))
    if "num_classes" in cls.__dataclass_fields__:
        kw["num_classes"] = 3
    if model_type == "aae":  # its classes supervise a mixture prior, one component each
        kw |= {"prior": "mixture", "components": 3}
    if model_type == "vaegan":  # an 8x8 discriminator has one conv block
        kw |= {"discriminator_width": 4, "discriminator_max_width": 8, "feature_layer": 1}
    kw.update(overrides)
    return cls(**kw)


def build(model_type: str, seed: int = 0, **overrides) -> models.HubModel:
    torch.manual_seed(seed)
    return models.MODELS[model_type](tiny(model_type, **overrides))


def labels(model, n: int, seed: int = 0) -> torch.Tensor | None:
    """y that the model accepts: None, class ids [n] or binary attributes [n, A]."""
    g = torch.Generator().manual_seed(seed)
    if model.condition_dim == 0:
        return None
    if model.config.num_classes:
        return torch.randint(0, model.config.num_classes, (n,), generator=g)
    return (torch.rand(n, model.config.num_attributes, generator=g) < 0.5).float()


def images(n: int, channels: int, size: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, channels, size, size, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------- registry and configs


def test_registry_and_config_classes():
    assert list(models.MODELS) == [*"ae aae dae cae vae cvae vaegan vqvae vqvae2 pixelcnn dcgan wgan-gp cgan infogan classifier".split()]
    assert MODEL_TYPES == ["ae", "aae", "dae", "cae", "vae", "cvae", "vaegan"]
    for model_type, cls in models.MODELS.items():
        config_cls = models.config_class(model_type)
        assert cls.config_class is config_cls and config_cls().model_type == model_type
        for f in dataclasses.fields(config_cls):  # argparse-ready: every field has help text
            assert f.metadata.get("help"), f"{config_cls.__name__}.{f.name} has no help"
        if issubclass(config_cls, models.ModelConfig):  # image models; a prior's config describes a code grid
            specs = {spec["name"]: spec for spec in field_specs(config_cls)}
            assert specs["latent_dim"]["type"] is int and specs["hidden_dims"]["type"] == tuple[int, ...]
            assert specs["activation"]["choices"] == ("relu", "leaky_relu", "silu", "gelu")
    with pytest.raises(
        ValueError,
        match="unknown model_type 'gan'.*accepted: ae, aae, dae, cae, vae, cvae, vaegan, vqvae, vqvae2, pixelcnn, dcgan, wgan-gp, cgan, infogan, classifier",
    ):
        models.config_class("gan")


def test_config_validation():
    with pytest.raises(ValueError, match="'latent_dim' must be int"):
        models.VAEConfig(latent_dim="8")
    with pytest.raises(ValueError, match="'activation' must be one of"):
        models.AEConfig(activation="tanhh")
    with pytest.raises(ValueError, match="model_type 'ae', got 'vae'"):
        models.AEConfig(model_type="vae")
    with pytest.raises(ValueError, match="linear=True needs recon_loss='mse'"):
        models.AEConfig(linear=True)
    with pytest.raises(ValueError, match="leave beta = 1"):
        models.VAEConfig(gamma=1000.0, beta=4.0)
    with pytest.raises(ValueError, match="exactly one of"):
        models.CVAEConfig(num_classes=10, num_attributes=5)
    with pytest.raises(ValueError, match="condition_names has 2 names for 3"):
        models.CVAEConfig(num_classes=3, condition_names=("a", "b"))
    with pytest.raises(TypeError, match="takes a VAEConfig"):
        models.VAE(models.AEConfig())
    assert models.VAEConfig(beta=4).beta == 4.0 and isinstance(models.VAEConfig(beta=4).beta, float)
    assert models.AEConfig(hidden_dims=[8, 4]).hidden_dims == (8, 4)


# ----------------------------------------------------------------------------- shapes and losses


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_shapes_and_losses(model_type, size, channels):
    model = build(model_type, image_size=size, channels=channels)
    n, d = 3, model.config.latent_dim
    x, y = images(n, channels, size), labels(model, n)
    posterior = model.encode(x, y)
    assert posterior.mean.shape == (n, d) and model.latent_shape == (d,)
    assert posterior.deterministic == (model_type in ("ae", "aae", "dae", "cae"))
    z = model.sample_latent(n, generator=torch.Generator().manual_seed(0), temperature=0.5)
    assert z.shape == (n, d)
    out = model.decode(z, y)
    assert out.shape == (n, channels, size, size) and out.dtype == torch.float32
    assert 0 <= out.min() and out.max() <= 1
    assert model.reconstruct(x, y).shape == x.shape
    parts = model.loss(x, y, step=5, generator=torch.Generator().manual_seed(0))
    assert parts["loss"].requires_grad and parts["loss"].ndim == 0
    for name, value in parts.items():
        assert torch.isfinite(value), name
        assert name == "loss" or not value.requires_grad, f"{name} is not detached"


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_mlp_on_tiny_images(model_type):
    model = build(model_type, image_size=8, mlp=True, hidden_dims=(16, 8))
    x, y = images(4, 1, 8), labels(model, 4)
    assert model.reconstruct(x, y).shape == x.shape
    assert torch.isfinite(model.loss(x, y, step=0)["loss"])


@pytest.mark.parametrize("size", [8, 28, 32, 64, 128])
def test_conv_depth_follows_image_size(size):
    sizes = feature_sizes(size)
    assert sizes[0] == size and sizes[-1] <= 4 and all(b == math.ceil(a / 2) for a, b in zip(sizes, sizes[1:]))
    model = build("ae", image_size=size, channels=3)
    strided = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Conv2d) and m.stride == (2, 2)]
    assert len(strided) == len(sizes) - 1
    assert model.decode(torch.zeros(2, 4)).shape == (2, 3, size, size)


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_loss_falls(model_type):
    model = build(model_type, image_size=8, mlp=True)
    x, y = _bars(16), labels(model, 16)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for step in range(30):
        parts = model.loss(x, y, step=step, generator=torch.Generator().manual_seed(step))
        opt.zero_grad()
        parts["loss"].backward()
        opt.step()
        losses.append(parts["loss"].item())
    assert sum(losses[-5:]) < 0.9 * sum(losses[:5])


def test_wrong_inputs_give_clear_errors():
    model = build("vae", image_size=28)
    with pytest.raises(ValueError, match=r"expects float images \[N, 1, 28, 28\]"):
        model.encode(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match="float images"):
        model.encode(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"expects latents \[N, 4\]"):
        model.decode(torch.zeros(2, 5))


def test_posterior():
    mean, logvar = torch.randn(5, 3), torch.randn(5, 3)
    q = Posterior(mean, logvar)
    reference = torch.distributions.kl_divergence(
        torch.distributions.Normal(mean, (0.5 * logvar).exp()), torch.distributions.Normal(0.0, 1.0)
    )
    torch.testing.assert_close(q.kl(), reference)
    a, b = q.sample(torch.Generator().manual_seed(1)), q.sample(torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, q.mode())
    point = Posterior(mean)
    assert torch.equal(point.sample(), mean) and point.logvar is None
    with pytest.raises(ValueError, match="no KL"):
        point.kl()


# ----------------------------------------------------------------------------- checkpoints


def _assert_identical(a, b, model_type):
    assert type(a) is type(b) and a.config == b.config
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    x, y = images(2, a.config.channels, a.config.image_size), labels(a, 2)
    z = torch.randn(2, a.config.latent_dim, generator=torch.Generator().manual_seed(0))
    a.eval()
    with torch.no_grad():
        assert torch.equal(a.encode(x, y).mean, b.encode(x, y).mean)
        assert torch.equal(a.decode(z, y), b.decode(z, y))


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_save_load_bit_identical(model_type, tmp_path):
    model = build(model_type, channels=3, image_size=32)
    model.save(tmp_path / "ckpt", card="PSNR 31.2 dB on the test split")
    files = {p.name for p in (tmp_path / "ckpt").iterdir()}
    assert files == {"config.json", "model.safetensors", "README.md"}
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert config["model_type"] == model_type and config == json.loads(json.dumps(model.config.to_dict()))
    card = (tmp_path / "ckpt" / "README.md").read_text()
    assert "PSNR 31.2 dB" in card and "library_name: latent-lab" in card
    loaded = models.load(tmp_path / "ckpt")
    assert not loaded.training
    _assert_identical(model, loaded, model_type)
    again = type(model).from_pretrained(tmp_path / "ckpt")  # the class's own entry point agrees
    _assert_identical(model, again, model_type)


@pytest.fixture
def saved(tmp_path):
    model = build("vae")
    path = tmp_path / "vae"
    model.save(path)
    return path


def _edit_config(path, **changes):
    config = json.loads((path / "config.json").read_text())
    config.update(changes)
    (path / "config.json").write_text(json.dumps(config))


def _edit_weights(path, edit):
    state = safetensors.torch.load_file(path / "model.safetensors")
    edit(state)
    safetensors.torch.save_file(state, path / "model.safetensors")


def test_load_refuses_unknown_model_type(saved):
    _edit_config(saved, model_type="gan")
    with pytest.raises(
        ValueError,
        match=r"config.json: unknown model_type 'gan'; accepted: ae, aae, dae, cae, vae, cvae, vaegan, vqvae, vqvae2, pixelcnn, dcgan, wgan-gp, cgan, infogan, classifier",
    ):
        models.load(saved)


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", r"config.json: not valid JSON"),
        ("[1, 2]", r"config.json: expected a JSON object"),
        ('{"image_size": 28}', r"config.json: missing or non-string 'model_type'"),
    ],
)
def test_load_refuses_malformed_json(saved, text, message):
    (saved / "config.json").write_text(text)
    with pytest.raises(ValueError, match=message):
        models.load(saved)


def test_load_refuses_unknown_field(saved):
    _edit_config(saved, latent_size=8)
    with pytest.raises(
        ValueError, match=r"config.json: unknown field\(s\) 'latent_size' for model_type 'vae'; accepted fields: .*latent_dim"
    ):
        models.load(saved)


@pytest.mark.parametrize("field, value", [("latent_dim", "4"), ("mlp", 1), ("beta", None), ("hidden_dims", 32), ("likelihood", "poisson")])
def test_load_refuses_wrong_type(saved, field, value):
    _edit_config(saved, **{field: value})
    with pytest.raises(ValueError, match=rf"config.json: field '{field}' must be"):
        models.load(saved)


def test_load_refuses_missing_tensor(saved):
    _edit_weights(saved, lambda s: s.pop("decoder.fc.bias"))
    with pytest.raises(ValueError, match=r"model.safetensors: does not match VAE .* missing tensor\(s\): decoder.fc.bias"):
        models.load(saved)


def test_load_refuses_misshaped_and_unexpected_tensors(saved):
    def edit(state):
        state["encoder.head.weight"] = torch.zeros(3, 3)
        state["extra"] = torch.zeros(1)

    _edit_weights(saved, edit)
    with pytest.raises(
        ValueError, match=r"unexpected tensor\(s\): extra; mis-shaped tensor\(s\): encoder.head.weight \(file \[3, 3\], model \[8, "
    ):
        models.load(saved)


def test_load_refuses_shape_changing_config(saved):
    _edit_config(saved, latent_dim=5)  # a valid config that does not fit the weights
    with pytest.raises(ValueError, match="mis-shaped tensor"):
        models.load(saved)


def test_load_refuses_missing_or_corrupt_files(saved, tmp_path):
    (saved / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="model.safetensors: not a readable safetensors file"):
        models.load(saved)
    (saved / "model.safetensors").unlink()
    with pytest.raises(ValueError, match="model.safetensors not found"):
        models.load(saved)
    with pytest.raises(ValueError, match="no/such/dir: no such directory"):
        models.load(tmp_path / "no" / "such" / "dir")


def test_class_entry_point_checks_model_type(saved):
    with pytest.raises(ValueError, match="model_type is 'vae' but AE loads 'ae'; use models.load"):
        models.AE.from_pretrained(saved)
    with pytest.raises(ValueError, match="strict=True only"):
        models.VAE.from_pretrained(saved, strict=False)


def _fake_hub_cache(cache, repo_id, checkpoint, sha="0123456789abcdef0123456789abcdef01234567"):
    """The layout huggingface_hub's cache uses: models--owner--name/{refs/main, snapshots/<sha>/...}."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    shutil.copytree(checkpoint, repo / "snapshots" / sha)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(sha)


def test_load_hub_repo_id_from_local_cache(saved, tmp_path, monkeypatch):
    _fake_hub_cache(tmp_path / "hub", "latent-lab/tiny-vae", saved)
    original = models.load(saved)
    # explicit cache_dir, never touching the network
    model = models.load("latent-lab/tiny-vae", cache_dir=tmp_path / "hub", local_files_only=True)
    _assert_identical(original, model, "vae")
    # default cache location, offline mode (as HF_HUB_CACHE=... HF_HUB_OFFLINE=1 would set)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    _assert_identical(original, models.load("latent-lab/tiny-vae"), "vae")
    with pytest.raises(
        ValueError, match=r"'latent-lab/absent' is neither a local checkpoint directory \(no such directory\) nor a Hub model repo"
    ):
        models.load("latent-lab/absent", local_files_only=True)


def test_a_missing_path_is_never_looked_up_on_the_hub(tmp_path):
    for missing in (str(tmp_path / "absent"), "./runs/absent", "a/b/c", "~/x", "not a repo"):
        with pytest.raises(ValueError, match="no such directory"):
            models.load(missing)


def test_an_unreachable_hub_fails_within_seconds(monkeypatch):
    """A Hub that accepts the connection and never answers (a dead proxy): the load gives up after HUB_TIMEOUT
    seconds with one clear error, instead of huggingface_hub's retries."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError, match="neither a local checkpoint directory .* nor a Hub model repo"):
            models.load("latent-lab/unreachable")
    finally:
        server.close()
    assert time.perf_counter() - start < 3


def test_a_config_too_large_is_refused_before_allocating(saved, tmp_path):
    shutil.copytree(saved, tmp_path / "huge")
    config = json.loads((tmp_path / "huge" / "config.json").read_text())
    config |= {"base_width": 65536, "max_width": 65536}
    (tmp_path / "huge" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"describes a model of [\d,]+ parameters; Latent Lab loads up to 100,000,000"):
        models.load(tmp_path / "huge")


# ----------------------------------------------------------------------------- AE: linear AE learns PCA


def test_linear_autoencoder_spans_pca_subspace():
    """Baldi & Hornik 1989: on centred data the linear AE's optimum spans the top-k principal subspace."""
    from scipy.linalg import subspace_angles
    from sklearn.decomposition import PCA

    g = torch.Generator().manual_seed(0)
    n, d, k = 256, 64, 3
    basis = torch.linalg.qr(torch.randn(d, k, generator=g))[0]  # [64, 3] orthonormal
    codes = torch.randn(n, k, generator=g) * torch.tensor([1.0, 0.8, 0.6])
    data = (codes @ basis.T + 0.02 * torch.randn(n, d, generator=g)).reshape(n, 1, 8, 8)  # rank 3 + noise

    torch.manual_seed(0)
    model = models.AE(models.AEConfig(image_size=8, latent_dim=k, mlp=True, hidden_dims=(), linear=True, recon_loss="mse"))
    opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    for _ in range(300):
        opt.zero_grad()
        model.loss(data)["loss"].backward()
        opt.step()

    # the decoder is affine, so its columns are decode(e_i) - decode(0)
    with torch.no_grad():
        z = torch.cat([torch.zeros(1, k), torch.eye(k)])
        out = model.decode_logits(z).reshape(k + 1, d)
    columns = (out[1:] - out[:1]).T.numpy()  # [64, 3]
    pca = PCA(n_components=k).fit(data.reshape(n, d).numpy())
    angles = subspace_angles(columns, pca.components_.T)
    assert angles.max() < 0.05, angles


# ----------------------------------------------------------------------------- DAE


def test_dae_corruptions():
    x = torch.full((64, 3, 16, 16), 0.5)
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731

    gaussian = build("dae", corruption="gaussian", noise_level=0.1, channels=3).corrupt(x, g())
    assert 0 <= gaussian.min() and gaussian.max() <= 1
    assert abs((gaussian - x).std().item() - 0.1) < 0.01 and abs((gaussian - x).mean().item()) < 0.01

    masked = build("dae", corruption="masking", noise_level=0.3, channels=3).corrupt(x, g())
    hit = (masked != x).all(1)  # whole pixels (all channels) are destroyed together
    assert torch.equal(hit, (masked != x).any(1)) and (masked[hit.unsqueeze(1).expand_as(x)] == 0).all()
    assert abs(hit.float().mean().item() - 0.3) < 0.02

    salted = build("dae", corruption="salt_and_pepper", noise_level=0.2, channels=3).corrupt(x, g())
    hit = (salted != x).all(1)
    values = salted.permute(0, 2, 3, 1)[hit]  # [hits, 3]
    assert abs(hit.float().mean().item() - 0.2) < 0.02
    assert ((values == 0) | (values == 1)).all() and abs((values == 1).float().mean().item() - 0.5) < 0.05

    model = build("dae", corruption="masking", noise_level=0.3, channels=3)
    assert torch.equal(model.corrupt(x, g()), model.corrupt(x, g()))  # explicit randomness


def _bars(n: int, size: int = 8, seed: int = 0) -> torch.Tensor:
    """Images of one or two random horizontal/vertical bars."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, size, size)
    for i in range(n):
        for _ in range(1 + int(torch.randint(0, 2, (1,), generator=g))):
            j = int(torch.randint(0, size, (1,), generator=g))
            if torch.rand(1, generator=g) < 0.5:
                x[i, 0, j, :] = 1
            else:
                x[i, 0, :, j] = 1
    return x


def test_dae_reconstructs_clean_image_from_corrupted():
    model = build("dae", image_size=8, mlp=True, hidden_dims=(64,), latent_dim=16, corruption="masking", noise_level=0.3)
    data = _bars(256)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(300):
        opt.zero_grad()
        model.loss(data, generator=torch.Generator().manual_seed(step))["loss"].backward()
        opt.step()
    clean = _bars(64, seed=1)
    corrupted = model.corrupt(clean, torch.Generator().manual_seed(12345))
    with torch.no_grad():
        denoised = model.reconstruct(corrupted)
    assert (denoised - clean).pow(2).mean() < 0.5 * (corrupted - clean).pow(2).mean()


# ----------------------------------------------------------------------------- CAE


def test_cae_penalty_is_jacobian_norm_and_differentiable():
    model = build("cae", image_size=8, channels=1, latent_dim=3)
    x = images(2, 1, 8)
    penalty, _ = model.contractive_penalty(x)
    for i in range(2):  # brute-force Jacobian of the encoder, one image at a time
        jac = torch.autograd.functional.jacobian(lambda xi: model.encode(xi).mean, x[i : i + 1])
        torch.testing.assert_close(penalty[i], jac.pow(2).sum(), rtol=1e-4, atol=1e-6)
    assert (penalty > 0).all()
    grads = torch.autograd.grad(penalty.mean(), [p for p in model.encoder.parameters()], allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    assert all(g is None or torch.isfinite(g).all() for g in grads)

    parts = model.loss(x)
    torch.testing.assert_close(parts["loss"].detach(), parts["recon"] + 0.1 * parts["contractive"])

    hutchinson = models.CAE(dataclasses.replace(model.config, jacobian_projections=64))
    hutchinson.load_state_dict(model.state_dict())
    estimate, _ = hutchinson.contractive_penalty(x, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(estimate, penalty, rtol=0.5)


# ----------------------------------------------------------------------------- VAE


def _vae(seed=0, **overrides):
    return build("vae", seed=seed, image_size=8, mlp=True, **overrides)


def _loss(model, x, step=None):
    return model.loss(x, step=step, generator=torch.Generator().manual_seed(7))


def test_vae_capacity_schedule_and_objective():
    model = _vae(gamma=100.0, capacity_max=20.0, capacity_steps=1000)
    assert [model.capacity(s) for s in (0, 250, 500, 1000, 5000)] == [0.0, 5.0, 10.0, 20.0, 20.0]
    x = images(8, 1, 8)
    parts = _loss(model, x, step=500)
    assert parts["capacity"] == 10.0
    torch.testing.assert_close(parts["loss"].detach(), parts["recon"] + 100.0 * (parts["kl"] - 10.0).abs())
    with pytest.raises(ValueError, match="needs the training step"):
        model.loss(x)


def test_vae_beta_scales_kl():
    x = images(8, 1, 8)
    plain, beta4 = _loss(_vae(), x), _loss(_vae(beta=4.0), x)  # same seed: same weights and same z
    assert torch.equal(plain["recon"], beta4["recon"]) and torch.equal(plain["kl"], beta4["kl"]) and plain["kl"] > 0
    torch.testing.assert_close(plain["loss"].detach(), plain["recon"] + plain["kl"])
    torch.testing.assert_close(beta4["loss"].detach(), beta4["recon"] + 4.0 * beta4["kl"])


def test_vae_total_correlation_term():
    x = images(16, 1, 8)
    parts = _loss(_vae(tc_weight=6.0), x)
    assert torch.isfinite(parts["tc"])
    torch.testing.assert_close(parts["loss"].detach(), parts["recon"] + parts["kl"] + 5.0 * parts["tc"])
    assert "tc" not in _loss(_vae(), x)
    # minibatch-weighted sampling: identical factorised posteriors give TC = (D - 1) log N exactly,
    # and posteriors strung along a line (z1 = z2) give a larger TC than independent ones
    from models.vae import total_correlation

    g = torch.Generator().manual_seed(0)
    z, zeros = torch.randn(64, 2, generator=g), torch.zeros(64, 2)
    assert abs(total_correlation(z, zeros, zeros, dataset_size=1)) < 1e-5
    assert abs(total_correlation(z, zeros, zeros, dataset_size=100) - math.log(100)) < 1e-4
    m, std = 256, 0.1
    t = torch.randn(m, 1, generator=g)
    line, independent = torch.cat([t, t], 1), torch.randn(m, 2, generator=g)
    logvar = torch.full((m, 2), 2 * math.log(std))
    tc_line = total_correlation(line + std * torch.randn(m, 2, generator=g), line, logvar, m)
    tc_independent = total_correlation(independent + std * torch.randn(m, 2, generator=g), independent, logvar, m)
    assert tc_line > tc_independent + 1.0


def test_vae_likelihoods():
    x = images(8, 1, 8)
    bern, gauss = _vae(), _vae(likelihood="gaussian", likelihood_std=0.2)
    # same weights and the same z, so only the likelihood differs
    post = bern.encode(x)
    z = post.sample(torch.Generator().manual_seed(7))
    mean = bern.decode(z)
    expected_bern = -(x * mean.log() + (1 - x) * (1 - mean).log()).flatten(1).sum(1).mean()
    expected_gauss = -torch.distributions.Normal(mean, 0.2).log_prob(x).flatten(1).sum(1).mean()
    torch.testing.assert_close(_loss(bern, x)["recon"], expected_bern.detach(), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(_loss(gauss, x)["recon"], expected_gauss.detach(), rtol=1e-4, atol=1e-4)


def test_vae_learned_likelihood_std_is_a_parameter_the_loss_moves():
    """learn_likelihood_std (Dai & Wipf 2019): the std starts at likelihood_std, is exactly a Gaussian's, and a step of
    gradient descent moves it towards the reconstruction error (here: down, as the error is below the start)."""
    x = images(8, 1, 8)
    model = _vae(likelihood="gaussian", likelihood_std=0.5, learn_likelihood_std=True)
    parts = _loss(model, x)
    assert parts["likelihood_std"] == pytest.approx(0.5)
    mean = model.decode(model.encode(x).sample(torch.Generator().manual_seed(7)))
    expected = -torch.distributions.Normal(mean, 0.5).log_prob(x).flatten(1).sum(1).mean()
    torch.testing.assert_close(parts["recon"], expected.detach(), rtol=1e-4, atol=1e-4)
    parts["loss"].backward()
    assert model.log_likelihood_std.grad > 0  # the error is far below 0.5^2: a smaller std is more likely
    assert "likelihood_std" not in _loss(_vae(likelihood="gaussian"), x)
    with pytest.raises(ValueError, match="needs likelihood = 'gaussian'"):
        _vae(learn_likelihood_std=True)


# ----------------------------------------------------------------------------- CVAE


def test_cvae_condition_changes_output():
    model = build("cvae", num_classes=3, condition_names=("shirt", "shoe", "bag"))
    assert model.condition_labels == ["shirt", "shoe", "bag"]
    z = torch.randn(1, 4, generator=torch.Generator().manual_seed(0)).expand(3, 4)
    with torch.no_grad():
        out = model.decode(z, torch.tensor([0, 1, 2]))
    assert not torch.allclose(out[0], out[1]) and not torch.allclose(out[1], out[2])
    with pytest.raises(ValueError, match=r"class ids: an integer tensor \[3\] with values in \[0, 3\)"):
        model.decode(z, torch.tensor([0, 1, 3]))
    with pytest.raises(ValueError, match="class ids"):
        model.decode(z)


def test_cvae_on_attributes():
    model = build("cvae", num_classes=0, num_attributes=5)
    assert model.condition_labels[0] == "attribute 0"
    x, y = images(4, 1, 28), labels(model, 4)
    flipped = y.clone()
    flipped[:, 0] = 1 - flipped[:, 0]
    z = model.encode(x, y).mode()
    with torch.no_grad():
        assert not torch.allclose(model.decode(z, y), model.decode(z, flipped))
    assert torch.isfinite(model.loss(x, y.bool())["loss"])
    with pytest.raises(ValueError, match=r"attributes: a tensor \[4, 5\]"):
        model.encode(x, torch.zeros(4, 3))


def test_a_classifiers_confidence_is_its_class_probability_or_its_least_sure_attribute():
    """models.Classifier.confidence, what rejection sampling thresholds, on heads whose outputs are set by hand."""
    classes = models.Classifier(models.ClassifierConfig(image_size=8, channels=1, num_classes=3, base_width=4, max_width=8))
    attributes = models.Classifier(
        models.ClassifierConfig(image_size=8, channels=1, num_classes=0, num_attributes=3, base_width=4, max_width=8)
    )
    x = torch.rand(2, 1, 8, 8)
    with torch.no_grad():
        for model, bias in ((classes, [math.log(6.0), math.log(3.0), 0.0]), (attributes, [math.log(9.0), -math.log(4.0), 0.0])):
            model.head[1].weight.zero_()
            model.head[1].bias.copy_(torch.tensor(bias))
    assert torch.allclose(classes.confidence(x), torch.tensor([0.6, 0.6]))  # its top class: 6 / (6 + 3 + 1)
    assert torch.allclose(classes.confidence(x, torch.tensor([1, 2])), torch.tensor([0.3, 0.1]))
    # attributes at p = 0.9, 0.2, 0.5: sure 0.9, 0.8 and 0.5 of each; the least sure one counts
    assert torch.allclose(attributes.confidence(x), torch.tensor([0.5, 0.5]))
