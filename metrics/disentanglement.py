"""Disentanglement: the Mutual Information Gap (MIG) of Chen et al. 2018, "Isolating Sources of
Disentanglement in VAEs".

MIG = mean over factors v_k of (I(z_j*; v_k) - I(z_j'; v_k)) / H(v_k), where z_j* and z_j' are the
latent dims with the largest and second-largest mutual information with v_k. It is 1 when each factor
is captured by one dim alone, 0 when its information is spread evenly or absent.

Variant: disentanglement_lib's (Locatello et al. 2019) -- the posterior means of 10,000 images
drawn uniformly from the dataset, each latent dim discretised into 20 equal-width bins over its
observed range, mutual information of the discrete histograms. (Chen et al. estimate I(z_j; v_k)
from the full posterior instead; values are close but not identical.)
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import mutual_info_score

import models


def discretize(values: np.ndarray, bins: int) -> np.ndarray:
    """int [N, D]: each column cut into `bins` equal-width bins over its own min..max."""
    out = np.empty(values.shape, dtype=np.int64)
    for d in range(values.shape[1]):
        edges = np.histogram_bin_edges(values[:, d], bins=bins)
        out[:, d] = np.digitize(values[:, d], edges[1:-1])  # 0..bins-1
    return out


def mig_from_codes(latents: np.ndarray, factors: np.ndarray, bins: int = 20) -> dict:
    """MIG of latents float [N, D] against discrete factors int [N, K].

    Returns {"mig": float, "per_factor": [K] gaps, "mutual_information": [D, K] in nats, "best_dim": [K]}.
    Factors with a single value (no entropy) are left out of the mean.
    """
    codes = discretize(np.asarray(latents, dtype=np.float64), bins)
    factors = np.asarray(factors).astype(np.int64)
    d, k = codes.shape[1], factors.shape[1]
    if d < 2:
        raise ValueError("MIG compares the two most informative latent dims: it needs at least 2")
    mi = np.array([[mutual_info_score(factors[:, j], codes[:, i]) for j in range(k)] for i in range(d)])  # [D, K]
    entropy = np.array([mutual_info_score(factors[:, j], factors[:, j]) for j in range(k)])  # H(v) = I(v; v)
    top2 = np.sort(mi, axis=0)[-2:]  # [2, K]: second largest, largest
    informative = entropy > 0
    gaps = np.where(informative, (top2[1] - top2[0]) / np.where(informative, entropy, 1), np.nan)
    return {
        "mig": float(np.nanmean(gaps)),
        "per_factor": gaps.tolist(),
        "mutual_information": mi.tolist(),
        "best_dim": mi.argmax(0).tolist(),
    }


@torch.no_grad()
def mig(model: models.Encodable, ds, n: int = 10_000, bins: int = 20, seed: int = 0, batch_size: int = 500) -> dict:
    """MIG of `model`'s posterior means on n images of `ds` drawn with `seed` (the dataset's discrete
    factors are the ground truth). See mig_from_codes for the result."""
    if ds.factors is None or not ds.factor_sizes or min(ds.factor_sizes) < 1:
        raise ValueError(f"MIG needs a dataset with discrete ground-truth factors (dsprites); {ds.name} has none")
    index = np.sort(np.random.default_rng(seed).choice(len(ds), size=min(n, len(ds)), replace=False))
    model.eval()
    means = [
        model.encode(ds.batch(index[s : s + batch_size]).to(model.device)).mean.float().cpu() for s in range(0, len(index), batch_size)
    ]
    result = mig_from_codes(torch.cat(means).numpy(), ds.factors[index], bins)
    return {**result, "factor_names": list(ds.factor_names), "n": len(index), "bins": bins}
