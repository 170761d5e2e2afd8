"""Variational autoencoder (Kingma & Welling 2014) with the beta-VAE family of objectives.

    plain / beta-VAE     loss = recon + beta * KL                      (Higgins et al. 2017)
    capacity annealing   loss = recon + gamma * |KL - C(step)|         (Burgess et al. 2018)
    beta-TCVAE           loss = recon + beta * KL + (tc_weight - beta) * TC   (Chen et al. 2018)

recon = -log p(x|z) summed over the pixels of each image (not averaged per pixel), and
KL = KL(q(z|x) || N(0, I)) summed over latent dims, both averaged over the batch, so beta,
gamma and C (in nats) mean what the papers mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .base import Autoencoder
from .config import ModelConfig, option
from .nets import Posterior, bernoulli_nll, build_decoder, build_encoder, detached, gaussian_log_density, gaussian_nll


@dataclass(frozen=True)
class VAEConfig(ModelConfig):
    model_type: str = option("vae", "registry key in models.MODELS; fixed by the config class")
    likelihood: str = option(
        "bernoulli", "decoder likelihood p(x|z): Bernoulli (cross-entropy) or Gaussian with fixed std", choices=("bernoulli", "gaussian")
    )
    likelihood_std: float = option(0.1, "std of the Gaussian likelihood (gaussian only); its start when learned", above=0)
    learn_likelihood_std: bool = option(
        False,
        "learn the Gaussian likelihood's std, one scalar (Dai & Wipf 2019, sec. 3): it falls towards the reconstruction error and "
        "the unused latent dims fall onto the prior",
    )
    beta: float = option(1.0, "weight on KL(q(z|x) || p(z)); > 1 is the beta-VAE (Higgins et al. 2017)", low=0)
    gamma: float = option(0.0, "> 0: capacity objective gamma * |KL - C| replaces beta * KL (Burgess et al. 2018 used 1000)", low=0)
    capacity_max: float = option(25.0, "final KL capacity C in nats (Burgess et al. 2018)", low=0)
    capacity_steps: int = option(100_000, "steps over which C rises linearly from 0 to capacity_max (Burgess et al. 2018)", above=0)
    tc_weight: float = option(
        0.0, "> 0: beta-TCVAE weight on the total correlation of q(z), estimated by minibatch-weighted sampling (Chen et al. 2018)", low=0
    )
    tc_dataset_size: int = option(
        60_000, "N in the minibatch-weighted sampling estimator; shifts the TC value by a constant, not its gradient", above=0
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.gamma > 0 and (self.beta != 1.0 or self.tc_weight > 0):
            raise ValueError("capacity annealing (gamma > 0) replaces beta * KL: leave beta = 1 and tc_weight = 0")
        if self.learn_likelihood_std and self.likelihood != "gaussian":
            raise ValueError("learn_likelihood_std needs likelihood = 'gaussian'")


class VAE(Autoencoder, paper_url="https://arxiv.org/abs/1312.6114"):
    config_class = VAEConfig
    kind = "VAE"
    prior = "kl"

    def __init__(self, config: VAEConfig):
        super().__init__(config)
        # the encoder outputs mean and log-variance of q(z|x), hence 2 * latent_dim
        self.encoder = build_encoder(config, out_dim=2 * config.latent_dim, cond_dim=self.condition_dim)
        self.decoder = build_decoder(config, cond_dim=self.condition_dim)
        if config.learn_likelihood_std:
            self.log_likelihood_std = nn.Parameter(torch.tensor(math.log(config.likelihood_std)))

    @property
    def likelihood_std(self) -> torch.Tensor | float:
        """The Gaussian likelihood's std: the learned scalar, or the config's fixed value."""
        return self.log_likelihood_std.exp() if self.config.learn_likelihood_std else self.config.likelihood_std

    def posterior(self, h: torch.Tensor) -> Posterior:
        mean, logvar = h.chunk(2, dim=1)  # [N, 2D] -> 2 x [N, D]
        return Posterior(mean, logvar)

    def recon_per_image(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """-log p(x|z) of each image, summed over pixels: [N]."""
        if self.config.likelihood == "bernoulli":
            return bernoulli_nll(logits, x)
        return gaussian_nll(torch.sigmoid(logits), x, self.likelihood_std)

    def capacity(self, step: int) -> float:
        """C(step): linear from 0 to capacity_max over capacity_steps, then constant (Burgess et al. 2018)."""
        if step is None or step < 0:
            raise ValueError(f"capacity annealing (gamma > 0) needs the training step (an int >= 0), got {step!r}")
        return self.config.capacity_max * min(1.0, step / self.config.capacity_steps)

    def loss(self, x, y=None, step=None, generator=None) -> dict[str, torch.Tensor]:
        cfg = self.config
        posterior = self.encode(x, y)
        z = posterior.sample(generator)
        recon = self.recon_per_image(self.decode_logits(z, y), x).mean()
        kl = posterior.kl().sum(1).mean()
        parts = {"recon": recon, "kl": kl}
        if cfg.learn_likelihood_std:
            parts["likelihood_std"] = self.likelihood_std
        if cfg.gamma > 0:
            capacity = self.capacity(step)
            loss = recon + cfg.gamma * (kl - capacity).abs()
            parts["capacity"] = capacity
        else:
            loss = recon + cfg.beta * kl
        if cfg.tc_weight > 0:
            # KL averaged over data = MI + TC + dimension-wise KL (Chen et al. 2018); re-weight the TC part
            tc = total_correlation(z, posterior.mean, posterior.logvar, cfg.tc_dataset_size)
            loss = loss + (cfg.tc_weight - cfg.beta) * tc
            parts["tc"] = tc
        return detached(loss, **parts)


def total_correlation(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor, dataset_size: int) -> torch.Tensor:
    """TC = E_q(z)[log q(z) - sum_d log q(z_d)] by minibatch-weighted sampling (Chen et al. 2018):
    log q(z_i) ~= logsumexp_j log q(z_i | x_j) - log(N M), for a batch of M samples from a dataset of N."""
    m = z.shape[0]
    log_qz_given_x = gaussian_log_density(z[:, None, :], mean[None, :, :], logvar[None, :, :])  # [M, M, D]: sample i, datum j, dim d
    log_nm = math.log(dataset_size * m)
    log_qz = torch.logsumexp(log_qz_given_x.sum(2), dim=1) - log_nm  # [M] joint
    log_qz_product = (torch.logsumexp(log_qz_given_x, dim=1) - log_nm).sum(1)  # [M] product of marginals
    return (log_qz - log_qz_product).mean()
