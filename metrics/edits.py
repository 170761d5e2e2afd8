"""Attribute-edit scorecard: does adding an attribute vector add the attribute, and only it?

For n held-out images that lack the attribute (by their ground-truth labels): encode, add
strength x the explorer's attribute vector, decode, and ask an attribute classifier
(models.Classifier trained on the same dataset) what the edited image shows.

    flip_rate   fraction of edited images the classifier calls positive for the attribute
    baseline    the same fraction for the unedited reconstructions (what the edit starts from)
    changed     for every other attribute, the fraction of images whose predicted value
                differs between the unedited and the edited reconstruction

Edited images are compared with the unedited reconstructions, not with the inputs, so the
scorecard measures the edit and not the autoencoder's reconstruction error. `condition_scorecard`
does the same for a model conditioned on the attribute, by switching the condition on, and
`sample_edit_scorecard` for a model without an encoder (a GAN): on its own samples that the
classifier calls negative, edited by the stored vector or by the classifier-guided edit. A guided
edit follows one classifier's gradients, so score it with another one (the "judge").
"""

from __future__ import annotations

import numpy as np
import torch

from data import tile, to_uint8
from data.face_factors import FACTOR_ATTRIBUTES
from latent import DEFAULT_STRENGTH, Explorer
from models import Classifier


@torch.no_grad()
def edit_scorecard(
    explorer: Explorer, classifier: Classifier, ds, attribute: str, n: int = 1000, strength: float = DEFAULT_STRENGTH, batch_size: int = 250
) -> dict:
    """Add strength x the explorer's `attribute` vector to the latents of n test images without it."""
    negatives = _negatives(classifier, ds, attribute, n)
    vector = explorer.attribute_vector(attribute)
    before, after = [], []
    for start in range(0, len(negatives), batch_size):
        z = explorer.encode(ds.batch(negatives[start : start + batch_size]))
        before.append(classifier.predict(explorer.decode(z)))
        after.append(classifier.predict(explorer.decode(explorer.edit(z, vector, strength))))
    return {**_score(classifier, torch.cat(before), torch.cat(after), attribute), "strength": strength}


@torch.no_grad()
def condition_scorecard(explorer: Explorer, classifier: Classifier, ds, attribute: str, n: int = 1000, batch_size: int = 250) -> dict:
    """The same scorecard for a model conditioned on binary attributes: n test images without `attribute` are
    encoded with their own conditions and decoded twice, with those conditions and with `attribute` switched on.
    A decoder that ignores its condition (because z already carries the attribute) scores a low flip rate."""
    names = list(explorer.model.config.condition_names)
    if attribute not in names:
        raise ValueError(f"the model is not conditioned on {attribute!r}; its conditions: {', '.join(names)}")
    negatives = _negatives(classifier, ds, attribute, n)
    y = ds.targets(names)[negatives]
    switched = y.clone()
    switched[:, names.index(attribute)] = 1
    before, after = [], []
    for start in range(0, len(negatives), batch_size):
        part = slice(start, start + batch_size)
        z = explorer.encode(ds.batch(negatives[part]), y[part])
        before.append(classifier.predict(explorer.decode(z, y[part])))
        after.append(classifier.predict(explorer.decode(z, switched[part])))
    return _score(classifier, torch.cat(before), torch.cat(after), attribute)


EDITS = ("vector", "guided")


@torch.no_grad()
def sample_edit_scorecard(
    explorer: Explorer,
    judge: Classifier,
    attribute: str,
    n: int = 1000,
    strength: float = DEFAULT_STRENGTH,
    edit: str = "vector",
    seed: int = 0,
    batch_size: int = 250,
) -> dict:
    """Draw 4n latents of the prior (seed), keep the first n whose images `judge` calls without `attribute`, edit them
    ("vector": strength x the explorer's attribute vector; "guided": explorer.guided_edit with its own classifier)
    and judge the edited images against the unedited ones."""
    if edit not in EDITS:
        raise ValueError(f"unknown edit {edit!r}; accepted: {', '.join(EDITS)}")
    if attribute not in judge.names:
        raise ValueError(f"the judge does not predict {attribute!r}; it predicts: {', '.join(judge.names)}")
    z = explorer.sample_latent(4 * n, seed=seed)
    before = torch.cat([judge.predict(explorer.decode(z[s : s + batch_size])) for s in range(0, len(z), batch_size)])
    keep = torch.nonzero(~before[:, judge.names.index(attribute)])[:n, 0]
    if not len(keep):
        raise ValueError(f"none of {len(z)} samples is without {attribute} by the judge: nothing to edit")
    after = []
    for start in range(0, len(keep), batch_size):
        part = z[keep[start : start + batch_size]]
        edited = explorer.guided_edit(part, attribute, strength) if edit == "guided" else explorer.edit(part, attribute, strength)
        after.append(judge.predict(explorer.decode(edited)))
    return {**_score(judge, before[keep], torch.cat(after), attribute), "strength": strength, "edit": edit}


def edit_grid(explorer: Explorer, ds, attribute: str, strengths=(1.0, 2.0), n: int = 8, scale: int = 3, edit: str = "vector") -> np.ndarray:
    """uint8 picture for a person to judge an edit: the first n test images without `attribute` (ground truth), their
    reconstructions (a GAN: by inversion), then the reconstructions' latents edited at each strength, one row per
    strength ("vector": plus strength x the attribute vector; "guided": explorer.guided_edit with its classifier);
    each image scaled up `scale` times (nearest) so a mouth is plain to see."""
    if edit not in EDITS:
        raise ValueError(f"unknown edit {edit!r}; accepted: {', '.join(EDITS)}")
    x = ds.batch(np.flatnonzero(ds.attribute(attribute) == 0)[:n])
    z = explorer.encode(x)
    change = explorer.guided_edit if edit == "guided" else explorer.edit
    rows = [x, explorer.decode(z)] + [explorer.decode(change(z, attribute, s)) for s in strengths]
    images = torch.nn.functional.interpolate(torch.cat(rows), scale_factor=scale, mode="nearest")
    return tile(to_uint8(images), columns=len(x))


def _negatives(classifier: Classifier, ds, attribute: str, n: int) -> np.ndarray:
    """The first n images of ds without `attribute` (ground truth), or all of them in a smaller dataset (the
    scorecard's "n" says how many were used)."""
    if attribute not in classifier.names:
        raise ValueError(f"the classifier does not predict {attribute!r}; it predicts: {', '.join(classifier.names)}")
    negatives = np.flatnonzero(ds.attribute(attribute) == 0)[:n]
    if not len(negatives):
        raise ValueError(f"{ds.name} has no images without {attribute}: nothing to edit")
    return negatives


def _score(classifier: Classifier, before: torch.Tensor, after: torch.Tensor, attribute: str) -> dict:
    """Flip rate, baseline and per-attribute change rates from the predictions [n, A] before and after the edit."""
    a = classifier.names.index(attribute)
    changed = (before != after).float().mean(0)
    return {
        "attribute": attribute,
        "n": len(before),
        "flip_rate": after[:, a].float().mean().item(),
        "baseline": before[:, a].float().mean().item(),
        "changed": {name: changed[i].item() for i, name in enumerate(classifier.names) if i != a},
    }


@torch.no_grad()
def slider_scorecard(
    explorer: Explorer, judge: Classifier, ds, strengths: dict[str, float], held: tuple[str, ...] = (), n: int = 1000, batch_size: int = 250
) -> dict:
    """The attribute sliders (Explorer mode "attributes": each attribute's independent direction, the `held` ones
    projected out) set to `strengths` {attribute: strength} on the first n test images with none of those attributes
    (ground truth): for each moved attribute, the share of edited images the judge calls positive (flip_rates; unedited:
    baseline), and for every other attribute, the share whose prediction changed (changed)."""
    moved = list(strengths)
    unknown = [a for a in [*moved, *held] if a not in explorer.attribute_names or a not in judge.names]
    if unknown:
        raise ValueError(f"no slider or judge for {', '.join(map(repr, unknown))}; sliders: {', '.join(explorer.attribute_names)}")
    negatives = np.flatnonzero(np.all([ds.attribute(a) == 0 for a in moved], axis=0))[:n]
    if not len(negatives):
        raise ValueError(f"{ds.name} has no images without {', '.join(moved)}: nothing to edit")
    directions = explorer.attribute_directions(held)
    offset = sum(float(s) * directions[explorer.attribute_names.index(a)] for a, s in strengths.items())
    before, after = [], []
    for start in range(0, len(negatives), batch_size):
        z = explorer.encode(ds.batch(negatives[start : start + batch_size]))
        before.append(judge.predict(explorer.decode(z)))
        after.append(judge.predict(explorer.decode(z + offset)))
    before, after = torch.cat(before), torch.cat(after)
    columns = [judge.names.index(a) for a in moved]
    changed = (before != after).float().mean(0)
    return {
        "strengths": dict(strengths),
        "held": list(held),
        "n": len(negatives),
        "flip_rates": {a: after[:, c].float().mean().item() for a, c in zip(moved, columns)},
        "baseline": {a: before[:, c].float().mean().item() for a, c in zip(moved, columns)},
        "changed": {name: changed[i].item() for i, name in enumerate(judge.names) if i not in columns},
    }


def most_changed_other(card: dict) -> str:
    """The factor other than its own that a factor_slider_scorecard dim entry changes most."""
    return max((f for f in card["changes"] if f != card["factor"]), key=card["changes"].get)


@torch.no_grad()
def factor_slider_scorecard(explorer: Explorer, judge: Classifier, ds, dims: list[dict], n: int = 500, batch_size: int = 250) -> dict:
    """Each latent dimension's slider, labelled with the ground-truth factor it carries most (`dims`, the
    disentanglement suite's), dragged across its range -- from the 1st to the 99th percentile of the dimension's codes
    -- on the first n test images: for every factor the judge can see (data.face_factors.FACTOR_ATTRIBUTES), the
    share of images where the judge's call on any of its attributes differs between the two ends.

    Returns {str(dim): {"factor": its label, "score": its share of the factor's information, "changes": {factor:
    share}}} for the dims labelled with a factor the judge sees, and "n"."""
    factors = {
        f: [judge.names.index(a) for a in attributes] for f, attributes in FACTOR_ATTRIBUTES.items() if set(attributes) <= set(judge.names)
    }
    labelled = [d for d, label in enumerate(dims) if label["factor"] in factors]
    low, high = explorer.stats["p01"], explorer.stats["p99"]
    index = np.arange(min(n, len(ds)))
    changes = {d: {f: 0.0 for f in factors} for d in labelled}
    for start in range(0, len(index), batch_size):
        z = explorer.encode(ds.batch(index[start : start + batch_size]))
        for d in labelled:
            ends = [judge.predict(explorer.decode(z.index_fill(1, torch.tensor([d]), float(end[d])))) for end in (low, high)]
            differs = ends[0] != ends[1]
            for f, columns in factors.items():
                changes[d][f] += differs[:, columns].any(1).float().sum().item()
    return {
        "n": len(index),
        **{str(d): {**dims[d], "changes": {f: count / len(index) for f, count in changes[d].items()}} for d in labelled},
    }
