"""Attribute-edit scorecard: does adding an attribute vector add the attribute, and only it?

For n held-out images that lack the attribute (by their ground-truth labels): encode, add
strength x the explorer's attribute vector, decode, and ask an attribute classifier
(models.Classifier trained on the same dataset) what the edited image shows.

    flip_rate   fraction of edited images the classifier calls positive for the attribute
    baseline    the same fraction for the unedited reconstructions (what the edit starts from)
    changed     for every other attribute, the fraction of images whose predicted value
                differs between the unedited and the edited reconstruction

Edited images are compared with the unedited reconstructions, not with the inputs, so the
scorecard measures the edit and not the autoencoder's reconstruction error.
"""

from __future__ import annotations

import numpy as np
import torch

from latent import DEFAULT_STRENGTH, Explorer
from models import Classifier


@torch.no_grad()
def edit_scorecard(
    explorer: Explorer, classifier: Classifier, ds, attribute: str, n: int = 1000, strength: float = DEFAULT_STRENGTH, batch_size: int = 250
) -> dict:
    names = classifier.names
    if attribute not in names:
        raise ValueError(f"the classifier does not predict {attribute!r}; it predicts: {', '.join(names)}")
    negatives = np.flatnonzero(ds.attribute(attribute) == 0)[:n]
    if len(negatives) < n:
        raise ValueError(f"{ds.name} has {len(negatives)} images without {attribute}; the scorecard asks for {n}")
    vector = explorer.attribute_vector(attribute)
    before, after = [], []
    for start in range(0, n, batch_size):
        z = explorer.encode(ds.batch(negatives[start : start + batch_size]))
        before.append(classifier.predict(explorer.decode(z)))
        after.append(classifier.predict(explorer.decode(explorer.edit(z, vector, strength))))
    before, after = torch.cat(before), torch.cat(after)
    a = names.index(attribute)
    changed = (before != after).float().mean(0)
    return {
        "attribute": attribute,
        "strength": strength,
        "n": n,
        "flip_rate": after[:, a].float().mean().item(),
        "baseline": before[:, a].float().mean().item(),
        "changed": {name: changed[i].item() for i, name in enumerate(names) if i != a},
    }
