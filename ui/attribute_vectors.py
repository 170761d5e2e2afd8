"""Where the Attribute arithmetic tab's vector comes from: a labelled attribute (fitted by a method and scored by
ROC-AUC on held-out latents, latent.attribute_quality), the user's picks of examples, or a vector file; the file a
vector downloads as; and what the model card measured for an attribute's edit."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import gradio as gr
import torch

from latent import ATTRIBUTE_METHODS, custom_vector, fit_and_score, heldout_auc, heldout_table, load_vector, save_vector, splittable

from .cache import cache_file, uploaded

METHODS = [
    ("stored vector: mean difference (White 2016); a GAN's: InterFaceGAN on labelled samples", "mean_difference"),
    ("balanced / bias-corrected", "balanced"),
    ("linear-SVM normal (InterFaceGAN)", "svm"),
    ("conditional: others projected out (InterFaceGAN)", "conditional"),
]
assert [value for _, value in METHODS] == list(ATTRIBUTE_METHODS)
NEEDS_GIVEN = ("balanced", "conditional")


def labelled(explorer) -> tuple[list[str], torch.Tensor | None]:
    """Names of the vectors (classes, then attributes, as explorer.vectors) and the held-out latents' binary table
    [M, len(names)] (classes one-hot: one-vs-rest), or None when the checkpoint stores no held-out labels."""
    return list(explorer.vectors), heldout_table(explorer.stats, len(explorer.metadata.get("label_names", [])))


@lru_cache(maxsize=64)  # live strength updates reuse the fitted vector; explorers hash by identity
def fitted(explorer, name: str, method: str, given: tuple[str, ...]) -> tuple[torch.Tensor, float | None]:
    """(vector [D], held-out ROC-AUC or None). mean_difference comes from the stats (fitted on training latents) and is
    scored on all held-out latents; the other methods are fitted on one half of the held-out latents, scored on the other."""
    names, table = labelled(explorer)
    if method == "mean_difference":
        vector = explorer.attribute_vector(name)
        return vector, None if table is None else heldout_auc(vector, explorer.stats["heldout_latents"], table[:, names.index(name)])
    if table is None:
        raise gr.Error(f"method {method!r} fits on held-out latents with labels, which this checkpoint does not store; use mean difference")
    y = table[:, names.index(name)]
    if not splittable(y):
        raise gr.Error(
            f"too few held-out images with and without {name!r} ({int(y.sum())} of {len(y)}) to fit on one half and score on the other; use mean difference"
        )
    try:
        return fit_and_score(explorer.stats["heldout_latents"], table, names, name, method, given)
    except ValueError as err:
        raise gr.Error(str(err)) from None


def method_label(explorer, method: str) -> str:
    """How the note names the method: a GAN's stored vectors are InterFaceGAN directions fitted to its labelled samples."""
    if method == "mean_difference":
        return (
            "the SVM normal fitted to 10,000 labelled samples (InterFaceGAN)"
            if "labelled_by" in explorer.metadata
            else "mean difference (White 2016)"
        )
    return dict((v, k) for k, v in METHODS)[method]


def example_choices(explorer) -> list[tuple[str, str]]:
    """('#3 class 7' or '#3 Smiling, Eyeglasses', "3") for each stored example (the first held-out images). The values
    are strings because that is what Gradio's API advertises for a choice (an int value would refuse the "3" a
    client sends as advertised)."""
    stats, meta = explorer.stats, explorer.metadata
    count = len(stats["examples"]) if "examples" in stats else 0
    if "heldout_latents" not in stats or explorer.is_generator:
        return []  # picks are looked up among the encoded held-out latents (a GAN's are samples, not the examples)
    count = min(count, len(stats["heldout_latents"]))

    def caption(i: int) -> str:
        parts = []
        if "heldout_labels" in stats:
            parts.append(f"class {meta['label_names'][int(stats['heldout_labels'][i])]}")
        if "heldout_attributes" in stats:
            on = [n for n, v in zip(meta["attribute_names"], stats["heldout_attributes"][i].tolist()) if v]
            parts.append(", ".join(on) or "no attributes")
        return " ".join([f"#{i}", "; ".join(parts)]).strip()

    return [(caption(i), str(i)) for i in range(count)]


def chosen_vector(explorer, source, name, method, given, set_a, set_b, vector_file=None) -> tuple[torch.Tensor, str]:
    """(vector [D], the note's sentence on where it came from) for the chosen source: attribute, custom or file."""
    if source == "custom":
        return _custom(explorer, set_a, set_b)
    if source == "file":
        if not vector_file:
            raise gr.Error("upload a vector file: a .safetensors file from 'Download this vector' or the /attribute_vector endpoint")
        try:
            vector, meta = load_vector(uploaded(vector_file, "vector file"), explorer.latent_dim)
        except ValueError as err:
            raise gr.Error(f"{Path(str(vector_file)).name}: {err}") from None
        origin = (
            f"{meta['attribute']} of {meta['model']} ({meta.get('method', '?')})"
            if {"attribute", "model"} <= set(meta)
            else "no record of its origin"
        )
        return vector, f"Vector from the file {Path(str(vector_file)).name}: {origin}."
    if source != "attribute":
        raise gr.Error(f"unknown vector source {source!r}; accepted: attribute, custom, file")
    names, _ = labelled(explorer)
    if not names:
        raise gr.Error("this model's training data had no labels or attributes; build a custom vector from example picks instead")
    if name not in names:
        raise gr.Error(f"unknown attribute or class {name!r}; choose one of: {', '.join(names)}")
    if method not in ATTRIBUTE_METHODS:
        raise gr.Error(f"unknown method {method!r}; accepted: {', '.join(ATTRIBUTE_METHODS)}")
    if method in NEEDS_GIVEN and not set(given) - {name}:
        raise gr.Error(f"method {method!r} needs other attributes to hold fixed: tick at least one under 'Hold fixed'")
    # the other methods take no held-fixed attributes, and the target is never held fixed: ignore leftover ticks
    given = tuple(sorted(g for g in given if g != name)) if method in NEEDS_GIVEN else ()
    vector, auc = fitted(explorer, name, method, given)
    where = "all held-out latents" if method == "mean_difference" else "the held-out half it was not fitted on"
    if "labelled_by" in explorer.metadata:
        where += " (a GAN's held-out latents: 1,000 of its samples, labelled by the dataset's classifier)"
    score = (
        "held-out ROC-AUC not available (no labelled held-out latents)"
        if auc is None
        else f"ROC-AUC {auc:.3f} on {where} (0.5: unrelated, 1: separates perfectly)"
    )
    return vector, f"**{display(explorer, name)}** by {method_label(explorer, method)}: {score}."


def _custom(explorer, set_a, set_b) -> tuple[torch.Tensor, str]:
    count = len(example_choices(explorer))
    if not count:
        raise gr.Error(
            "this model stores no encoded example images to pick from (a GAN has no encoder: its held-out latents are its own samples); choose 'a labelled attribute'"
        )
    picks = [[int(i) for i in s] for s in (set_a, set_b)]
    if not picks[0] or not picks[1]:
        raise gr.Error("pick at least one example for set A and one for set B")
    bad = [i for s in picks for i in s if not 0 <= i < count]
    if bad:
        raise gr.Error(f"example indices {bad} out of range; this model has examples 0..{count - 1}")
    z = explorer.stats["heldout_latents"]  # the examples are the first held-out images, already encoded
    vector = custom_vector(z[picks[0]], z[picks[1]])
    return vector, f"Custom vector: mean of {len(picks[0])} example(s) in A minus mean of {len(picks[1])} in B."


def display(explorer, name: str) -> str:
    """How a vector's name is shown: 'class 7' for a class, an attribute as it is."""
    return f"class {name}" if name in explorer.metadata.get("label_names", []) else name


def download_vector(label, source, name, method, given, set_a, set_b, *, shared) -> str:
    """The chosen vector (a labelled attribute's or the picks') as a .safetensors file to download."""
    entry = shared.entry(label)
    if source == "attribute" and method == "guided":
        raise gr.Error("a classifier-guided edit has no single vector to save: choose a vector method")
    if source == "attribute" and method == "condition":
        raise gr.Error("switching a model's condition moves no latent: there is no vector to save; choose a vector method")
    if source == "file":
        raise gr.Error("this vector came from a file already")
    vector, _ = chosen_vector(entry.explorer, source, name, method, tuple(given or ()), set_a or [], set_b or [])
    what = name if source == "attribute" else f"picks A {sorted(map(int, set_a))} minus B {sorted(map(int, set_b))}"
    path = cache_file(
        f"{entry.key.replace('/', '--')}-{name if source == 'attribute' else 'picks'}-{method if source == 'attribute' else 'custom'}.safetensors"
    )
    save_vector(
        path, vector, model=entry.key, attribute=what, method=method if source == "attribute" else "custom", latent_dim=str(len(vector))
    )
    return str(path)


def scorecard(entry, name, method) -> str:
    """What the model card measured for this attribute's edit (metrics.edits): how often it adds the attribute, and
    the other attribute it changes most, so a user knows what to expect before dragging the strength. A conditional
    model's card measured switching its condition (metrics.condition_scorecard), which method "condition" shows; for
    a vector on such a model it says that the card's figure is not the vector's."""
    key = "guided_edits" if method == "guided" else "edits"
    cards = entry.evaluation.get(key, {})
    shown = display(entry.explorer, name)
    if name not in cards:
        return f"*The model card has no measured scorecard for {shown}; it measures {', '.join(cards)}.*" if cards else ""
    card = cards[name]
    switched = "strength" not in card  # metrics.condition_scorecard: the condition switched on, no strength
    if switched != (method == "condition"):
        measured = f"switching the {shown} condition on" if switched else f"the stored {shown} vector at strength {card['strength']:g}"
        lesson = (
            ": a conditional model's latent carries little of what its condition sets, so a vector may do little here. "
            "Choose the method 'switch the model's condition' to see the edit the card measured"
            if switched
            else ""
        )
        return f"*The model card measured {measured} ({card['flip_rate']:.0%} of test images without {shown} gained it), not this method{lesson}.*"
    worst = max(card["changed"], key=card["changed"].get)
    if switched:
        how = f"switching the {shown} condition on"
    else:
        how = f"{f'the classifier-guided {shown} edit' if key == 'guided_edits' else f'the stored {shown} vector'} at strength {card['strength']:g}"
    on = "of its own samples without it" if "edit" in card else "of test images without it"
    caveat = "" if method in ("mean_difference", "guided", "condition") else " (measured for the stored vector, not this method)"
    shows = f" The edit shown here is that one: the same latent decoded with {shown} off, then on." if switched else ""
    return (
        f"**Measured on this model** (its card){caveat}: {how} adds {shown} to {card['flip_rate']:.0%} {on} "
        f"(unedited: {card['baseline']:.0%}; n = {card['n']}); the other attribute it changes most: {worst}, in {card['changed'][worst]:.0%}.{shows}"
    )
