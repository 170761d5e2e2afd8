"""Deterministic autoencoder: x -> z = f(x) -> x_hat = g(z), trained on reconstruction alone.

With linear=True (no activations, no normalisation, identity output) and a squared-error
loss, the optimum spans the top-`latent_dim` principal subspace of the data: the linear
autoencoder learns PCA (Baldi & Hornik 1989).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .base import Autoencoder
from .config import ModelConfig, option
from .nets import bernoulli_nll, build_decoder, build_encoder, detached, squared_error


@dataclass(frozen=True)
class AEConfig(ModelConfig):
    model_type: str = option("ae", "registry key in models.MODELS; fixed by the config class")
    linear: bool = option(
        False, "no activations, norms or output sigmoid: learns the PCA subspace (Baldi & Hornik 1989); needs recon_loss='mse'"
    )
    recon_loss: str = option(
        "bce", "per-image reconstruction loss summed over pixels: binary cross-entropy or squared error", choices=("bce", "mse")
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.linear and self.recon_loss != "mse":
            raise ValueError("linear=True needs recon_loss='mse' (a linear decoder has no sigmoid for cross-entropy)")


class AE(Autoencoder, paper_url="https://doi.org/10.1016/0893-6080(89)90014-2"):
    config_class = AEConfig
    kind = "AE"

    def __init__(self, config: AEConfig):
        super().__init__(config)
        self.encoder = build_encoder(config, out_dim=config.latent_dim, linear=config.linear)
        self.decoder = build_decoder(config, linear=config.linear)

    def output(self, logits: torch.Tensor) -> torch.Tensor:
        # a linear decoder outputs pixel values directly; clamp only for display
        return logits.clamp(0.0, 1.0) if self.config.linear else torch.sigmoid(logits)

    def recon_per_image(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction loss of each image, summed over pixels: [N]."""
        if self.config.recon_loss == "bce":
            return bernoulli_nll(logits, x)
        mean = logits if self.config.linear else torch.sigmoid(logits)  # unclamped, so the linear AE stays linear
        return squared_error(mean, x)

    def loss(self, x, y=None, step=None, generator=None) -> dict[str, torch.Tensor]:
        """Mean over the batch of the per-image reconstruction loss."""
        z = self.encode(x, y).mode()
        recon = self.recon_per_image(self.decode_logits(z, y), x).mean()
        return detached(recon, recon=recon)
