"""Sample coverage: which classes a generative model's samples look like, by a classifier trained
on the same dataset. A model that has collapsed onto a few modes draws a few classes only."""

from __future__ import annotations

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
    conditional = getattr(explorer.model.config, "num_classes", 0)
    if conditional and conditional != k:
        raise ValueError(f"the model is conditioned on {conditional} classes, the classifier predicts {k}")
    wanted = torch.arange(n) % k if conditional else None
    z = explorer.sample_latent(n, seed=seed)
    predicted = torch.cat([
        classifier.predict(explorer.decode(z[s : s + batch_size], None if wanted is None else wanted[s : s + batch_size]))
        for s in range(0, n, batch_size)
    ])  # fmt: skip
    fractions = torch.bincount(predicted, minlength=k).float() / n
    result = {
        "n": n,
        "fractions": dict(zip(classifier.names, fractions.tolist())),
        "classes_covered": int((fractions >= 0.01).sum()),
    }
    if wanted is not None:
        result["condition_accuracy"] = (predicted == wanted).float().mean().item()
    return result
