"""Sample-quality measures for generative models, and the monitor a GAN's training runs every N steps.

All are computed on features of a classifier trained on the same dataset (no downloaded Inception weights):

frechet_distance     Gaussians fitted to real and sample features (samples.frechet_distance; Heusel et al. 2017)
kid                  kernel inception distance: unbiased MMD^2 with the cubic kernel (Binkowski et al. 2018)
precision / recall   the share of samples inside the real data's k-NN manifold, and of real images inside
                     the samples' (Kynkaanniemi et al. 2019, k = 3)
coverage             faces: the share of ground-truth attribute combinations (cells holding >= 0.5% of the
                     data) that samples hit, and KL(samples || data) over those cells; labelled data: the
                     share of classes holding >= 1% of the samples. A collapsing generator loses coverage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from .samples import coverage, features, frechet_distance

NEAREST = 3  # k of the k-NN manifolds (Kynkaanniemi et al. 2019 use 3)
CELL_SHARE = 0.005  # an attribute combination is a cell when it holds at least this share of the data
COLLAPSE_COVERAGE = 0.5  # the monitor warns below this coverage...
COLLAPSE_DROP = 0.1  # ...or when coverage falls this far below the best seen in the run


def kid(a: torch.Tensor, b: torch.Tensor, subsets: int = 10, subset_size: int = 500, seed: int = 0) -> float:
    """Kernel inception distance between features a [N, F] and b [M, F]: the unbiased estimate of MMD^2 with the
    kernel k(x, y) = (x.y / F + 1)^3, averaged over random subsets (Binkowski et al. 2018, sec. 4)."""
    a, b = a.double(), b.double()
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise ValueError(f"KID needs at least 2 feature vectors in each set, got {len(a)} and {len(b)}")
    generator = torch.Generator().manual_seed(seed)
    estimates = []
    for _ in range(subsets):
        x = a[torch.randperm(len(a), generator=generator)[:m]]
        y = b[torch.randperm(len(b), generator=generator)[:m]]
        k_xx, k_yy, k_xy = ((p @ q.T / a.shape[1] + 1) ** 3 for p, q in ((x, x), (y, y), (x, y)))
        off_diagonal = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
        estimates.append(float(off_diagonal - 2 * k_xy.mean()))
    return float(np.mean(estimates))


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = NEAREST) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) of sample features `fake` [M, F] against `real` [N, F]:
    a set's manifold is the union of balls around its points reaching their k-th nearest neighbour in the set;
    precision = share of samples inside the real manifold, recall = share of real points inside the samples'."""
    real, fake = real.double(), fake.double()
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"precision/recall with k = {k} needs more than {k} points in each set, got {len(real)} and {len(fake)}")

    def covered(points: torch.Tensor, queries: torch.Tensor) -> float:
        radii = torch.cdist(points, points).kthvalue(k + 1, dim=1).values  # k + 1: each point is its own nearest
        return (torch.cdist(queries, points) <= radii).any(1).double().mean().item()

    return covered(real, fake), covered(fake, real)


def attribute_cells(attributes: np.ndarray, min_share: float = CELL_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """The attribute combinations of the data [N, A] that hold at least min_share of it: (cells [C, A], shares [C])."""
    combos, counts = np.unique(np.asarray(attributes).astype(np.uint8), axis=0, return_counts=True)
    share = counts / len(attributes)
    keep = share >= min_share
    if not keep.any():
        raise ValueError(f"no attribute combination holds {min_share:.1%} of the data: nothing to measure coverage on")
    return combos[keep], share[keep]


def cells_for(classifier, ds, index: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """attribute_cells of ds's attributes (rows `index`) when the classifier predicts every one of them (faces), else
    None: coverage is then measured over classes."""
    if ds.attributes is None or classifier.config.num_attributes != len(ds.attribute_names or []):
        return None
    return attribute_cells(ds.attributes if index is None else ds.attributes[index])


def cell_coverage(cells: np.ndarray, shares: np.ndarray, predicted: np.ndarray) -> dict:
    """How samples with predicted attributes [M, A] spread over the data's cells:
    coverage (share of cells with at least one sample), kl = KL(samples || data) over the cells (both
    renormalised to the cells; samples outside every cell are left out), outside (share of such samples)."""
    predicted = np.asarray(predicted).astype(np.uint8)
    hits = (predicted[:, None, :] == cells[None, :, :]).all(2)  # [M, C]
    counts = hits.sum(0)
    inside = counts.sum()
    p_data = shares / shares.sum()
    p_samples = counts / max(inside, 1)
    kl = float(np.sum(np.where(counts > 0, p_samples * np.log(np.where(counts > 0, p_samples, 1) / p_data), 0))) if inside else float("inf")
    return {"coverage": float((counts > 0).mean()), "cell_kl": kl, "outside": float(1 - inside / len(predicted)), "cells": len(cells)}


def code_agreement(codes: np.ndarray, classes: np.ndarray, k: int) -> float:
    """Accuracy of the best one-to-one matching between a categorical code's values and classes (both ids [N] in
    [0, k)): the Hungarian algorithm on the confusion matrix, as unsupervised clustering accuracy is scored."""
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (np.asarray(codes), np.asarray(classes)), 1)
    rows, cols = linear_sum_assignment(-confusion)
    return float(confusion[rows, cols].sum() / len(codes))


def collapse_warning(coverage: float, best: float) -> str | None:
    """A warning when coverage is low or has fallen well below the best of the run (mode collapse), else None."""
    if coverage < COLLAPSE_COVERAGE or coverage < best - COLLAPSE_DROP:
        return (
            f"possible mode collapse: samples cover {coverage:.0%} of the data's modes (best so far {best:.0%}); "
            "the best checkpoint by Frechet distance is kept"
        )
    return None


@dataclass
class Monitor:
    """Measures a generator against fixed real images: call it with the model; the same seed every time, so
    successive results differ only by the weights.

    classifier  the dataset's classifier (its features; its predictions for coverage)
    real        real images [N, C, S, S] in [0, 1], with their conditions y (a conditional model samples these)
    cells       faces: (cells, shares) from attribute_cells of the training data; None: coverage over classes
    """

    classifier: torch.nn.Module
    real: torch.Tensor
    y: torch.Tensor | None = None
    cells: tuple[np.ndarray, np.ndarray] | None = None
    batch_size: int = 250

    def __post_init__(self):
        self.real_features = torch.cat([features(self.classifier, b) for b in self.real.split(self.batch_size)])

    @torch.no_grad()
    def __call__(self, model, seed: int = 0) -> dict[str, float]:
        was_training = model.training
        model.eval()
        generator = torch.Generator().manual_seed(seed)
        z = model.sample_latent(len(self.real), generator=generator).cpu()
        images, predicted, feats = [], [], []
        for start in range(0, len(z), self.batch_size):
            y = None if self.y is None else self.y[start : start + self.batch_size].to(model.device)
            batch = model.decode(z[start : start + self.batch_size].to(model.device), y).float().cpu()
            feats.append(features(self.classifier, batch))
            predicted.append(self.classifier.predict(batch))
            images.append(batch)
        model.train(was_training)
        fake, predicted = torch.cat(feats), torch.cat(predicted)
        precision, recall = precision_recall(self.real_features, fake)
        result = {
            "frechet_distance": frechet_distance(fake, self.real_features),
            "kid": kid(fake, self.real_features),
            "precision": precision,
            "recall": recall,
        }
        if self.cells is not None:
            result.update({k: v for k, v in cell_coverage(*self.cells, predicted.numpy()).items() if k != "cells"})
        elif self.classifier.config.num_classes:
            k = self.classifier.config.num_classes
            conditional = getattr(model.config, "num_classes", 0) == k and self.y is not None
            classes = coverage(self.classifier, predicted, self.y if conditional else None)
            result["coverage"] = classes["classes_covered"] / k
            if conditional:
                result["condition_accuracy"] = classes["condition_accuracy"]
            # does an InfoGAN's categorical code find the classes? (the monitor takes any generator: decode + sample_latent)
            if getattr(model, "has_structured_codes", False) and model.config.categories == k:
                result["code_agreement"] = code_agreement(model.category_of(z).numpy(), predicted.numpy(), k)
        return result


class Resized(torch.nn.Module):
    """A generative model whose decoded images are resized (area averaging down, bilinear up) to `size`: to measure a
    64x64 model's samples with the 32x32 classifier of a 32x32 GAN (or the other way), so both sit in one feature space."""

    def __init__(self, model, size: int):
        super().__init__()
        self.model, self.size = model, size
        self.config = model.config

    def __getattr__(self, name: str):
        """Everything but the pictures is the wrapped model's: its capabilities, conditions and codes."""
        try:
            return super().__getattr__(name)  # parameters and submodules (nn.Module keeps them apart)
        except AttributeError:
            if name == "model":  # not set yet
                raise
            return getattr(self.model, name)

    @property
    def device(self):
        return self.model.device

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.model.sample_latent(n, generator=generator)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        images = self.model.decode(z, y)
        mode = "area" if images.shape[-1] > self.size else "bilinear"
        return torch.nn.functional.interpolate(images, size=(self.size, self.size), mode=mode).clamp(0, 1)


CURVES = ("frechet_distance", "kid", "precision", "recall", "coverage")


def plot_curves(metrics_file: str | Path, out: str | Path) -> None:
    """A PNG of the monitor's curves (and the losses) over training steps, from metrics.jsonl."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(line) for line in Path(metrics_file).read_text().splitlines() if line.strip()]
    monitor = [r for r in records if "monitor_frechet_distance" in r]
    losses = [r for r in records if "generator_loss" in r or "discriminator_loss" in r]
    names = [c for c in CURVES if any(f"monitor_{c}" in r for r in monitor)]
    fig, axes = plt.subplots(1, len(names) + 1, figsize=(3.2 * (len(names) + 1), 2.8), constrained_layout=True)
    for ax, name in zip(axes, names):
        points = [(r["step"], r[f"monitor_{name}"]) for r in monitor if f"monitor_{name}" in r]
        ax.plot(*zip(*points), marker="o", markersize=3)
        ax.set_title(name.replace("_", " "))
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    ax = axes[-1]
    for key in ("discriminator_loss", "generator_loss"):
        points = [(r["step"], r[key]) for r in losses if key in r]
        if points:
            ax.plot(*zip(*points), label=key.replace("_", " "), linewidth=1)
    ax.set_title("losses")
    ax.set_xlabel("step")
    if ax.lines:
        ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    tmp = Path(out).with_name(Path(out).name + ".tmp.png")
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    tmp.replace(out)
