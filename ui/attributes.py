"""Attribute arithmetic: add strength x an attribute vector to the current image's latent (White 2016).

A vector comes from the checkpoint's labels -- its binary attributes, or one-vs-rest classes for class-labelled
data -- by one of latent.ATTRIBUTE_METHODS, or from two sets of example images the user picks (mean(A) - mean(B)).
Fitted vectors are scored by ROC-AUC on held-out latents they were not fitted on. A GAN's labels come from its own
samples, labelled by the dataset's attribute classifier (latent.sampled_statistics). Where that classifier is loaded, a
classifier-guided edit (latent.guided_edit) follows its gradients at the current latent instead of one vector.
"""

from __future__ import annotations

from functools import lru_cache, partial
from pathlib import Path

import gradio as gr
import torch

from latent import ATTRIBUTE_METHODS, DEFAULT_STRENGTH, attribute_vector, custom_vector, edit, load_vector, roc_auc, save_vector
from latent.attributes import GUIDED_STEP, GUIDED_STEPS

from .common import Slider, cache_file, example_images, image_output, state_to_latent, to_pil, union_choices

METHODS = [
    ("stored vector: mean difference (White 2016); a GAN's: InterFaceGAN on labelled samples", "mean_difference"),
    ("balanced / bias-corrected", "balanced"),
    ("linear-SVM normal (InterFaceGAN)", "svm"),
    ("conditional: others projected out (InterFaceGAN)", "conditional"),
]
assert [value for _, value in METHODS] == list(ATTRIBUTE_METHODS)
GUIDED = ("classifier-guided: local steps, the others held (no single vector)", "guided")
NEEDS_GIVEN = ("balanced", "conditional")
TAKES_GIVEN = (*NEEDS_GIVEN, "guided")  # guided holds every other attribute unless some are ticked
SOURCES = [("a labelled attribute", "attribute"), ("my picks: mean(set A) - mean(set B)", "custom"), ("a vector file (.safetensors)", "file")]
SPLIT_SEED = 0  # fixed split of the held-out latents into a fitting half and a scoring half: stable AUCs


def labelled(explorer) -> tuple[list[str], torch.Tensor | None]:
    """Names of the vectors (classes, then attributes, as explorer.vectors) and the held-out latents' binary table
    [M, len(names)] (classes one-hot: one-vs-rest), or None when the checkpoint stores no held-out labels."""
    stats, meta = explorer.stats, explorer.metadata
    names = list(explorer.vectors)
    columns = []
    if "class_vectors" in stats:
        if "heldout_labels" not in stats:
            return names, None
        labels = stats["heldout_labels"].long()
        columns.append(torch.nn.functional.one_hot(labels, len(meta["label_names"])))
    if "attribute_vectors" in stats:
        if "heldout_attributes" not in stats:
            return names, None
        columns.append(stats["heldout_attributes"].long())
    if "heldout_latents" not in stats or not columns:
        return names, None
    return names, torch.cat(columns, dim=1).bool()


@lru_cache(maxsize=64)  # live strength updates reuse the fitted vector; explorers hash by identity
def fitted(explorer, name: str, method: str, given: tuple[str, ...]) -> tuple[torch.Tensor, float | None]:
    """(vector [D], held-out ROC-AUC or None). mean_difference comes from the stats (fitted on training latents) and is
    scored on all held-out latents; the other methods are fitted on one half of the held-out latents, scored on the other."""
    names, table = labelled(explorer)
    if method == "mean_difference":
        vector = explorer.attribute_vector(name)
        return vector, None if table is None else _auc(vector, explorer.stats["heldout_latents"], table[:, names.index(name)])
    if table is None:
        raise gr.Error(f"method {method!r} fits on held-out latents with labels, which this checkpoint does not store; use mean difference")
    z = explorer.stats["heldout_latents"]
    fit, test = _split(table[:, names.index(name)], name)
    try:
        vector = attribute_vector(z[fit], table[fit], names, name, method, given)
    except ValueError as err:
        raise gr.Error(str(err)) from None
    return vector, _auc(vector, z[test], table[test, names.index(name)])


def _split(y: torch.Tensor, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Fit and test indices: positives and negatives each halved, so both halves hold both groups."""
    if min(int(y.sum()), int((~y).sum())) < 2:
        raise gr.Error(f"too few held-out images with and without {name!r} ({int(y.sum())} of {len(y)}) to fit on one half and score on the other; use mean difference")
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(SPLIT_SEED))
    groups = [order[y[order]], order[~y[order]]]
    return torch.cat([g[0::2] for g in groups]), torch.cat([g[1::2] for g in groups])


def _auc(vector: torch.Tensor, z: torch.Tensor, y: torch.Tensor) -> float | None:
    try:
        return roc_auc(vector, z, y)
    except ValueError:  # one group only (an attribute every held-out image has, or none): nothing to rank
        return None


def method_label(explorer, method: str) -> str:
    """How the note names the method: a GAN's stored vectors are InterFaceGAN directions fitted to its labelled samples."""
    if method == "mean_difference":
        return "the SVM normal fitted to 10,000 labelled samples (InterFaceGAN)" if "labelled_by" in explorer.metadata else "mean difference (White 2016)"
    return dict((v, k) for k, v in METHODS)[method]


def example_choices(explorer) -> list[tuple[str, int]]:
    """('#3 class 7' or '#3 Smiling, Eyeglasses', 3) for each stored example (the first held-out images)."""
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

    return [(caption(i), i) for i in range(count)]


def edit_attribute(label, source, name, method, given, set_a, set_b, strength, state, class_choice, attribute_choice, vector_file=None, *, shared):
    """[current image, edited image, note]: the current latent plus strength x the chosen vector."""
    entry = shared.entry(label)
    z = state_to_latent(state, entry)
    if source == "attribute" and method == "guided":
        return _guided(entry, z, name, tuple(given or ()), float(strength), class_choice, attribute_choice)
    vector, note = _vector(entry.explorer, source, name, method, tuple(given or ()), set_a or [], set_b or [], vector_file)
    original, edited = _decoded(entry, torch.stack([z, edit(z, vector, float(strength))]), class_choice, attribute_choice)
    return original, edited, f"{note} Strength {float(strength):+.2f}; |vector| = {float(vector.norm()):.3f}."


def _guided(entry, z, name, given, strength, class_choice, attribute_choice):
    explorer = entry.explorer
    if explorer.classifier is None or not explorer.classifier.config.num_attributes or name not in explorer.classifier.names:
        has = "none is loaded" if explorer.classifier is None else (
            "the loaded one predicts classes, which a class-conditional model or the Sample tab controls" if not explorer.classifier.config.num_attributes
            else f"the loaded one does not predict {name!r}")  # fmt: skip
        raise gr.Error(f"a classifier-guided edit needs an attribute classifier of {entry.dataset} predicting {name!r} at the model's image size; {has}")
    hold = [g for g in given if g != name] or None
    y = entry.condition(class_choice, attribute_choice, 1)
    try:
        edited = explorer.guided_edit(z, name, strength, hold, y)
    except ValueError as err:
        raise gr.Error(str(err)) from None
    original, result = _decoded(entry, torch.stack([z, edited]), class_choice, attribute_choice)
    held = ", ".join(hold) if hold else "every other attribute"
    return original, result, (f"**{name}** by {GUIDED_STEPS} steps of {abs(strength) * GUIDED_STEP:.3f} latent units (strength {strength:+.2f} "
                              f"x {GUIDED_STEP:g}) along the classifier's gradient with {held} held fixed; they moved the latent by "
                              f"{float((edited - z).norm()):.3f}.")  # fmt: skip


def _decoded(entry, z: torch.Tensor, class_choice, attribute_choice) -> list:
    """One PIL image per latent of z [N, D], under the chosen condition (conditional models)."""
    images = entry.explorer.decode(z, entry.condition(class_choice, attribute_choice, len(z)))
    return [to_pil(image[None]) for image in images]


def _vector(explorer, source, name, method, given, set_a, set_b, vector_file=None) -> tuple[torch.Tensor, str]:
    if source == "custom":
        return _custom(explorer, set_a, set_b)
    if source == "file":
        if not vector_file:
            raise gr.Error("upload a vector file: a .safetensors file from 'Download this vector' or the /attribute_vector endpoint")
        try:
            vector, meta = load_vector(vector_file, explorer.latent_dim)
        except ValueError as err:
            raise gr.Error(f"{Path(str(vector_file)).name}: {err}") from None
        origin = f"{meta['attribute']} of {meta['model']} ({meta.get('method', '?')})" if {"attribute", "model"} <= set(meta) else "no record of its origin"
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
    score = "held-out ROC-AUC not available (no labelled held-out latents)" if auc is None else f"ROC-AUC {auc:.3f} on {where} (0.5: unrelated, 1: separates perfectly)"
    return vector, f"**{_display(explorer, name)}** by {method_label(explorer, method)}: {score}."


def _custom(explorer, set_a, set_b) -> tuple[torch.Tensor, str]:
    count = len(example_choices(explorer))
    if not count:
        raise gr.Error("this model stores no encoded example images to pick from (a GAN has no encoder: its held-out latents are its own samples); choose 'a labelled attribute'")
    picks = [[int(i) for i in s] for s in (set_a, set_b)]
    if not picks[0] or not picks[1]:
        raise gr.Error("pick at least one example for set A and one for set B")
    bad = [i for s in picks for i in s if not 0 <= i < count]
    if bad:
        raise gr.Error(f"example indices {bad} out of range; this model has examples 0..{count - 1}")
    z = explorer.stats["heldout_latents"]  # the examples are the first held-out images, already encoded
    vector = custom_vector(z[picks[0]], z[picks[1]])
    return vector, f"Custom vector: mean of {len(picks[0])} example(s) in A minus mean of {len(picks[1])} in B."


def _display(explorer, name: str) -> str:
    return f"class {name}" if name in explorer.metadata.get("label_names", []) else name


def edit_or_explain(label, source, name, method, given, set_a, set_b, strength, state, class_choice, attribute_choice, vector_file=None, *, shared):
    """edit_attribute for choices on the way and automatic triggers: an incomplete choice becomes a note beside the
    current image, not a popup."""
    try:
        return edit_attribute(label, source, name, method, given, set_a, set_b, strength, state, class_choice, attribute_choice, vector_file, shared=shared)
    except gr.Error as err:
        entry = shared.entry(label)
        has_latent = bool(state) and len(state) == entry.explorer.latent_dim
        current = _decoded(entry, state_to_latent(state, entry)[None], class_choice, attribute_choice)[0] if has_latent else None
        return current, None, f"*{err.message}*"


def download_vector(label, source, name, method, given, set_a, set_b, *, shared) -> str:
    """The chosen vector (a labelled attribute's or the picks') as a .safetensors file to download."""
    entry = shared.entry(label)
    if source == "attribute" and method == "guided":
        raise gr.Error("a classifier-guided edit has no single vector to save: choose a vector method")
    if source == "file":
        raise gr.Error("this vector came from a file already")
    vector, _ = _vector(entry.explorer, source, name, method, tuple(given or ()), set_a or [], set_b or [])
    what = name if source == "attribute" else f"picks A {sorted(map(int, set_a))} minus B {sorted(map(int, set_b))}"
    path = cache_file(f"{entry.key.replace('/', '--')}-{name if source == 'attribute' else 'picks'}-{method if source == 'attribute' else 'custom'}.safetensors")
    save_vector(path, vector, model=entry.key, attribute=what, method=method if source == "attribute" else "custom", latent_dim=str(len(vector)))
    return str(path)


def scorecard(entry, name, method) -> str:
    """What the model card measured for this attribute's edit (metrics.edits): how often it adds the attribute, and
    the other attribute it changes most, so a user knows what to expect before dragging the strength."""
    key = "guided_edits" if method == "guided" else "edits"
    cards = entry.evaluation.get(key, {})
    if name not in cards:
        return f"*The model card has no measured scorecard for {_display(entry.explorer, name)}; it measures {', '.join(cards)}.*" if cards else ""
    card = cards[name]
    worst = max(card["changed"], key=card["changed"].get)
    shown = _display(entry.explorer, name)
    if "strength" not in card:
        how = f"switching the {shown} condition on"
    else:
        how = f"{f'the classifier-guided {shown} edit' if key == 'guided_edits' else f'the stored {shown} vector'} at strength {card['strength']:g}"
    on = "of its own samples without it" if "edit" in card else "of test images without it"
    caveat = "" if method in ("mean_difference", "guided") else " (measured for the stored vector, not this method)"
    return (f"**Measured on this model** (its card){caveat}: {how} adds {shown} to {card['flip_rate']:.0%} {on} "
            f"(unedited: {card['baseline']:.0%}; n = {card['n']}); the other attribute it changes most: {worst}, in {card['changed'][worst]:.0%}.")  # fmt: skip


def _opening(names: list[str]) -> str | None:
    """The attribute the tab opens on: Smiling, the headline edit, where the model has it."""
    return "Smiling" if "Smiling" in names else (names[0] if names else None)


def _model_updates(entry) -> list:
    """[no-labels note, controls, source, attribute, scorecard, method, given, custom group, vector file, set A, set B, gallery, strength,
    images x2, note]"""
    explorer = entry.explorer
    names, table = labelled(explorer)
    picks = example_choices(explorer)
    methods = METHODS if table is not None else METHODS[:1]  # the fitting methods need labelled held-out latents
    if names and set(names) <= set(explorer.guided_attributes):
        methods = [*methods, GUIDED]
    sources = [s for s in SOURCES if (s[1] == "attribute" and names) or (s[1] == "custom" and picks)]
    sources += [SOURCES[2]] if sources else []  # a saved vector fits any model with vectors of its own to save
    if not sources:
        message = "This model's training data had no labels or attributes, and its checkpoint stores no encoded example images to pick from, so there is nothing to build an attribute vector from."
        if entry.explorer.is_generator:
            message = ("A GAN's attribute vectors come from its own samples labelled by the dataset's attribute classifier; "
                       f"{entry.dataset} has no attribute classifier (its classes are what a conditional GAN or the Sample tab controls).")  # fmt: skip
    elif not names:
        message = "This model's training data had no labels or attributes: build a vector from example images you pick (set A minus set B)."
    else:
        message = ""
    gallery = [(image, f"#{i}") for image, (_, i) in zip(example_images(entry, display=64), picks)]
    return [
        gr.update(value=message, visible=bool(message)),
        gr.update(visible=bool(sources)),
        gr.update(choices=sources or SOURCES, value=(sources or SOURCES)[0][1]),  # hidden without sources; a valid value all the same
        # a selector with nothing to offer keeps its choices and is hidden: emptied choices upset the browser's dropdown
        gr.update(choices=[(_display(explorer, n), n) for n in names], value=_opening(names), visible=True) if names else gr.update(value=None, visible=False),
        gr.update(value=scorecard(entry, _opening(names), "mean_difference") if names else "", visible=bool(names)),
        gr.update(choices=methods, value="mean_difference", visible=bool(names)),
        gr.update(choices=[(_display(explorer, n), n) for n in names[1:]], value=[], visible=False),
        gr.update(visible=bool(picks) and not names),
        gr.update(value=None, visible=False),
        gr.update(choices=picks, value=[]) if picks else gr.update(value=[]),
        gr.update(choices=picks, value=[]) if picks else gr.update(value=[]),
        gallery,
        gr.update(value=DEFAULT_STRENGTH),  # a strength chosen for another model's vectors means nothing here
        None, None, "",
    ]


def build(shared) -> None:
    # Gradio checks a choice against the component's choices in the session; a model change narrows them in the
    # browser, and starting from every model's choices lets API clients (who never see a model change) pass any
    explorers = [entry.explorer for entry in shared.catalog.entries.values()]
    every_name = union_choices([(_display(ex, n), n) for n in labelled(ex)[0]] for ex in explorers)
    every_pick = union_choices(example_choices(ex) for ex in explorers)
    with gr.Tab("Attribute arithmetic", id="attributes"):
        explain = gr.Markdown(visible=False)
        with gr.Row() as controls:
            with gr.Column(scale=3):
                source = gr.Radio(SOURCES, value="attribute", label="Vector from")
                name = gr.Dropdown(every_name, label="Attribute or class (classes are one-vs-rest)")
                card = gr.Markdown(elem_id="attribute-scorecard")
                method = gr.Radio([*METHODS, GUIDED], value="mean_difference", label="Method", info="balanced: mean difference within groups that share the held-fixed attributes; conditional: the SVM normal minus its projection on the held-fixed attributes' normals; guided: steps along the classifier's gradient, the held attributes' gradients projected out")
                given = gr.CheckboxGroup(every_name, label="Hold fixed (balanced / conditional / guided: none ticked holds all)", visible=False)
                with gr.Group(visible=False) as custom:
                    set_a = gr.Dropdown(every_pick, multiselect=True, label="Set A: examples with the feature")
                    set_b = gr.Dropdown(every_pick, multiselect=True, label="Set B: examples without it")
                    target = gr.Radio(["A", "B"], value="A", label="A click on an example puts it in (or takes it out of) set")
                    gallery = gr.Gallery(label="The examples: click to pick (captions give their index)", columns=6, height=240, allow_preview=False)
                vector_file = gr.File(label="Vector file (.safetensors, from 'Download this vector' or /attribute_vector)", file_types=[".safetensors"], visible=False, height=90)
                strength = Slider(-3, 3, value=DEFAULT_STRENGTH, step=0.05, label=f"Strength (vectors: 1 = the average gap between the groups; guided: {GUIDED_STEPS} steps of {GUIDED_STEP:g} x strength)")
            with gr.Column(scale=2):
                with gr.Row():
                    original = image_output("Current")
                    edited = image_output("Edited")
                note = gr.Markdown()
                save = gr.DownloadButton("Download this vector (.safetensors)", size="sm")
        shared.view_fields |= dict(source=source, name=name, method=method, given=given, set_a=set_a, set_b=set_b, strength=strength, custom=custom)
        inputs = [shared.model, source, name, method, given, set_a, set_b, strength, shared.latent, *shared.conditions, vector_file]
        outputs = [original, edited, note]
        run = partial(edit_attribute, shared=shared)
        strength.input(run, inputs, outputs, api_name="edit_attribute", trigger_mode="always_last", show_progress="hidden")
        # choices made along the way (a method before its hold-fixed ticks, set A before set B) are incomplete, not
        # mistakes: these triggers explain in the note instead of raising
        gr.on(
            [source.input, name.input, method.input, given.input, set_a.input, set_b.input, vector_file.upload, shared.latent.change],
            partial(edit_or_explain, shared=shared), inputs, outputs, api_name=False, trigger_mode="always_last", show_progress="hidden",
        )

        def toggle(target, set_a, set_b, evt: gr.SelectData):
            """A clicked example joins the target set (leaving the other), or leaves it if it was there."""
            index = int(evt.index)
            set_a, set_b = [int(i) for i in set_a or []], [int(i) for i in set_b or []]
            chosen, other = (set_a, set_b) if target == "A" else (set_b, set_a)
            chosen = [i for i in chosen if i != index] if index in chosen else [*chosen, index]
            other = [i for i in other if i != index]
            return (chosen, other) if target == "A" else (other, chosen)

        gallery.select(toggle, [target, set_a, set_b], [set_a, set_b], api_name=False).then(
            partial(edit_or_explain, shared=shared), inputs, outputs, api_name=False, show_progress="hidden"
        )
        save.click(partial(download_vector, shared=shared), [shared.model, source, name, method, given, set_a, set_b], save, api_name=False)

        def show(label, source, name, method, given):
            """Controls for the chosen source; hold-fixed choices are the other attributes, for the methods that take them."""
            explorer = shared.entry(label).explorer
            others = [n for n in labelled(explorer)[0] if n != name]
            by_attribute = source == "attribute"
            return (
                gr.update(visible=source == "custom"),
                gr.update(visible=source == "file"),
                gr.update(visible=by_attribute),
                gr.update(visible=by_attribute),
                gr.update(visible=by_attribute),
                gr.update(choices=[(_display(explorer, n), n) for n in others], value=[g for g in given or [] if g in others], visible=by_attribute and method in TAKES_GIVEN),
            )

        gr.on([source.input, name.input, method.input], show, [shared.model, source, name, method, given], [custom, vector_file, name, card, method, given], api_name=False)
        gr.on([name.input, method.input], lambda label, n, m: scorecard(shared.entry(label), n, m), [shared.model, name, method], card, api_name=False)
        shared.when_model_changes([explain, controls, source, name, card, method, given, custom, vector_file, set_a, set_b, gallery, strength, *outputs], _model_updates)
