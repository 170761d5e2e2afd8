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
    """(tensors, metadata with JSON fields decoded) from a stats.safetensors file; ValueError naming the file unless it
    is readable and shaped as training writes it (check_stats)."""
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {key: f.get_tensor(key) for key in f.keys()}
            raw = f.metadata() or {}
    except Exception as err:  # safetensors raises its own error types for damaged headers
        raise ValueError(f"{path}: not a readable stats.safetensors file ({' '.join(str(err).split())})") from None
    meta = {}
    for key, value in raw.items():
        try:
            meta[key] = json.loads(value) if key.endswith("_names") else value
        except (ValueError, RecursionError):
            raise ValueError(f"{path}: metadata {key} is not a JSON list ({value[:40]!r})") from None
    check_stats(tensors, meta, path)
    return tensors, meta


# What training writes, as shapes over named sizes: D the latent size, K the PCA directions kept, A the attributes,
# C the classes, M the held-out images, E the example pictures. "..." takes any further dimensions.
SHAPES = {
    "mean": ("D",),
    "std": ("D",),
    "p01": ("D",),
    "p99": ("D",),
    "kl": ("D",),
    "pca_mean": ("D",),
    "pca_components": ("K", "D"),
    "pca_variance": ("K",),
    "pca_explained": ("K",),
    "attribute_vectors": ("A", "D"),
    "class_vectors": ("C", "D"),
    "heldout_latents": ("M", "D"),
    "heldout_attributes": ("M", "A"),
    "heldout_labels": ("M",),
    "heldout_conditions": ("M", "..."),
    "code_counts": ("codes",),
    "examples": ("E", "height", "width", "channels"),
}
REQUIRED = ("mean", "std", "p01", "p99", "pca_mean", "pca_components", "pca_variance")  # every model's stats hold these
NAMED_BY = {"A": "attribute_names", "C": "label_names"}  # the metadata list that names the rows of a size


def check_stats(stats: dict[str, torch.Tensor], metadata: dict, source: str | Path = STATS_NAME) -> None:
    """ValueError naming `source` (one line) unless the tensors and metadata are what latent_statistics and training
    write: the required tensors, every known tensor of its shape (sizes agreeing across tensors and with the name
    lists), floating-point ones finite, held-out labels within the classes, examples uint8. Unknown keys are allowed.
    The explorer and the tabs index the statistics without checking them again."""

    def refuse(problem: str):
        raise ValueError(
            f"{source}: {problem}; expected the {STATS_NAME} that `python -m train` writes (`python -m train stats DIR` rewrites it)"
        )

    missing = [key for key in REQUIRED if key not in stats]
    if missing:
        refuse(f"missing tensor(s) {', '.join(missing)}")
    sizes: dict[str, int] = {}
    for symbol, names_key in NAMED_BY.items():
        names = metadata.get(names_key)
        if names is None:
            continue
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            refuse(f"metadata {names_key} is not a JSON list of strings")
        sizes[symbol] = len(names)
    for key, shape in SHAPES.items():
        if key not in stats:
            continue
        tensor = stats[key]
        needs = [NAMED_BY[s] for s in shape if s in NAMED_BY and s not in sizes]
        if needs:
            refuse(f"{key} has no {needs[0]} in the metadata to name its rows")
        fixed = [s for s in shape if s != "..."]
        if tensor.ndim < len(fixed) or ("..." not in shape and tensor.ndim != len(fixed)):
            refuse(f"{key} has shape {list(tensor.shape)}, expected [{', '.join(shape)}]")
        for symbol, size in zip(fixed, tensor.shape):
            if sizes.setdefault(symbol, size) != size:
                refuse(f"{key} has shape {list(tensor.shape)}, expected [{', '.join(shape)}] with {symbol} = {sizes[symbol]}")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            refuse(f"{key} holds NaN or infinite values")
    if not sizes["D"]:
        refuse("mean is empty (a latent of size 0)")
    if "examples" in stats and stats["examples"].dtype != torch.uint8:
        refuse(f"examples are {stats['examples'].dtype}, expected uint8 pictures")
    labels = stats.get("heldout_labels")
    if labels is not None and "C" not in sizes:
        refuse("heldout_labels has no label_names in the metadata to name its classes")
    if labels is not None and (labels.is_floating_point() or len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) < sizes["C"]):
        refuse(f"heldout_labels are not class ids in [0, {sizes['C']})")
