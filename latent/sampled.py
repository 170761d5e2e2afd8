"""Statistics of a generator's latent space from its own draws: a GAN has no encoder to place data in it.

sampled_statistics   latent.stats' tensors for n draws of the prior, with GANSpace directions as the PCA, and
                     with a classifier: attribute vectors fitted to the labelled draws (labelled_directions)
                     and labelled held-out latents, so every attribute method of the explorer works on a GAN
"""

from __future__ import annotations

import json

import torch

from .attributes import scale_to_mean_difference, svm_normal
from .stats import latent_statistics, pca


@torch.no_grad()
def sampled_statistics(
    model, n: int = 10_000, seed: int = 0, max_components: int = 64, batch_size: int = 1000, classifier=None, heldout: int = 1000
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Statistics of a generator's latent space (a GAN has no encoder) from n draws of its prior. With an attribute
    classifier of the model's images, also attribute vectors and labelled held-out latents (labelled_directions).

    The principal directions are GANSpace's (Harkonen et al. 2020, sec. 2): PCA of the generator's first feature
    map over the draws, carried back to the latent space by least squares (the latent direction that moves the
    features along each component), then orthonormalised in order. PCA of the draws themselves would find
    nothing: the prior is isotropic. pca_variance is the draws' variance along each direction, pca_explained
    the feature variance its component holds."""
    generator = torch.Generator().manual_seed(seed)
    z = model.sample_latent(n, generator=generator).cpu()
    k = model.condition_labels and (model.config.num_classes or model.config.num_attributes)
    y = None
    if k and model.config.num_classes:
        y = torch.arange(n) % k
    elif k:
        y = (torch.rand((n, k), generator=generator) < 0.5).float()
    model_features = torch.cat(
        [
            model.first_features(z[s : s + batch_size].to(model.device), None if y is None else y[s : s + batch_size].to(model.device))
            .flatten(1)
            .double()
            .cpu()
            for s in range(0, n, batch_size)
        ]
    )
    stats, metadata = latent_statistics(z, max_components=max_components)
    stats |= _ganspace_directions(z, model_features, max_components)
    if classifier is not None and classifier.config.num_attributes and y is None:
        scores = torch.cat([classifier.logits(model.decode(z[s : s + batch_size].to(model.device))).cpu() for s in range(0, n, batch_size)])
        stats["attribute_vectors"] = labelled_directions(z, scores)
        stats["heldout_latents"], stats["heldout_attributes"] = z[:heldout], (scores[:heldout] > 0).to(torch.uint8)
        metadata |= {
            "attribute_names": json.dumps(classifier.names),
            "labelled_by": f"{type(classifier).__name__} of {len(classifier.names)} attributes",
        }
    return stats, metadata


def _ganspace_directions(z: torch.Tensor, model_features: torch.Tensor, max_components: int) -> dict[str, torch.Tensor]:
    """latent.stats' pca_* tensors for draws z [n, D] of a generator whose first feature maps over them are
    model_features [n, C] (float64): GANSpace's principal directions (sampled_statistics)."""
    _, feature_components, feature_variance = pca(model_features)
    keep = min(max_components, z.shape[1], len(feature_variance))
    coords = (model_features - model_features.mean(0)) @ feature_components[:keep].T  # [n, K]
    centred = (z - z.mean(0)).double()
    directions = torch.linalg.lstsq(coords, centred).solution  # [K, D]: z ~ coords @ directions
    q, r = torch.linalg.qr(directions.T)  # orthonormal columns spanning the directions, in order
    components = (q * torch.sign(torch.diagonal(r))).T  # [K, D], each row on the side of its direction
    return {
        "pca_mean": z.mean(0).float(),
        "pca_components": components.float().contiguous(),
        "pca_variance": (centred @ components.T).var(0).float(),
        "pca_explained": (feature_variance[:keep] / feature_variance.sum()).float(),
    }


def labelled_directions(z: torch.Tensor, scores: torch.Tensor, fraction: float = 0.1) -> torch.Tensor:
    """[A, D]: for each column of classifier scores [N, A] (logits) of the images of latents z [N, D], the unit normal
    of a linear SVM separating the latents of the top `fraction` of scores from the bottom `fraction` (InterFaceGAN,
    Shen et al. 2020, sec. 3.2: 2% of 500k samples there; 10% of 10k here), rescaled by scale_to_mean_difference to
    the gap between the two groups. Ranking by score gives every attribute two groups, however rare it is."""
    k = max(2, int(fraction * len(z)))
    vectors = []
    for column in scores.T:
        order = column.argsort()
        index = torch.cat([order[:k], order[-k:]])
        labels = torch.arange(2 * k) >= k
        vectors.append(scale_to_mean_difference(svm_normal(z[index], labels), z[index], labels))
    return torch.stack(vectors).float().contiguous()
