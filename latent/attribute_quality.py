"""Attribute-vector quality on held-out latents: their binary label table, a fixed split into a fitting half and a
scoring half, and the ROC-AUC of a vector on latents it was not fitted on. Plain tensor functions; the Attribute
arithmetic tab (ui/attributes.py) calls them and words their errors."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .attributes import attribute_vector, roc_auc

SPLIT_SEED = 0  # fixed split of the held-out latents into a fitting half and a scoring half: stable AUCs


def heldout_table(stats: dict[str, torch.Tensor], num_classes: int) -> torch.Tensor | None:
    """The held-out latents' binary table [M, classes + attributes] -- classes one-hot (one-vs-rest), then the
    attributes, the order of the stats' class_vectors and attribute_vectors -- or None when the stats store no
    held-out latents or not the labels of every vector they hold."""
    columns = []
    if "class_vectors" in stats:
        if "heldout_labels" not in stats:
            return None
        columns.append(torch.nn.functional.one_hot(stats["heldout_labels"].long(), num_classes))
    if "attribute_vectors" in stats:
        if "heldout_attributes" not in stats:
            return None
        columns.append(stats["heldout_attributes"].long())
    if "heldout_latents" not in stats or not columns:
        return None
    return torch.cat(columns, dim=1).bool()


def splittable(y: torch.Tensor) -> bool:
    """Whether labels y [M] (bool) hold at least two positives and two negatives: each half of split_halves then
    holds both groups."""
    return min(int(y.sum()), int((~y).sum())) >= 2


def split_halves(y: torch.Tensor, seed: int = SPLIT_SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """Fit and test indices of labels y [M] (bool): positives and negatives each halved, so both halves hold both
    groups; the same seed gives the same split. ValueError unless splittable(y)."""
    if not splittable(y):
        raise ValueError(f"need at least two latents with and two without the attribute, got {int(y.sum())} of {len(y)} with it")
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    groups = [order[y[order]], order[~y[order]]]
    return torch.cat([g[0::2] for g in groups]), torch.cat([g[1::2] for g in groups])


def heldout_auc(vector: torch.Tensor, z: torch.Tensor, y: torch.Tensor) -> float | None:
    """roc_auc of the vector [D] on latents z [M, D] with labels y [M], or None when y holds one group only (an
    attribute every latent has, or none): nothing to rank."""
    try:
        return roc_auc(vector, z, y)
    except ValueError:
        return None


def fit_and_score(
    z: torch.Tensor, table: torch.Tensor, names: Sequence[str], name: str, method: str, given: Sequence[str] = (), seed: int = SPLIT_SEED
) -> tuple[torch.Tensor, float | None]:
    """(vector [D], ROC-AUC or None): the attribute `name`'s vector fitted by `method` (latent.attribute_vector) on one
    half of the latents z [M, D] with labels table [M, len(names)], scored on the other half (split_halves).
    ValueError from the split or the fit."""
    y = table[:, list(names).index(name)]
    fit, test = split_halves(y, seed)
    vector = attribute_vector(z[fit], table[fit], names, name, method, given)
    return vector, heldout_auc(vector, z[test], y[test])
