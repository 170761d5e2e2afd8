"""Reconstruction and likelihood on held-out images: MSE, PSNR, the ELBO in nats, active units, which attributes the
reconstructions keep, and how far noise on the input moves the codes."""

from __future__ import annotations

import math

import numpy as np
import torch

import models
from latent import ACTIVE_KL
from models.dae import corrupt  # nats: a latent dim whose average KL exceeds this carries information


def psnr(mse: float) -> float:
    """Peak signal-to-noise ratio in dB of a mean squared error of images in [0, 1] (peak 1)."""
    return 10 * math.log10(1.0 / max(mse, 1e-12))


OUTLIER_QUANTILES = (0.5, 0.9, 0.99, 0.999)
HELD_BACK = 500  # the first images of the split are left out of the quantiles: what the app's warning is checked on


@torch.no_grad()
def error_quantiles(model: models.Encodable, ds, y: torch.Tensor | None = None, batch_size: int = 250) -> dict:
    """Quantiles of the per-image reconstruction MSE (posterior mode) over the images of `ds` after the first
    HELD_BACK (half of a smaller split): how far an image's error may go before the image is unlike the data (the
    app warns past the 99th)."""
    model.eval()
    errors, first = [], min(HELD_BACK, len(ds) // 2)
    for start in range(first, len(ds), batch_size):
        idx = np.arange(start, min(start + batch_size, len(ds)))
        x = ds.batch(idx).to(model.device)
        yb = None if y is None else y[idx].to(model.device)
        errors.append((model.decode(model.encode(x, yb).mode(), yb) - x).pow(2).flatten(1).mean(1).cpu())
    errors = torch.cat(errors).double().numpy()
    return {"images": len(errors), "first": first, "mse": {f"{q:g}": float(np.quantile(errors, q)) for q in OUTLIER_QUANTILES}}


@torch.no_grad()
def reconstruction(model: models.Encodable, ds, y: torch.Tensor | None = None, batch_size: int = 250, seed: int = 0) -> dict[str, float]:
    """Over every image of `ds` (conditions y [N, ...] for a conditional model):

    images        how many
    mse           mean squared error per pixel of decode(posterior mode), images in [0, 1]
    psnr          of that mean MSE, in dB
    and for a VAE (a model with a stochastic posterior):
    elbo          mean evidence lower bound per image in nats, E_q[log p(x|z)] - KL(q(z|x) || p(z)),
                  one posterior sample per image (fixed seed); log p(x) >= elbo
    kl            mean KL per image in nats
    active_units  latent dims with mean KL above ACTIVE_KL nats
    """
    model.eval()
    generator = torch.Generator(model.device).manual_seed(seed)
    squared, recon_nll, kl_dims = 0.0, 0.0, None
    for start in range(0, len(ds), batch_size):
        idx = np.arange(start, min(start + batch_size, len(ds)))
        x = ds.batch(idx).to(model.device)
        yb = None if y is None else y[idx].to(model.device)
        posterior = model.encode(x, yb)
        squared += (model.decode(posterior.mode(), yb) - x).pow(2).flatten(1).mean(1).sum().item()
        if not posterior.deterministic:
            z = posterior.sample(generator)
            recon_nll += model.recon_per_image(model.decode_logits(z, yb), x).sum().item()
            kl = posterior.kl().sum(0).double().cpu()
            kl_dims = kl if kl_dims is None else kl_dims + kl
    n = len(ds)
    result = {"images": n, "mse": squared / n, "psnr": psnr(squared / n)}
    if kl_dims is not None:
        kl_dims = kl_dims / n
        result.update(elbo=-(recon_nll / n + kl_dims.sum().item()), kl=kl_dims.sum().item(), active_units=int((kl_dims > ACTIVE_KL).sum()))
    return result


@torch.no_grad()
def details_kept(
    model: models.Encodable, ds, judge: models.Classifier, y: torch.Tensor | None = None, n: int = 2000, batch_size: int = 250
) -> dict[str, float]:
    """Per attribute, the fraction of the first n images of `ds` whose reconstruction the judge labels as the ground
    truth says (key "input": the same for the images themselves, the judge's own ceiling). An edit cannot add what the
    decoder cannot draw: a low value here bounds every attribute edit of the model."""
    model.eval()
    index = np.arange(min(n, len(ds)))
    truth = ds.targets(judge.names)[index] > 0.5
    on_input, on_recon = [], []
    for start in range(0, len(index), batch_size):
        idx = index[start : start + batch_size]
        x = ds.batch(idx).to(model.device)
        on_input.append(judge.predict(x))
        on_recon.append(judge.predict(model.reconstruct(x, None if y is None else y[idx].to(model.device))))
    agree = lambda predicted: dict(zip(judge.names, (torch.cat(predicted) == truth).float().mean(0).tolist()))  # noqa: E731
    return {"images": len(index), "reconstruction": agree(on_recon), "input": agree(on_input)}


NOISE = ("masking", 0.25)  # the corruption noise_robustness applies: the shipped denoising AE's (Vincent et al. 2008)


@torch.no_grad()
def noise_robustness(model: models.Encodable, ds, n: int = 1000, seed: int = 0, batch_size: int = 250) -> dict:
    """How far NOISE on the first n test images moves their codes (posterior means), and what the model makes of the
    noisy images -- what a denoising AE is trained for (Vincent et al. 2008):

    code_shift    mean ||z(x~) - z(x)|| over mean ||z(x) - z(x')||, x' another test image (the next one): 0 when the
                  noise moves no code, 1 when it moves a code as far as a different face's
    psnr_noisy    PSNR of the reconstructions of the noisy images against the clean ones
    psnr_input    PSNR of the noisy images themselves against the clean ones: what the noise did
    """
    model.eval()
    generator = torch.Generator(model.device).manual_seed(seed)
    n = min(n, len(ds))
    clean_codes, noisy_codes, squared, squared_input = [], [], 0.0, 0.0
    for start in range(0, n, batch_size):
        x = ds.batch(np.arange(start, min(start + batch_size, n))).to(model.device)
        noisy = corrupt(x, *NOISE, generator)
        z, z_noisy = model.encode(x).mode(), model.encode(noisy).mode()
        clean_codes.append(z.flatten(1).double().cpu())
        noisy_codes.append(z_noisy.flatten(1).double().cpu())
        squared += (model.decode(z_noisy) - x).pow(2).flatten(1).mean(1).sum().item()
        squared_input += (noisy - x).pow(2).flatten(1).mean(1).sum().item()
    clean, noisy = torch.cat(clean_codes), torch.cat(noisy_codes)
    between = (clean - clean.roll(1, 0)).norm(dim=1).mean().item()
    return {
        "images": n,
        "corruption": NOISE[0],
        "level": NOISE[1],
        "code_shift": (noisy - clean).norm(dim=1).mean().item() / between,
        "psnr_noisy": psnr(squared / n),
        "psnr_input": psnr(squared_input / n),
    }
