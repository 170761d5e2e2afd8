"""DCGAN (Radford et al. 2016): transposed-conv generator, strided-conv discriminator, BatchNorm,
LeakyReLU 0.2, Adam 2e-4 with beta1 0.5, and the non-saturating generator loss of Goodfellow et al. 2014
(sec. 3: maximise log D(G(z)) rather than minimise log(1 - D(G(z)))).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .config import option
from .gan import GAN, GANConfig, nonsaturating_losses
from .nets import detached


@dataclass(frozen=True)
class DCGANConfig(GANConfig):
    model_type: str = option("dcgan", "registry key in models.MODELS; fixed by the config class")


class DCGAN(GAN, paper_url="https://arxiv.org/abs/1511.06434"):
    config_class = DCGANConfig
    kind = "DCGAN"

    def discriminator_loss(self, x, y, generator) -> dict[str, torch.Tensor]:
        _, fake = self.fake(len(x), y, generator)
        real_score, _ = self.discriminate(x, y)
        fake_score, _ = self.discriminate(fake.detach(), y)  # real and fake in separate batches: separate BatchNorm statistics
        loss = nonsaturating_losses(real_score, fake_score)
        return detached(loss, d_real=torch.sigmoid(real_score).mean(), d_fake=torch.sigmoid(fake_score).mean())

    def generator_loss(self, x, y, generator) -> dict[str, torch.Tensor]:
        _, fake = self.fake(len(x), y, generator)
        score, _ = self.discriminate(fake, y)
        return detached(F.softplus(-score).mean())  # -log D(G(z))
