"""Attribute arithmetic: add strength x an attribute vector to the current image's latent (White 2016).

A vector comes from the checkpoint's labels -- its binary attributes, or one-vs-rest classes for class-labelled
data -- by one of latent.ATTRIBUTE_METHODS, or from two sets of example images the user picks (mean(A) - mean(B)).
Fitted vectors are scored by ROC-AUC on held-out latents they were not fitted on. A GAN's labels come from its own
samples, labelled by the dataset's attribute classifier (latent.sampled_statistics). Where that classifier is loaded, a
classifier-guided edit (latent.guided_edit) follows its gradients at the current latent instead of one vector.

A conditional model (a CVAE) is edited by switching its condition: the same latent decoded under the header's condition,
then with the attribute switched on (or the class changed), which is what its card measured (metrics.condition_scorecard).
Its latent carries little of what the condition sets, so a vector there may do little: the vectors stay, as a lesson.
"""

from __future__ import annotations

from functools import partial

import gradio as gr
import torch

from latent import DEFAULT_STRENGTH, edit
from latent.attributes import GUIDED_STEP, GUIDED_STEPS

from .attribute_vectors import METHODS, NEEDS_GIVEN, chosen_vector, display, download_vector, example_choices, labelled, scorecard
from .common import Slider, example_images, image_output, page_spec, state_to_latent, to_pil, union_choices

GUIDED = ("classifier-guided: local steps, the others held (no single vector)", "guided")
CONDITION = ("switch the model's condition: the same latent decoded with it off, then on (conditional models)", "condition")
TAKES_GIVEN = (*NEEDS_GIVEN, "guided")  # guided holds every other attribute unless some are ticked
SOURCES = [
    ("a labelled attribute", "attribute"),
    ("my picks: mean(set A) - mean(set B)", "custom"),
    ("a vector file (.safetensors)", "file"),
]


def edit_attribute(
    label, source, name, method, given, set_a, set_b, strength, state, class_choice, attribute_choice, vector_file=None, *, shared
):
    """[current image, edited image, note]: the current latent plus strength x the chosen vector."""
    entry = shared.entry(label)
    z = state_to_latent(state, entry)
    if source == "attribute" and method == "guided":
        return _guided(entry, z, name, tuple(given or ()), float(strength), class_choice, attribute_choice)
    if source == "attribute" and method == "condition":
        return _switched(entry, z, name, float(strength), class_choice, attribute_choice)
    vector, note = chosen_vector(entry.explorer, source, name, method, tuple(given or ()), set_a or [], set_b or [], vector_file)
    original, edited = _decoded(entry, torch.stack([z, edit(z, vector, float(strength))]), class_choice, attribute_choice)
    return original, edited, f"{note} Strength {float(strength):+.2f}; |vector| = {float(vector.norm()):.3f}."


def drag_spec(label, source, name, method, given, set_a, set_b, state, vector_file=None, *, shared) -> str:
    """What the page needs to draw the strength slider's drag ticks itself (ui.common.page_spec: one slot, the chosen
    vector, at 0), so a drag redraws the edited picture with no server call until release; "" where the server must
    draw it: a guided edit or a switched condition (not a vector), an incomplete choice, no current latent."""
    entry = shared.entry(label)
    if method in ("guided", "condition") and source == "attribute" or not state or len(state) != entry.explorer.latent_dim:
        return ""
    try:
        vector, _ = chosen_vector(entry.explorer, source, name, method, tuple(given or ()), set_a or [], set_b or [], vector_file)
    except gr.Error:
        return ""
    return page_spec(entry, state_to_latent(state, entry), [{"at": 0.0, "direction": vector.tolist()}])


def _guided(entry, z, name, given, strength, class_choice, attribute_choice):
    explorer = entry.explorer
    if explorer.classifier is None or not explorer.classifier.config.num_attributes or name not in explorer.classifier.names:
        has = (
            "none is loaded"
            if explorer.classifier is None
            else (
                "the loaded one predicts classes, which a class-conditional model or the Sample tab controls"
                if not explorer.classifier.config.num_attributes
                else f"the loaded one does not predict {name!r}"
            )
        )
        raise gr.Error(
            f"a classifier-guided edit needs an attribute classifier of {entry.dataset} predicting {name!r} at the model's image size; {has}"
        )
    hold = [g for g in given if g != name] or None
    y = entry.condition(class_choice, attribute_choice, 1)
    try:
        edited = explorer.guided_edit(z, name, strength, hold, y)
    except ValueError as err:
        raise gr.Error(str(err)) from None
    original, result = _decoded(entry, torch.stack([z, edited]), class_choice, attribute_choice)
    held = ", ".join(hold) if hold else "every other attribute"
    return (
        original,
        result,
        (
            f"**{name}** by {GUIDED_STEPS} steps of {abs(strength) * GUIDED_STEP:.3f} latent units (strength {strength:+.2f} "
            f"x {GUIDED_STEP:g}) along the classifier's gradient with {held} held fixed; they moved the latent by "
            f"{float((edited - z).norm()):.3f}."
        ),
    )


def switchable(entry) -> list[str]:
    """The vector names (explorer.vectors) that are also the model's conditions: those a condition switch edits."""
    if entry.decodes_without_condition:
        return []
    return [n for n in labelled(entry.explorer)[0] if n in entry.conditions]


def _switched(entry, z, name, strength, class_choice, attribute_choice):
    """[current, edited, note]: z decoded under the header's condition, then with `name` switched: an attribute's
    value plus strength, kept within 0..1 (the values the model was trained on); a class changed to `name`."""
    shown = display(entry.explorer, name)
    if name not in switchable(entry):
        conditions = ", ".join(entry.conditions) if entry.conditions and not entry.decodes_without_condition else "nothing"
        raise gr.Error(
            f"{entry.key} is not conditioned on {shown} (its condition: {conditions}): switching the condition edits only "
            f"what it is conditioned on; choose a vector method for {shown}"
        )
    y = entry.condition(class_choice, attribute_choice, 1)
    switched = y.clone()
    if entry.conditioned_on_classes:
        switched[0] = entry.conditions.index(name)
        how = f"class {class_choice} (the condition above), then class {name}"
        same = f" The condition above is class {name} already: choose another class to see a change." if class_choice == name else ""
    else:
        i = entry.conditions.index(name)
        before = float(y[0, i])
        switched[0, i] = min(max(before + strength, 0.0), 1.0)
        after = float(switched[0, i])
        how = f"{name} = {before:g} (the condition above), then {after:g} ({before:g} + strength {strength:+.2f}, kept within 0..1)"
        same = (
            ""
            if after != before
            else f" {name} is {'on' if before else 'off'} in the condition above already: a {'negative' if before else 'positive'} strength switches it."
        )
    original, edited = (to_pil(image[None]) for image in entry.explorer.decode(torch.stack([z, z]), torch.cat([y, switched])))
    card = entry.evaluation.get("edits", {}).get(name, {})
    measured = "; the edit its card measures (the scorecard above)" if card and "strength" not in card else ""
    return original, edited, f"**{shown}** by switching {entry.key}'s condition: the same latent decoded with {how}{measured}.{same}"


def _decoded(entry, z: torch.Tensor, class_choice, attribute_choice) -> list:
    """One PIL image per latent of z [N, D], under the chosen condition (conditional models)."""
    images = entry.explorer.decode(z, entry.condition(class_choice, attribute_choice, len(z)))
    return [to_pil(image[None]) for image in images]


def edit_or_explain(
    label, source, name, method, given, set_a, set_b, strength, state, class_choice, attribute_choice, vector_file=None, *, shared
):
    """edit_attribute for choices on the way and automatic triggers: an incomplete choice becomes a note beside the
    current image, not a popup."""
    try:
        return edit_attribute(
            label, source, name, method, given, set_a, set_b, strength, state, class_choice, attribute_choice, vector_file, shared=shared
        )
    except gr.Error as err:
        entry = shared.entry(label)
        has_latent = bool(state) and len(state) == entry.explorer.latent_dim
        current = _decoded(entry, state_to_latent(state, entry)[None], class_choice, attribute_choice)[0] if has_latent else None
        return current, None, f"*{err.message}*"


def _opening(names: list[str]) -> str | None:
    """The attribute the tab opens on: Smiling, the headline edit, where the model has it."""
    return "Smiling" if "Smiling" in names else (names[0] if names else None)


class Components:
    """The tab's components, by name (_layout sets them): a model change and `show` set them through {component: value}."""

    explain: gr.Markdown  # why a model offers no vector (hidden otherwise)
    controls: gr.Row  # everything else
    source: gr.Radio
    name: gr.Dropdown
    card: gr.Markdown  # the model card's scorecard for the attribute
    method: gr.Radio
    given: gr.CheckboxGroup
    custom: gr.Group  # the picks: sets A and B, the target set, the examples
    set_a: gr.Dropdown
    set_b: gr.Dropdown
    target: gr.Radio
    gallery: gr.Gallery
    vector_file: gr.File
    strength: gr.Slider
    original: gr.Image
    edited: gr.Image
    note: gr.Markdown
    save: gr.DownloadButton
    spec: gr.Textbox  # what the page needs to draw the strength slider's drag ticks (ui/static/local_decode.js)

    @property
    def choice(self) -> list:
        """What picks the vector: its source, the attribute, the method, the held-fixed ones, sets A and B."""
        return [self.source, self.name, self.method, self.given, self.set_a, self.set_b]

    @property
    def outputs(self) -> list:
        """What an edit sets: the current image, the edited one, the note."""
        return [self.original, self.edited, self.note]


def _no_vector_message(entry, names, sources) -> str:
    """Why the tab offers nothing, or only picks ("" when it offers labelled attributes)."""
    if not sources:
        if entry.explorer.is_generator:
            return (
                "A GAN's attribute vectors come from its own samples labelled by the dataset's attribute classifier; "
                f"{entry.dataset} has no attribute classifier (its classes are what a conditional GAN or the Sample tab controls)."
            )
        return "This model's training data had no labels or attributes, and its checkpoint stores no encoded example images to pick from, so there is nothing to build an attribute vector from."
    if not names:
        return "This model's training data had no labels or attributes: build a vector from example images you pick (set A minus set B)."
    return ""


def _model_updates(entry, c: Components) -> dict:
    """{component: update} for a newly picked model: its sources, attributes, methods and examples; edits cleared."""
    explorer = entry.explorer
    names, table = labelled(explorer)
    picks = example_choices(explorer)
    methods = METHODS if table is not None else METHODS[:1]  # the fitting methods need labelled held-out latents
    if names and set(names) <= set(explorer.guided_attributes):
        methods = [*methods, GUIDED]
    switches = switchable(entry)
    if switches:  # a conditional model is edited by its condition: that comes first
        methods = [CONDITION, *methods]
    opening = _opening(names)
    method = "condition" if opening in switches else "mean_difference"
    sources = [s for s in SOURCES if (s[1] == "attribute" and names) or (s[1] == "custom" and picks)]
    sources += [SOURCES[2]] if sources else []  # a saved vector fits any model with vectors of its own to save
    message = _no_vector_message(entry, names, sources)
    return {
        c.explain: gr.update(value=message, visible=bool(message)),
        c.controls: gr.update(visible=bool(sources)),
        c.source: gr.update(
            choices=sources or SOURCES, value=(sources or SOURCES)[0][1]
        ),  # hidden without sources; a valid value all the same
        # a selector with nothing to offer keeps its choices and is hidden: emptied choices upset the browser's dropdown
        c.name: gr.update(choices=[(display(explorer, n), n) for n in names], value=opening, visible=True)
        if names
        else gr.update(value=None, visible=False),
        c.card: gr.update(value=scorecard(entry, opening, method) if names else "", visible=bool(names)),
        c.method: gr.update(choices=methods, value=method, visible=bool(names)),
        c.given: gr.update(choices=[(display(explorer, n), n) for n in names[1:]], value=[], visible=False),
        c.custom: gr.update(visible=bool(picks) and not names),
        c.vector_file: gr.update(value=None, visible=False),
        c.set_a: gr.update(choices=picks, value=[]) if picks else gr.update(value=[]),
        c.set_b: gr.update(choices=picks, value=[]) if picks else gr.update(value=[]),
        c.gallery: [(image, f"#{i}") for image, (_, i) in zip(example_images(entry, display=64), picks)],
        c.strength: gr.update(value=DEFAULT_STRENGTH),  # a strength chosen for another model's vectors means nothing here
        c.original: None,
        c.edited: None,
        c.note: "",
        c.spec: "",
    }


def toggle(target, set_a, set_b, evt: gr.SelectData):
    """A clicked example joins the target set (leaving the other), or leaves it if it was there."""
    index = str(evt.index)  # a pick's value (attribute_vectors.example_choices)
    set_a, set_b = list(set_a or []), list(set_b or [])
    chosen, other = (set_a, set_b) if target == "A" else (set_b, set_a)
    chosen = [i for i in chosen if i != index] if index in chosen else [*chosen, index]
    other = [i for i in other if i != index]
    return (chosen, other) if target == "A" else (other, chosen)


def show(label, source, name, method, given, *, shared, c: Components) -> dict:
    """Controls for the chosen source; hold-fixed choices are the other attributes, for the methods that take them."""
    explorer = shared.entry(label).explorer
    others = [n for n in labelled(explorer)[0] if n != name]
    by_attribute = source == "attribute"
    return {
        c.custom: gr.update(visible=source == "custom"),
        c.vector_file: gr.update(visible=source == "file"),
        c.name: gr.update(visible=by_attribute),
        c.card: gr.update(visible=by_attribute),
        c.method: gr.update(visible=by_attribute),
        c.given: gr.update(
            choices=[(display(explorer, n), n) for n in others],
            value=[g for g in given or [] if g in others],
            visible=by_attribute and method in TAKES_GIVEN,
        ),
    }


def build(shared) -> None:
    # Gradio checks a choice against the component's choices in the session; a model change narrows them in the
    # browser, and starting from every model's choices lets API clients (who never see a model change) pass any
    explorers = [entry.explorer for entry in shared.catalog.entries.values()]
    every_name = union_choices([(display(ex, n), n) for n in labelled(ex)[0]] for ex in explorers)
    every_pick = union_choices(example_choices(ex) for ex in explorers)
    with gr.Tab("Attribute arithmetic", id="attributes"):
        c = _layout(every_name, every_pick)
        _wire(shared, c)


def _layout(every_name: list, every_pick: list) -> Components:
    """The vector's controls beside the current and the edited image."""
    c = Components()
    c.explain = gr.Markdown(visible=False)
    with gr.Row() as c.controls:
        with gr.Column(scale=3):
            c.source = gr.Radio(SOURCES, value="attribute", label="Vector from")
            c.name = gr.Dropdown(every_name, label="Attribute or class (classes are one-vs-rest)")
            c.card = gr.Markdown(elem_id="attribute-scorecard")
            c.method = gr.Radio(
                [*METHODS, GUIDED, CONDITION],
                value="mean_difference",
                label="Method",
                info="balanced: mean difference within groups that share the held-fixed attributes; conditional: the SVM normal minus its projection on the held-fixed attributes' normals; guided: steps along the classifier's gradient, the held attributes' gradients projected out; switch the condition: a conditional model decodes the same latent under another condition",
            )
            c.given = gr.CheckboxGroup(
                every_name, label="Hold fixed (balanced / conditional / guided: none ticked holds all)", visible=False
            )
            with gr.Group(visible=False) as c.custom:
                c.set_a = gr.Dropdown(every_pick, multiselect=True, label="Set A: examples with the feature")
                c.set_b = gr.Dropdown(every_pick, multiselect=True, label="Set B: examples without it")
                c.target = gr.Radio(["A", "B"], value="A", label="A click on an example puts it in (or takes it out of) set")
                c.gallery = gr.Gallery(
                    label="The examples: click to pick (captions give their index)", columns=6, height=240, allow_preview=False
                )
            c.vector_file = gr.File(
                label="Vector file (.safetensors, from 'Download this vector' or /attribute_vector)",
                file_types=[".safetensors"],
                visible=False,
                height=90,
            )
            c.strength = Slider(
                -3,
                3,
                value=DEFAULT_STRENGTH,
                step=0.05,
                label=f"Strength (vectors: 1 = the average gap between the groups; guided: {GUIDED_STEPS} steps of {GUIDED_STEP:g} x strength; condition: added to the attribute's value, kept within 0..1)",
                elem_id="attribute-strength",  # local_decode.js draws its drags for a vector edit
            )
        # on a phone the pictures go above the controls and stay pinned while the strength is dragged (ui.CSS)
        with gr.Column(scale=2, elem_id="attribute-pictures"):
            with gr.Row(elem_id="attribute-images"):
                c.original = image_output("Current")
                c.edited = image_output("Edited", elem_id="attribute-edited")
            c.note = gr.Markdown()
            c.save = gr.DownloadButton("Download this vector (.safetensors)", size="sm")
            c.spec = gr.Textbox(visible="hidden", elem_id="attribute-decode-spec")
    return c


def _wire(shared, c: Components) -> None:
    shared.view_fields |= dict(
        source=c.source,
        name=c.name,
        method=c.method,
        given=c.given,
        set_a=c.set_a,
        set_b=c.set_b,
        strength=c.strength,
        custom=c.custom,
        card=c.card,  # not carried by a view: set from its attribute and method (ui.views)
    )
    inputs = [shared.model, *c.choice, c.strength, shared.latent, *shared.conditions, c.vector_file]
    spec_inputs = [shared.model, *c.choice, shared.latent, c.vector_file]
    run = partial(edit_attribute, shared=shared)
    c.strength.input(run, inputs, c.outputs, api_name="edit_attribute", trigger_mode="always_last", show_progress="hidden")
    # choices made along the way (a method before its hold-fixed ticks, set A before set B) are incomplete, not
    # mistakes: these triggers explain in the note instead of raising. Both pictures are decoded under the header's
    # condition, so a person's change of it redraws them. Then the vector the page draws the strength's drags with
    # follows what picked it (the strength itself does not change it).
    spec = dict(fn=partial(drag_spec, shared=shared), inputs=spec_inputs, outputs=c.spec, api_name=False, show_progress="hidden")
    gr.on(
        [
            *(control.input for control in c.choice),
            c.vector_file.upload,
            shared.latent.change,
            *(control.input for control in shared.conditions),
        ],
        partial(edit_or_explain, shared=shared),
        inputs,
        c.outputs,
        api_name=False,
        trigger_mode="always_last",
        show_progress="hidden",
    ).then(**spec)
    c.gallery.select(toggle, [c.target, c.set_a, c.set_b], [c.set_a, c.set_b], api_name=False).then(
        partial(edit_or_explain, shared=shared), inputs, c.outputs, api_name=False, show_progress="hidden"
    ).then(**spec)
    c.save.click(partial(download_vector, shared=shared), [shared.model, *c.choice], c.save, api_name=False)
    gr.on(
        [c.source.input, c.name.input, c.method.input],
        partial(show, shared=shared, c=c),
        [shared.model, c.source, c.name, c.method, c.given],
        [c.custom, c.vector_file, c.name, c.card, c.method, c.given],
        api_name=False,
    )
    gr.on(
        [c.name.input, c.method.input],
        lambda label, n, m: scorecard(shared.entry(label), n, m),
        [shared.model, c.name, c.method],
        c.card,
        api_name=False,
    )
    model_outputs = [c.explain, c.controls, c.source, c.name, c.card, c.method, c.given, c.custom, c.vector_file, c.set_a, c.set_b]
    shared.when_model_changes([*model_outputs, c.gallery, c.strength, *c.outputs, c.spec], partial(_model_updates, c=c))
