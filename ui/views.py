"""Shareable views: "Copy link to this view" puts what the page shows into its URL (?view=TOKEN), and opening that
URL restores it: the model, the tab, the current latent, the condition, the slider mode and every slider's value, the
attribute edit (source, attribute, method, held attributes, picks, strength), the attribute sliders held, and the
lesson shown.

The latent travels as its float32 bytes and the slider values as the page sent them, and the pictures are made again
by the same code from the same numbers, so the decoded and edited images come out bit for bit as the sender saw
them. A token is JSON, zlib-compressed, base64url: a 64-dimensional latent with its sliders is about 600 characters.
The uploaded image itself is not in the link (it could be anything, of any size): its latent is.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib

import gradio as gr
import numpy as np

from .attribute_vectors import scorecard

PARAMETER = "view"  # the query parameter
VERSION = 1
MAX_TOKEN = 20_000  # characters; a token is a few hundred
EDIT_FIELDS = ("source", "name", "method", "given", "set_a", "set_b", "strength")  # the attribute tab's controls, in order
COPY_LABEL, COPIED_LABEL = "Copy link to this view", "Link copied ✓"
# the page composes the link from where it is served (a Space's own address, or 127.0.0.1) and copies it: returns
# [the link, whether it was copied, the button's label]. Only where the page may not write the clipboard (served over
# plain http to another machine, or refused) is the link shown to copy by hand: a shown link pushes the page down.
COPY_JS = f"""async (token) => {{
    if (!token) return ["", false, "{COPY_LABEL}"];
    const url = new URL(window.location.href);
    url.search = "?{PARAMETER}=" + token;
    let copied = false;
    try {{
        await navigator.clipboard.writeText(url.toString());
        copied = true;
    }} catch (err) {{}}
    return [url.toString(), copied, copied ? "{COPIED_LABEL}" : "{COPY_LABEL}"];
}}"""
COPIED_FOR_MS = 2000  # how long the button says the link was copied


def encode(view: dict) -> str:
    return base64.urlsafe_b64encode(zlib.compress(json.dumps(view, separators=(",", ":")).encode(), 9)).decode().rstrip("=")


def decode(token: str) -> dict:
    """The view in a token; ValueError saying what is wrong with it."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
        raise ValueError("the link's view is empty or too long")
    try:
        view = json.loads(zlib.decompress(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)), bufsize=MAX_TOKEN))
    except (binascii.Error, zlib.error, ValueError, UnicodeDecodeError):
        raise ValueError("the link's view is damaged (copy the whole link)") from None
    if not isinstance(view, dict) or view.get("v") != VERSION:
        raise ValueError("the link's view is from another version of Latent Lab")
    return view


def latent_bytes(state: list[float]) -> str:
    return base64.urlsafe_b64encode(np.asarray(state, np.float32).tobytes()).decode()


def latent_state(text: str) -> list[float]:
    try:
        values = np.frombuffer(base64.urlsafe_b64decode(text), np.float32)
    except (binascii.Error, TypeError, ValueError):
        raise ValueError("the link's latent is damaged") from None
    if not np.isfinite(values).all():
        raise ValueError("the link's latent holds a value that is not a finite number")
    return [float(v) for v in values]


EXTRA_FIELDS = ("hold", "lesson")  # carried where a tab registered them: the attribute sliders held, the lesson shown


def make(shared, label, tab, state, class_choice, attribute_choice, mode, *rest) -> str:
    """The token of what the page shows; rest: the slider pool's values, the attribute tab's EDIT_FIELDS, then the
    registered EXTRA_FIELDS (extra_fields)."""
    entry = shared.entry(label)
    size = len(shared.view_fields["sliders"])
    pool, edit, extra = rest[:size], rest[size : size + len(EDIT_FIELDS)], rest[size + len(EDIT_FIELDS) :]
    view = {
        "v": VERSION,
        "model": entry.key,
        "tab": tab,
        "condition": [class_choice, attribute_choice or []],
        "mode": mode,
        "sliders": [None if v is None else float(v) for v in pool],
        "edit": dict(zip(EDIT_FIELDS, edit)),
    }
    view |= dict(zip(extra_fields(shared), extra, strict=True))
    if state:
        view["latent"] = latent_bytes(state)
    return encode(view)


def pending(view: dict | None, key: str, mode: str, state) -> list | None:
    """The slider values a view being opened sets for this model, mode and latent (None: it sets none), for the
    slider tab's refresh, which runs when the opened latent arrives."""
    if not view or view.get("model") != key or view.get("mode") != mode or view.get("state") != state:
        return None
    return view.get("sliders")


def open_view(shared, label: str, request: gr.Request) -> dict:
    """What the page opens on: the first model as usual, or the view in the URL's ?view= parameter. Returns
    {component: value} for the model-change outputs and views.extra_outputs."""
    token = request.query_params.get(PARAMETER) if request is not None else None
    view, problem = None, None
    if token:
        try:
            view = decode(token)
            label = _label_of(shared, view.get("model"))
            if view.get("latent"):
                view["state"] = latent_state(view["latent"])
        except ValueError as err:
            view, problem = None, str(err)
    # the picker is set only to open a view: set always, a slow first load would undo a quicker choice of a person's
    values = shared.model_change(label)
    values |= {shared.model: gr.update(value=label) if view else gr.update(), shared.tabs: gr.update(), shared.pending_view: None}
    if problem:
        gr.Warning(f"Could not open the shared view: {problem}. Showing the explorer as it opens.")
    if view is not None:
        _apply(shared, view, shared.entry(label), values)
    return values


def _apply(shared, view: dict, entry, values: dict) -> None:
    """Set in `values` what the view carries: its tab, slider mode, condition, edit and latent."""

    def put(component, value, **more):
        update = values.get(component)
        values[component] = {**(update if isinstance(update, dict) else {"__type__": "update"}), "value": value, **more}

    if view.get("tab") in shared.tab_ids:
        values[shared.tabs] = gr.Tabs(selected=view["tab"])
    if view.get("mode") in shared.view_fields["modes"]:
        put(shared.view_fields["mode"], view["mode"])
    class_choice, attribute_choice = (view.get("condition") or [None, []])[:2]
    if entry.conditions:
        put(
            shared.condition_class if entry.conditioned_on_classes else shared.condition_attributes,
            class_choice if entry.conditioned_on_classes else attribute_choice,
        )
    lesson = shared.view_fields.get("lesson")
    if lesson is not None and view.get("lesson") in [value for _, value in lesson.choices]:
        put(lesson, view["lesson"])
    hold = view.get("hold")
    if "hold" in shared.view_fields and isinstance(hold, list) and all(name in entry.explorer.attribute_names for name in hold):
        put(shared.view_fields["hold"], hold)
    edit = view.get("edit") or {}
    for field in EDIT_FIELDS:
        if field in edit and edit[field] is not None:
            put(shared.view_fields[field], edit[field])
    if edit.get("source") == "custom":  # the picks, not the attribute selector
        put(shared.view_fields["custom"], None, visible=True)
        put(shared.view_fields["name"], edit.get("name"), visible=False)
    elif isinstance(edit.get("name"), str) and "card" in shared.view_fields:  # the scorecard of the attribute and method opened
        put(shared.view_fields["card"], scorecard(entry, edit["name"], str(edit.get("method") or "mean_difference")))
    if "state" in view:
        if len(view["state"]) != entry.explorer.latent_dim:
            gr.Warning(
                f"The shared view's latent has {len(view['state'])} numbers; {entry.key} takes {entry.explorer.latent_dim}. Showing its first image instead."
            )
            return
        put(shared.latent, view["state"])
        values[shared.pending_view] = view


def extra_outputs(shared) -> list:
    """What open_view sets beyond a model change's outputs."""
    extra = [shared.view_fields[name] for name in extra_fields(shared)]
    return [shared.model, shared.tabs, shared.pending_view, *(c for c in extra if c not in shared.model_outputs)]


def extra_fields(shared) -> list[str]:
    """The EXTRA_FIELDS some tab registered, in order."""
    return [name for name in EXTRA_FIELDS if name in shared.view_fields]


def _label_of(shared, key) -> str:
    for label, entry in shared.catalog.entries.items():
        if entry.key == key:
            return label
    raise ValueError(f"its model {key!r} is not served here")


def controls() -> tuple[gr.Button, gr.Textbox, gr.Checkbox, gr.Textbox]:
    """The link button, the link (hidden unless the page could not copy it), whether it was copied, and the token
    between them (call inside the header row)."""
    button = gr.Button(COPY_LABEL, size="sm", scale=0, min_width=170, elem_id="copy-view-link")
    link = gr.Textbox(label="Link to this view (copy it)", buttons=["copy"], visible="hidden", elem_id="view-link", scale=2)
    copied = gr.Checkbox(visible=False)
    return button, link, copied, gr.Textbox(visible=False)


def build(shared, tab_blocks: list, button: gr.Button, link: gr.Textbox, copied: gr.Checkbox, token: gr.Textbox) -> None:
    """Wire the link controls, once every tab has registered its view fields; track which tab is showing."""
    current = gr.State(tab_blocks[0].id)
    for tab in tab_blocks:
        tab.select(lambda tab_id=tab.id: tab_id, None, current, api_name=False, show_progress="hidden")
    fields = shared.view_fields
    inputs = [
        shared.model,
        current,
        shared.latent,
        *shared.conditions,
        fields["mode"],
        *fields["sliders"],
        *(fields[f] for f in EDIT_FIELDS),
        *(fields[name] for name in extra_fields(shared)),
    ]
    hidden = dict(api_name=False, show_progress="hidden")
    # the button says "copied" for a moment, in its own width: nothing on the page moves
    button.click(lambda *args: make(shared, *args), inputs, token, **hidden).then(
        None, token, [link, copied, button], js=COPY_JS, **hidden
    ).then(lambda was_copied: gr.update(visible="hidden" if was_copied else True), copied, link, **hidden).then(
        None, None, button, js=f"() => new Promise((done) => setTimeout(() => done({COPY_LABEL!r}), {COPIED_FOR_MS}))", **hidden
    )
