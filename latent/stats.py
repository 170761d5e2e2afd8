"""Aggregate-posterior statistics: what the explorer needs to know about a latent space
without loading a dataset. Training writes them to `stats.safetensors` beside the weights.

Tensors (D = latent size):
    mean, std, p01, p99    [D]     per-dimension statistics of the posterior means
    kl                     [D]     mean KL(q(z_d|x) || N(0, 1)) per dimension (VAEs; an AE has none)
    pca_mean               [D]     centre of the PCA of the posterior means
    pca_components         [K, D]  principal directions, unit rows, by decreasing variance (the top K)
    pca_variance           [K]     variance along each direction
    pca_explained          [K]     GANs: share of the generator's first-layer feature variance each direction carries
    attribute_vectors      [A, D]  mean(z | attribute) - mean(z | not attribute)   (White 2016); for a GAN, the
                                   InterFaceGAN direction fitted to samples its classifier labelled (labelled_directions)
    class_vectors          [C, D]  mean(z | class) - mean(z | other classes)
Training adds what the explorer shows without a dataset (train/artifacts.py `write_stats`):
    heldout_latents        [M, D]  posterior means of held-out images (M <= 1000; fewer for large D)
    code_counts            [K]     VQ-VAEs: how often each code is chosen over the training images
    heldout_attributes     [M, A]  / heldout_labels [M] / heldout_conditions (conditional models)
    examples               [E, H, W, C] uint8: the first E held-out images
Metadata (strings): attribute_names / label_names as JSON lists, num_images; labelled_by (GANs: the classifier
that labelled the samples the vectors and heldout_* rows come from).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

STATS_NAME = "stats.safetensors"  # file name inside a checkpoint directory
ACTIVE_KL = 0.01  # nats: a dimension with less mean KL than this carries no information ("active units")


def latent_statistics(
    means: torch.Tensor,
    kl: torch.Tensor | None = None,
    attributes: torch.Tensor | None = None,
    attribute_names: list[str] | None = None,
    labels: torch.Tensor | None = None,
    label_names: list[str] | None = None,
    max_components: int | None = None,
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Statistics of posterior means [N, D] (and per-image KL [N, D], attributes [N, A], labels [N]),
    keeping the top max_components principal directions (all when None)."""
    means = means.double()
    stats = {
        "mean": means.mean(0),
        "std": means.std(0),
        "p01": torch.quantile(means, 0.01, dim=0),
        "p99": torch.quantile(means, 0.99, dim=0),
    }
    if kl is not None:
        stats["kl"] = kl.double().mean(0)
    stats["pca_mean"], components, variance = pca(means)
    stats["pca_components"], stats["pca_variance"] = components[:max_components], variance[:max_components]
    metadata = {"num_images": str(len(means))}
    if attributes is not None:
        a = attributes.bool()
        stats["attribute_vectors"] = torch.stack([mean_difference(means, a[:, j]) for j in range(a.shape[1])])
        metadata["attribute_names"] = json.dumps(list(attribute_names))
    if labels is not None:
        stats["class_vectors"] = torch.stack([mean_difference(means, labels == k) for k in range(len(label_names))])
        metadata["label_names"] = json.dumps(list(label_names))
    return {k: v.float().contiguous() for k, v in stats.items()}, metadata


def pca(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Principal components of latents z [N, D]: mean [D], components [K, D] (unit rows, by decreasing
    variance), variance [K], with K = min(N, D)."""
    mean = z.mean(0)
    # principal directions: right singular vectors of the centred data
    _, s, vh = torch.linalg.svd(z - mean, full_matrices=False)
    return mean, vh, s.pow(2) / max(1, len(z) - 1)


def mean_difference(z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """mean(z[mask]) - mean(z[~mask]): the attribute vector of White 2016, "Sampling generative networks"."""
    if mask.all() or not mask.any():
        return torch.zeros(z.shape[1], dtype=z.dtype)  # an attribute nobody (or everybody) has defines no direction
    return z[mask].mean(0) - z[~mask].mean(0)


def save_stats(path: str | Path, stats: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    save_file(stats, str(path), metadata=metadata)


def load_stats(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, metadata with JSON fields decoded) from a stats.safetensors file."""
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {key: f.get_tensor(key) for key in f.keys()}
            raw = f.metadata() or {}
    except Exception as err:  # safetensors raises its own error types for damaged headers
        raise ValueError(f"{path}: not a readable stats.safetensors file ({err})") from None
    meta = {k: json.loads(v) if k.endswith("_names") else v for k, v in raw.items()}
    return tensors, meta
