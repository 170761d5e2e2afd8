"""Denoising autoencoder (Vincent et al. 2008): reconstruct the clean x from a corrupted x~ ~ q(x~|x).

Corruption happens inside `loss` only; `encode`/`reconstruct` take the input as given, so
reconstructing a corrupted image returns the model's clean estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .ae import AE, AEConfig
from .config import option
from .nets import detached


@dataclass(frozen=True)
class DAEConfig(AEConfig):
    model_type: str = option("dae", "registry key in models.MODELS; fixed by the config class")
    corruption: str = option(
        "masking",
        "q(x~|x): masking noise (Vincent et al. 2008), additive Gaussian or salt-and-pepper (Vincent et al. 2010)",
        choices=("gaussian", "masking", "salt_and_pepper"),
    )
    noise_level: float = option(0.25, "Gaussian std, or the fraction of pixels masked / salted-and-peppered", low=0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.corruption != "gaussian" and self.noise_level > 1:  # a fraction of pixels; a Gaussian std has no cap
            raise ValueError(f"noise_level must be <= 1 for {self.corruption!r} (a fraction of pixels), got {self.noise_level}")


class DAE(AE, paper_url="https://doi.org/10.1145/1390156.1390294"):
    config_class = DAEConfig
    kind = "denoising AE"
    denoises = True

    def corrupt(self, x: torch.Tensor, generator: torch.Generator | None = None, level: float | None = None) -> torch.Tensor:
        """Draw x~ ~ q(x~|x) at the trained noise level, or at `level` (the same kind of corruption): corrupt()."""
        return corrupt(x, self.config.corruption, self.config.noise_level if level is None else level, generator)

    def loss(self, x, y=None, step=None, generator=None) -> dict[str, torch.Tensor]:
        """Reconstruction of the clean x from a fresh corruption of x (mean over the batch of per-image sums)."""
        self.check_images(x)
        z = self.encode(self.corrupt(x, generator), y).mode()
        recon = self.recon_per_image(self.decode_logits(z, y), x).mean()
        return detached(recon, recon=recon)


def corrupt(x: torch.Tensor, kind: str, level: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """x~ ~ q(x~|x) for images x in [0, 1]: additive Gaussian noise of std `level` ("gaussian"), or a fraction `level`
    of the pixels set to 0 ("masking") or to 0 or 1 at random ("salt_and_pepper"); results stay in [0, 1]. Masks act
    per pixel (all channels of a pixel together)."""

    def rand(shape):
        return torch.rand(shape, generator=generator, device=x.device, dtype=x.dtype)

    if kind == "gaussian":
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return (x + level * noise).clamp(0.0, 1.0)
    pixel_shape = (x.shape[0], 1, *x.shape[2:])  # [N, 1, H, W]: broadcast over channels
    hit = rand(pixel_shape) < level
    if kind == "masking":  # destroyed pixels set to 0
        return x.masked_fill(hit, 0.0)
    if kind != "salt_and_pepper":
        raise ValueError(f"corruption must be gaussian, masking or salt_and_pepper, got {kind!r}")
    salt = (rand(pixel_shape) < 0.5).to(x.dtype)
    return torch.where(hit, salt, x)
