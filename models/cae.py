"""Contractive autoencoder (Rifai et al. 2011): reconstruction + lambda * ||J_f(x)||_F^2.

J_f(x) = dz/dx is the Jacobian of the encoder at x; penalising its Frobenius norm makes
the code locally insensitive to input directions the data does not vary along.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .ae import AE, AEConfig
from .config import option
from .nets import detached


@dataclass(frozen=True)
class CAEConfig(AEConfig):
    model_type: str = option("cae", "registry key in models.MODELS; fixed by the config class")
    contractive_weight: float = option(0.1, "lambda on the squared Frobenius norm of the encoder Jacobian (Rifai et al. 2011)", low=0)
    jacobian_projections: int = option(
        0, "0: exact ||J||_F^2 (latent_dim backward passes); k > 0: Hutchinson estimate from k random projections", low=0
    )


class CAE(AE, paper_url="https://icml.cc/2011/papers/455_icmlpaper.pdf"):
    config_class = CAEConfig
    kind = "contractive AE"

    def contractive_penalty(self, x: torch.Tensor, y=None, generator: torch.Generator | None = None):
        """(||J_f(x)||_F^2 per image [N], code z [N, D]); differentiable w.r.t. the parameters."""
        with torch.enable_grad():  # works under torch.no_grad() too (evaluation)
            x = x.detach().requires_grad_(True)
            z = self.encode(x, y).mode()
            k = self.config.jacobian_projections
            penalty = x.new_zeros(x.shape[0])
            # images are independent (no batch statistics), so d(sum_n v_n . z_n)/dx_n = J(x_n)^T v_n per image
            if k == 0:
                for d in range(z.shape[1]):  # rows of J: ||J||_F^2 = sum_d ||dz_d/dx||^2
                    (g,) = torch.autograd.grad(z[:, d].sum(), x, create_graph=True)
                    penalty = penalty + g.pow(2).flatten(1).sum(1)
            else:
                for _ in range(k):  # Hutchinson: E_v ||J^T v||^2 = ||J||_F^2 for v ~ N(0, I)
                    v = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
                    (g,) = torch.autograd.grad((z * v).sum(), x, create_graph=True)
                    penalty = penalty + g.pow(2).flatten(1).sum(1) / k
        return penalty, z

    def loss(self, x, y=None, step=None, generator=None) -> dict[str, torch.Tensor]:
        self.check_images(x)
        penalty, z = self.contractive_penalty(x, y, generator)  # one encoder pass serves both terms
        recon = self.recon_per_image(self.decode_logits(z, y), x).mean()
        contractive = penalty.mean()
        loss = recon + self.config.contractive_weight * contractive
        return detached(loss, recon=recon, contractive=contractive)
