"""WGAN-GP (Gulrajani et al. 2017): a critic estimates the Earth-Mover distance between the data and the
generator (Arjovsky et al. 2017), kept 1-Lipschitz by a gradient penalty instead of weight clipping.

    critic     E[D(G(z))] - E[D(x)] + lambda E[(||grad D(x_hat)||_2 - 1)^2],  x_hat on lines between x and G(z)
    generator  -E[D(G(z))]

lambda = 10 and 5 critic steps per generator step, Adam 1e-4 with betas (0, 0.9) (Gulrajani et al. 2017,
algorithm 1). The critic has no BatchNorm, which would make each score depend on the rest of the batch and
the penalty wrong; layer norm is the paper's drop-in (sec. 4). A meaningful loss that falls as samples improve
and no mode collapse are the paper's claims; the training monitor measures both.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import option
from .gan import GAN, GANConfig
from .nets import detached


@dataclass(frozen=True)
class WGANGPConfig(GANConfig):
    model_type: str = option("wgan-gp", "registry key in models.MODELS; fixed by the config class")
    discriminator_norm: str = option(
        "layer", "normalisation in the critic: never BatchNorm for a gradient penalty", choices=("layer", "none")
    )
    gp_weight: float = option(10.0, "lambda, the weight of the gradient penalty (Gulrajani et al. 2017 use 10)", low=0)
    n_critic: int = option(5, "critic steps per generator step (Gulrajani et al. 2017 use 5)", low=1)


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """E[(||grad_x critic(x_hat)||_2 - 1)^2] over x_hat = e x + (1 - e) G(z), e ~ U[0, 1] per image."""
    e = torch.rand(
        (len(real), *([1] * (real.ndim - 1))), generator=generator, device=real.device if generator is None else generator.device
    ).to(real)
    x_hat = (e * real + (1 - e) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)  # the penalty trains the critic: keep the graph
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


class WGANGP(GAN, paper_url="https://arxiv.org/abs/1704.00028"):
    config_class = WGANGPConfig
    kind = "WGAN-GP"
    adam_betas = (0.0, 0.9)
    default_lr = 1e-4

    def phases(self, step: int) -> tuple[str, ...]:
        """A critic step every step, a generator step after every n_critic-th."""
        return ("discriminator", "generator") if (step + 1) % self.config.n_critic == 0 else ("discriminator",)

    def discriminator_loss(self, x, y, generator) -> dict[str, torch.Tensor]:
        _, fake = self.fake(len(x), y, generator)
        fake = fake.detach()
        real_score, fake_score = self.discriminate(x, y)[0], self.discriminate(fake, y)[0]
        distance = real_score.mean() - fake_score.mean()  # the critic's estimate of the Earth-Mover distance
        penalty = gradient_penalty(lambda images: self.discriminate(images, y)[0], x, fake, generator)
        return detached(-distance + self.config.gp_weight * penalty, wasserstein=distance, gradient_penalty=penalty)

    def generator_loss(self, x, y, generator) -> dict[str, torch.Tensor]:
        _, fake = self.fake(len(x), y, generator)
        return detached(-self.discriminate(fake, y)[0].mean())
