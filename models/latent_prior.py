"""A second-stage VAE over a first-stage model's codes: the prior a VAE checkpoint carries (Dai & Wipf 2019,
"Diagnosing and Enhancing VAE Models", sec. 4).

A VAE with a sharp likelihood leaves its aggregate posterior q(z) far from N(0, I): decoded draws of N(0, I) fall in
the "holes" between the codes and come out as blends. Dai & Wipf fit a second, small VAE to codes z ~ q(z|x) of the
training images: its own latent u does fill N(0, I) (a low-dimensional manifold is not the problem there), so

    u ~ N(0, I)  ->  z = second-stage decoder mean(u)  ->  x = first-stage decoder(z)

draws what the first stage's codes look like. Both stages learn their output scale gamma (sec. 3: -log p(z|u) =
||z - mu(u)||^2 / (2 gamma^2) + D log gamma + const, with gamma a trained scalar), which lets the second stage fit the
codes tightly instead of settling for a blurred (over-regularised) fit.

The prior lives in the first stage's checkpoint directory as two extra files, nothing pickled:
    prior.json          {"config": LatentPriorConfig's fields, "training": how it was fitted (seed, epochs, seconds, ...)}
    prior.safetensors   its weights
`load_latent_prior(directory)` reads them (None when there are none; ValueError naming the file when they are damaged
or were fitted to other first-stage weights); HubModel.from_pretrained attaches it, so the model's `sample_latent`
draws from it. `python -m train prior --checkpoint DIR` fits one (train/prior.py).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .config import ACTIVATIONS, Config, option
from .pixelcnn import fingerprint
from .storage import read_json

PRIOR_CONFIG_NAME = "prior.json"
PRIOR_WEIGHTS_NAME = "prior.safetensors"
PRIOR_FILES = (PRIOR_CONFIG_NAME, PRIOR_WEIGHTS_NAME)


@dataclass(frozen=True)
class LatentPriorConfig(Config):
    model_type: str = option("second-stage-vae", "what prior.json describes; fixed by the config class")
    latent_dim: int = option(16, "size of the first stage's code z the prior draws (set from the first stage)", low=1)
    inner_dim: int = option(16, "size of the second stage's own latent u ~ N(0, I); Dai & Wipf 2019 keep it at the code size", low=1)
    hidden_dims: tuple[int, ...] = option((512, 512), "widths of the MLP layers of each side (the decoder mirrors the encoder)", low=1)
    activation: str = option("relu", "nonlinearity between layers", choices=tuple(ACTIVATIONS))
    learn_gamma: bool = option(True, "learn the output scale gamma of p(z|u) (Dai & Wipf 2019, sec. 3); off: gamma = 1")
    first_stage: str = option("", "SHA-256 of the first stage's weights it was fitted to (models.pixelcnn.fingerprint); others are refused")
    spread: float = option(
        1.0,
        "scale of u ~ N(0, spread^2 I) when sampling, fitted after training (train.prior.fit_spread) so the drawn codes spread "
        "as far as the training codes do; 1: the second stage as trained",
        above=0,
    )


def _mlp(dims: list[int], activation: str) -> nn.Sequential:
    """Linear layers through `dims`, the activation between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


class LatentPrior(nn.Module):
    """Second-stage VAE over codes z [N, latent_dim]: encoder z -> q(u|z), decoder u -> mean of p(z|u), gamma."""

    description = "a second-stage VAE over the codes (Dai & Wipf 2019)"  # what the Sample tab says the prior is

    def __init__(self, config: LatentPriorConfig):
        super().__init__()
        self.config = config
        hidden = list(config.hidden_dims)
        # the encoder outputs mean and log-variance of q(u|z), hence 2 * inner_dim
        self.encoder = _mlp([config.latent_dim, *hidden, 2 * config.inner_dim], config.activation)
        self.decoder = _mlp([config.inner_dim, *reversed(hidden), config.latent_dim], config.activation)
        # log gamma: the std of p(z|u) in every dimension, one learned scalar (a buffer of 0 when not learned)
        if config.learn_gamma:
            self.log_gamma = nn.Parameter(torch.zeros(()))
        else:
            self.register_buffer("log_gamma", torch.zeros(()))

    @property
    def gamma(self) -> float:
        return math.exp(float(self.log_gamma.detach()))

    def loss(self, z: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Negative ELBO of codes z [N, D] per code (nats), and its parts."""
        mean, logvar = self.encoder(z).chunk(2, dim=1)  # [N, 2U] -> 2 x [N, U]
        logvar = logvar.clamp(-30.0, 20.0)
        # reparameterisation u = mu + sigma * eps (Kingma & Welling 2014, sec. 2.4)
        eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        u = mean + torch.exp(0.5 * logvar) * eps
        # -log N(z; mu(u), gamma^2 I) = ||z - mu(u)||^2 / (2 gamma^2) + D log gamma + D/2 log 2 pi (Dai & Wipf 2019, eq. 2)
        d = z.shape[1]
        recon = ((z - self.decoder(u)).pow(2).sum(1) * torch.exp(-2 * self.log_gamma) / 2 + d * self.log_gamma).mean()
        recon = recon + d / 2 * math.log(2 * math.pi)
        # KL(q(u|z) || N(0, I)), Kingma & Welling 2014, appendix B
        kl = (-0.5 * (1.0 + logvar - mean.pow(2) - logvar.exp())).sum(1).mean()
        return {"loss": recon + kl, "recon": recon.detach(), "kl": kl.detach(), "gamma": torch.exp(self.log_gamma).detach()}

    @torch.no_grad()
    def sample(
        self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0, spread: float | None = None
    ) -> torch.Tensor:
        """n codes [n, latent_dim] from the second stage's model: u ~ N(0, (temperature * spread)^2 I), then z ~ p(z|u) =
        N(mean(u), (temperature * gamma)^2 I). spread None: the config's, fitted so the codes drawn spread as far as the
        training codes (1: u ~ N(0, I), the second stage as trained). The temperature scales both, so 0 draws the
        decoder's centre and 1 the prior."""
        device = generator.device if generator is not None else self.log_gamma.device
        scale = temperature * (self.config.spread if spread is None else spread)
        u = scale * torch.randn((n, self.config.inner_dim), generator=generator, device=device)
        eps = torch.randn((n, self.config.latent_dim), generator=generator, device=device)
        return self.decoder(u.to(self.log_gamma.device)) + temperature * self.gamma * eps.to(self.log_gamma.device)


def save_latent_prior(
    prior: LatentPrior, directory: str | os.PathLike, training: dict | None = None, dtype: torch.dtype = torch.float16
) -> None:
    """Write prior.json ({"config", "training"}) and prior.safetensors into a checkpoint directory. dtype: how the
    weights are stored (float16, as the shipped first stages: half the bytes; loading casts them back to float32)."""
    import json

    import safetensors.torch

    directory = Path(directory)
    state = {k: v.detach().cpu().to(dtype).contiguous().clone() for k, v in prior.state_dict().items()}
    safetensors.torch.save_file(state, str(directory / PRIOR_WEIGHTS_NAME), metadata={"format": "pt"})
    record = {"config": prior.config.to_dict(), "training": training or {}}
    (directory / PRIOR_CONFIG_NAME).write_text(json.dumps(record, indent=2))


def load_latent_prior(directory: str | os.PathLike, first_stage: nn.Module | None = None) -> LatentPrior | None:
    """The second-stage prior saved in a checkpoint directory, in eval mode; None when it holds neither prior file.
    ValueError, one line naming the file: one of the pair missing, unreadable JSON or weights, a config or tensors
    that do not match, or (given `first_stage`) fitted to other first-stage weights or another latent size."""
    import safetensors.torch

    from .hub import check_state_dict

    directory = Path(directory)
    config_file, weights_file = directory / PRIOR_CONFIG_NAME, directory / PRIOR_WEIGHTS_NAME
    present = [f.exists() for f in (config_file, weights_file)]
    if not any(present):
        return None
    if not all(present):
        missing, there = (weights_file, config_file) if present[0] else (config_file, weights_file)
        raise ValueError(f"{missing}: missing, though {there.name} is there; `python -m train prior --checkpoint {directory}` writes both")
    record = read_json(config_file)
    if not isinstance(record.get("config"), dict):
        raise ValueError(f'{config_file}: expected {{"config": {{...}}, "training": {{...}}}} as `python -m train prior` writes it')
    config = LatentPriorConfig.from_dict(record["config"], source=str(config_file))
    if first_stage is not None:
        size = tuple(getattr(first_stage, "latent_shape", ()))
        if size != (config.latent_dim,):
            raise ValueError(f"{config_file}: a prior over codes of size {config.latent_dim}; the model's latent is {list(size)}")
        if config.first_stage != fingerprint(first_stage):
            raise ValueError(
                f"{config_file}: fitted to other weights than this checkpoint's (first_stage SHA-256 differs); "
                f"`python -m train prior --checkpoint {directory}` fits it again"
            )
    prior = LatentPrior(config)
    try:
        state = safetensors.torch.load_file(str(weights_file))
    except Exception as e:  # safetensors raises its own error type for corrupt headers
        raise ValueError(f"{weights_file}: not a readable safetensors file ({' '.join(str(e).split())})") from None
    check_state_dict(prior, state, str(weights_file))
    if any(v.is_floating_point() and not torch.isfinite(v).all() for v in state.values()):
        raise ValueError(f"{weights_file}: holds NaN or infinite values")
    try:
        prior.load_state_dict(state, strict=True)
    except RuntimeError as e:  # names and shapes match, the dtype does not
        raise ValueError(f"{weights_file}: {' '.join(str(e).split())}") from None
    return prior.eval()


def training_record(directory: str | os.PathLike) -> dict:
    """prior.json's "training" object ({} when there is none)."""
    file = Path(directory) / PRIOR_CONFIG_NAME
    return read_json(file).get("training", {}) if file.exists() else {}
