"""Sample quality, by a classifier trained on the same dataset (no downloaded Inception weights):

class coverage     which classes samples look like; a model collapsed onto a few modes draws few classes
Frechet distance   between Gaussians fitted to the classifier's features of samples and of real images
                   (the FID of Heusel et al. 2017, with a domain classifier in place of Inception)
sharpness          high-frequency energy of images (a Laplacian's mean squared response): blur lowers it
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from latent import Explorer
from models import Classifier


@torch.no_grad()
def class_coverage(explorer: Explorer, classifier: Classifier, n: int = 2000, seed: int = 0, batch_size: int = 500) -> dict:
    """Classify n samples of the explorer's model (seeded; a class-conditional model gets every class in
    turn as its condition).

    fractions           share of the samples predicted as each class
    classes_covered     how many classes hold at least 1% of the samples
    condition_accuracy  class-conditional models: share of samples classified as the class they were drawn for
    """
    k = classifier.config.num_classes
    if not k:
        raise ValueError("class coverage needs a classifier of class labels (num_classes > 0), not of attributes")
    conditional = len(explorer.condition_labels) if explorer.conditioned_on_classes else 0
    if conditional and conditional != k:
        raise ValueError(f"the model is conditioned on {conditional} classes, the classifier predicts {k}")
    wanted = torch.arange(n) % k if conditional else None
    predicted = torch.cat([classifier.predict(images) for images in sample_batches(explorer, n, seed, wanted, batch_size)])
    return coverage(classifier, predicted, wanted)


def coverage(classifier: Classifier, predicted: torch.Tensor, wanted: torch.Tensor | None = None) -> dict:
    """class_coverage's result from the classifier's predictions [n] of samples (drawn for classes `wanted` [n])."""
    fractions = torch.bincount(predicted, minlength=classifier.config.num_classes).float() / len(predicted)
    result = {
        "n": len(predicted),
        "fractions": dict(zip(classifier.names, fractions.tolist())),
        "classes_covered": int((fractions >= 0.01).sum()),
    }
    if wanted is not None:
        result["condition_accuracy"] = (predicted == wanted).float().mean().item()
    return result


def sample_batches(
    explorer: Explorer, n: int, seed: int = 0, y: torch.Tensor | None = None, batch_size: int = 500, source: str | None = None
) -> Iterator[torch.Tensor]:
    """n seeded samples of the explorer's model in batches of images (conditions y [n] for a conditional model)."""
    for start in range(0, n, batch_size):
        yb = None if y is None else y[start : start + batch_size]
        yield explorer.sample(min(batch_size, n - start), seed=seed + start, y=yb, source=source)


@torch.no_grad()
def features(classifier: Classifier, images: torch.Tensor) -> torch.Tensor:
    """The classifier's feature vectors [N, F] (the layer before its output) of images [N, C, S, S]."""
    classifier.check_images(images)
    return classifier.features(images.to(classifier.device)).double().cpu()


def feature_index(ds, n: int = 2000) -> np.ndarray:
    """The images of ds that dataset_features measures: all of them up to n, else a seeded subset of n."""
    return np.arange(len(ds)) if len(ds) <= n else np.sort(np.random.default_rng(0).choice(len(ds), n, replace=False))


def dataset_features(classifier: Classifier, ds, n: int = 2000, batch_size: int = 500) -> torch.Tensor:
    """Features of the first n images of ds (a seeded subset when ds is larger: feature_index)."""
    index = feature_index(ds, n)
    return torch.cat([features(classifier, ds.batch(index[s : s + batch_size])) for s in range(0, len(index), batch_size)])


# the 4-neighbour Laplacian, the discrete second derivative: flat and linearly shaded regions give 0, edges and texture
# give large responses, so a blurred image's mean squared response is lower than the sharp image's
_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


@torch.no_grad()
def sharpness(images: torch.Tensor) -> float:
    """Mean squared Laplacian response of images [N, C, S, S] in [0, 1], on their grey level (the mean of the channels),
    over the interior pixels: high-frequency energy. Compare it between image sets of one size (sharpness_ratio)."""
    grey = images.float().mean(1, keepdim=True)
    return torch.nn.functional.conv2d(grey, _LAPLACIAN.to(grey)[None, None]).pow(2).mean().item()


def sharpness_ratio(images: torch.Tensor, reference: torch.Tensor) -> float:
    """sharpness(images) / sharpness(reference): 1 is as sharp as the reference (test images of the same size), below 1
    blurrier, above 1 noisier or more textured."""
    return sharpness(images) / sharpness(reference)


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) between Gaussians fitted to features a [N, F] and b [M, F]
    (Dowson & Landau 1982; the FID of Heusel et al. 2017)."""
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = torch.cov(a.T), torch.cov(b.T)
    # Tr (S_a S_b)^(1/2) = Tr (S_a^(1/2) S_b S_a^(1/2))^(1/2): a symmetric PSD matrix, so eigenvalues suffice
    values, vectors = torch.linalg.eigh(s_a)
    root_a = vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T
    cross = torch.linalg.eigvalsh(root_a @ s_b @ root_a).clamp_min(0).sqrt().sum()
    return float((mu_a - mu_b).pow(2).sum() + torch.trace(s_a) + torch.trace(s_b) - 2 * cross)
