"""Latent sliders: the current image's latent as one slider per dimension (most informative first, ranges from
the aggregate posterior's 1st..99th percentiles), per principal direction of the latent means, or per named attribute
(Smiling, Eyeglasses, ...: each attribute vector made independent of the others, latent.independent_directions, with
a hold box per attribute). Dragging decodes live. A model with a 2-D latent also gets its decoded manifold with the
current point marked. An InfoGAN also gets its codes: the categorical code as a selector and a slider per continuous
code."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import partial

import gradio as gr
import torch

from latent import ACTIVE_KL
from latent.sliders import ACTIVE_VARIANCE_FRACTION
from metrics.edits import most_changed_other

from . import views
from .common import Slider, checked_number, image_output, latent_to_state, page_spec, state_to_latent, to_pil, union_choices
from .manifold import manifold

MAX_ACTIVE = 16  # sliders shown for used dimensions; Gradio components exist up front, so the pool is fixed
MAX_INACTIVE = 16  # sliders in the collapsed "inactive" accordion
MAX_CODES = 4  # InfoGAN continuous-code sliders
CODE_LIMIT = 2.0  # their range: +-2, twice what the codes were trained on
MODES = [
    ("dimensions, most informative first", "kl"),
    ("principal directions of the latent means", "pca"),
    ("named attributes", "attributes"),  # models whose stats hold attribute vectors
]
STEPS = 200  # slider resolution: steps across a slider's range
# Gradio checks a slider's input against its range; refresh narrows each session's ranges, and this wide starting
# range lets an API client that never saw a refresh send any latent value to /decode
API_RANGE = 1e4

# the pool's values as one list, read from the sliders themselves (null: a slider not shown). Drag ticks and releases
# send it as one input instead of 32, and /decode runs with preprocess=False: Gradio preprocesses each input of a call
# in a worker thread of its own. With 16 clients calling a trivial endpoint, 37 preprocessed inputs cost the server
# 17.4 ms of CPU a call, one input 11.8 ms, and 37 unprocessed ones 11.6 ms. The handlers check their inputs themselves.
POOL_VALUES_JS = f"""Array.from({{length: {MAX_ACTIVE + MAX_INACTIVE}}}, (_, i) => {{
    const range = document.querySelector(`#latent-slider-${{i}} input[type=range]`);
    return range ? Number(range.value) : null;
}})"""
# a drag tick also says whether the page decodes this drag itself (ui/static/local_decode.js)
LIVE_JS = f"""(live, label, mode, state, cls, attrs, values, held) => [
    !!(window.latentLab && window.latentLab.decodesTicks()), label, mode, state, cls, attrs, {POOL_VALUES_JS}, held
]"""
RELEASE_JS = f"(label, mode, state, cls, attrs, values, held) => [label, mode, state, cls, attrs, {POOL_VALUES_JS}, held]"

_slots: dict[tuple[str, str], list[int | None]] = {}  # (model key, mode) -> slots(): at most two per served model


@dataclass
class Controls:
    """The tab's components, by name: refresh and a model change set them through {component: value}."""

    mode: gr.Radio
    hold: gr.CheckboxGroup  # attributes mode: the attributes kept fixed while the others move
    pool: list  # MAX_ACTIVE + MAX_INACTIVE sliders, active ones first
    accordion: gr.Accordion  # holds the inactive ones
    codes: gr.Group  # an InfoGAN's code controls: the category selector and the continuous-code sliders
    category: gr.Dropdown
    code_sliders: list
    decoded: gr.Image
    manifold: gr.Image
    note: gr.Markdown
    spec: gr.Textbox  # what the page's own decoder needs (local_spec)
    reset: gr.Button
    randomise: gr.Button

    @property
    def refreshed(self) -> list:
        """The components refresh sets."""
        return [
            *self.pool,
            self.hold,
            self.accordion,
            self.codes,
            self.category,
            *self.code_sliders,
            self.decoded,
            self.manifold,
            self.note,
            self.spec,
        ]


def layout(entry, z: torch.Tensor, mode: str, held: list[str] = ()) -> list:
    """The slider pool's specs: MAX_ACTIVE active ones, then MAX_INACTIVE inactive ones, None for unused slots (named
    attributes: in the stats' order, held ones in place). The order depends on the stats only, so /decode can rebuild it
    to know which slider moves which index."""
    return _pool(entry.explorer.sliders(z, mode, held=held), mode)


def slots(entry, mode: str) -> list[int | None]:
    """Which latent index (or principal direction) each pool slider moves, None for unused slots. The order depends on
    the stats only, so it is worked out once per model and mode: a drag tick does not rebuild the specs."""
    key = (entry.key, mode)
    if key not in _slots:
        _slots[key] = [None if spec is None else spec.index for spec in layout(entry, torch.zeros(entry.explorer.latent_dim), mode)]
    return _slots[key]


def _pool(specs: list, mode: str) -> list:
    """layout's slots for the explorer's slider specs, most informative first (attributes: in order, held in place)."""
    if mode == "attributes":
        specs = specs[: MAX_ACTIVE + MAX_INACTIVE]
        return [*specs, *[None] * (MAX_ACTIVE + MAX_INACTIVE - len(specs))]
    active = [s for s in specs if s.active][:MAX_ACTIVE]
    inactive = [s for s in specs if not s.active][:MAX_INACTIVE]
    return [*active, *[None] * (MAX_ACTIVE - len(active)), *inactive, *[None] * (MAX_INACTIVE - len(inactive))]


def decode(label, mode, state, class_choice, attribute_choice, values, held=None, *, shared):
    """The image of the current latent with the pool's slider values applied -- values: a list of up to
    MAX_ACTIVE + MAX_INACTIVE numbers in the pool's order, None (or missing) for a slider left at the current image's
    value; held: in mode "attributes", the attributes kept fixed -- and the manifold with the point marked. Its inputs
    arrive unprocessed (POOL_VALUES_JS): checked here."""
    entry = shared.entry(label)
    mode = _check_mode(mode)
    held = _check_held(entry, held)
    if not isinstance(values, list) or len(values) > MAX_ACTIVE + MAX_INACTIVE:
        raise gr.Error(
            f"slider values: expected a list of at most {MAX_ACTIVE + MAX_INACTIVE} numbers (null: left as is), got {values!r:.80}"
        )
    values = [None if v is None else checked_number(f"slider {i}", v, -API_RANGE, API_RANGE) for i, v in enumerate(values)]
    if attribute_choice is not None and (not isinstance(attribute_choice, list) or not all(isinstance(a, str) for a in attribute_choice)):
        raise gr.Error(f"attributes: expected a list of attribute names, got {attribute_choice!r:.80}")
    return _render(entry, _moved(entry, mode, state_to_latent(state, entry), values, held), class_choice, attribute_choice)


def _moved(entry, mode, z: torch.Tensor, values, held: list[str] = ()) -> torch.Tensor:
    """Latent z with the pool's slider values applied (a hidden slider's value is ignored; a held attribute's direction
    is zero, latent.independent_directions)."""
    moved = {index: float(v) for index, v in zip(slots(entry, mode), values) if index is not None and v is not None}
    return entry.explorer.apply_sliders(z, moved, mode, held=held)


def _check_held(entry, held) -> list[str]:
    """The attributes held (a list of the model's attribute names; None: none)."""
    if held is None:
        return []
    if not isinstance(held, list) or not all(isinstance(name, str) and name in entry.explorer.attribute_names for name in held):
        known = ", ".join(entry.explorer.attribute_names) or "none"
        raise gr.Error(f"held attributes: expected a list of {entry.key}'s attribute names ({known}), got {held!r:.80}")
    return held


def decode_live(live, label, mode, state, class_choice, attribute_choice, values, held=None, *, shared):
    """decode for a drag tick (LIVE_JS); nothing when the page decodes the drag itself (it has the model's exported
    decoder), which then sends the final values to decode on release."""
    if live is True:
        return [gr.skip(), gr.skip()]
    return decode(label, mode, state, class_choice, attribute_choice, values, held, shared=shared)


def refresh(label, mode, state, class_choice, attribute_choice, held=None, view=None, keep=None, *, shared, controls: Controls) -> dict:
    """Slider updates, accordion, images and note for the current latent. Runs on its own (new model, new latent),
    so a missing latent is explained in the note rather than raised. view: a shared view being opened (ui.views),
    whose slider values this latent then takes; keep: the pool's values to keep (a new hold set: the held ones go
    back to 0)."""
    entry = shared.entry(label)
    mode = _check_mode(mode)
    held = _check_held(entry, held) if mode == "attributes" else []
    if not state or len(state) != entry.explorer.latent_dim:
        missing = "No current image for this model yet: reconstruct one, pick one on the latent map, or press Randomise."
        return {**_cleared(entry, controls), controls.note: missing}
    z = state_to_latent(state, entry)
    every = entry.explorer.sliders(z, mode, held=held)
    specs = _pool(every, mode)
    kept = keep if isinstance(keep, list) and len(keep) == len(specs) else None
    opened = views.pending(view, entry.key, mode, state) or kept
    values = (
        [None if s is None else (0.0 if not s.active else v) for s, v in zip(specs, opened)]
        if opened
        else [None if s is None else s.value for s in specs]
    )
    inactive = sum(s is not None for s in specs[MAX_ACTIVE:])
    decoded, manifold = _render(entry, _moved(entry, mode, z, values, held) if opened else z, class_choice, attribute_choice)
    return {
        **{
            slider: gr.update(visible=False)
            if s is None
            else _slider_update(s, v, slider_help(entry, s, mode, held), slider_label(entry, s, mode))
            for slider, s, v in zip(controls.pool, specs, values)
        },
        controls.hold: gr.update(visible=mode == "attributes" and bool(entry.explorer.attribute_names)),
        controls.accordion: gr.update(visible=inactive > 0, label=_inactive_label(mode, inactive)),
        **_code_updates(entry, z, controls),
        controls.decoded: decoded,
        controls.manifold: manifold,
        controls.note: _note(entry, mode, specs, len(every)),
        controls.spec: local_spec(entry, z, mode, specs, held),
    }


def slider_label(entry, spec, mode: str) -> str:
    """A latent dimension's label, followed by the ground-truth factor it carries most and that factor's share of
    information in it (the card's disentanglement suite), where the card has them."""
    dims = (entry.evaluation.get("disentanglement") or {}).get("dims") or []
    if mode != "kl" or spec.index >= len(dims):
        return spec.label
    return f"{spec.label} · {dims[spec.index]['factor']} {dims[spec.index]['score']:.2f}"


def slider_help(entry, spec, mode: str, held: list[str]) -> str | None:
    """A slider's help, where the model card measured it: an attribute slider's scorecard at full scale, or what a
    latent dimension's slider, dragged across its range, changes of its factor and of the others."""
    if mode == "kl":
        card = (entry.evaluation.get("factor_sliders") or {}).get(str(spec.index))
        if not card:
            return None
        worst = most_changed_other(card)
        own = card["changes"][card["factor"]]
        return (
            f"card: across its range it changes {card['factor']} on {own:.0%} of test faces, "
            f"and {worst} (the most of the others) on {card['changes'][worst]:.0%}"
        )
    if mode != "attributes":
        return None
    if not spec.active:
        return "held: fixed while the others move" if spec.label in held else "cannot move while the held attributes stay fixed"
    card = (entry.evaluation.get("slider_edits") or {}).get(spec.label)
    try:
        worst = max(card["changed"], key=card["changed"].get)
        flips, strength = card["flip_rates"][spec.label], card["strengths"][spec.label]
        return f"card: at {strength:+g} it adds {spec.label} to {flips:.0%} of test faces without it; at most {card['changed'][worst]:.0%} change {worst}"
    except (KeyError, TypeError, ValueError):  # not measured (an older card), or not a scorecard
        return None


def local_spec(entry, z: torch.Tensor, mode: str, specs: list, held: list[str] = ()) -> str:
    """What the page needs to draw drag ticks itself (ui.common.page_spec): per pool slot None or the slider's affine
    map (latent = z + sum over slots of (value - at) * direction, latent.slider_axes)."""
    if not entry.decodes_without_condition:
        return ""
    at, directions = entry.explorer.slider_axes(z, [s.index for s in specs if s is not None], mode, held=held)
    axes = iter(zip(at.tolist(), directions.tolist()))
    return page_spec(entry, z, [None if s is None else dict(zip(("at", "direction"), next(axes))) for s in specs])


def set_codes(label, state, category, *values, shared):
    """The current latent with an InfoGAN's codes set -- the categorical code to `category`, the continuous codes to
    `values` (extra values are ignored: the pool holds MAX_CODES sliders) -- which becomes the current latent, and its image."""
    entry = shared.entry(label)
    if not entry.model.has_structured_codes:
        raise gr.Error(f"{entry.key} is not an InfoGAN: it has no categorical or continuous codes to set")
    z = state_to_latent(state, entry)
    cfg = entry.config
    if len(values) < cfg.continuous or any(v is None for v in values[: cfg.continuous]):
        raise gr.Error(f"{entry.key} has {cfg.continuous} continuous code(s): give a value for each")
    try:
        category = None if category in (None, "") else int(category)
        z = entry.model.with_codes(z[None], category, [float(v) for v in values[: cfg.continuous]])[0]
    except ValueError as err:
        raise gr.Error(str(err)) from None
    return latent_to_state(z), to_pil(entry.explorer.decode(z[None]))


def _code_updates(entry, z: torch.Tensor | None, controls: Controls) -> dict:
    """The code group, category selector and continuous-code sliders: an InfoGAN's codes in latent z, hidden otherwise."""
    code_controls = [controls.codes, controls.category, *controls.code_sliders]
    if not entry.model.has_structured_codes or z is None:
        return dict.fromkeys(code_controls, gr.update(visible=False))
    categorical, continuous = entry.model.code_slices
    values = z[continuous].tolist()
    category = gr.update(
        choices=[str(i) for i in range(entry.config.categories)],
        value=str(int(z[categorical].argmax())),
        visible=entry.config.categories > 0,
    )
    # an inverted latent's codes may lie beyond the sliders' range: show them at its end
    sliders = [
        gr.update(visible=i < len(values), value=round(min(max(values[i], -CODE_LIMIT), CODE_LIMIT), 3) if i < len(values) else 0)
        for i in range(MAX_CODES)
    ]
    return dict(zip(code_controls, [gr.update(visible=True), category, *sliders], strict=True))


def randomise(label, class_choice=None, attribute_choice=None, *, shared) -> list[float]:
    """A fresh random latent (prior, or a Gaussian fitted to an AE's codes) that becomes the current latent; a
    class-conditional prior draws it for the chosen class."""
    entry = shared.entry(label)
    y = entry.condition(class_choice, attribute_choice, 1, sampling=True) if entry.explorer.prior is not None else None
    return latent_to_state(entry.explorer.sample_latent(1, seed=random.randrange(2**31), y=y)[0])


def _cleared(entry, controls: Controls) -> dict:
    """Every control hidden or emptied, the manifold's place kept for a model with a 2-D latent."""
    return {
        **dict.fromkeys([*controls.pool, controls.accordion], gr.update(visible=False)),
        controls.hold: gr.update(visible=False, choices=entry.explorer.attribute_names, value=[]),
        **_code_updates(entry, None, controls),
        controls.decoded: None,
        controls.manifold: gr.update(value=None, visible=entry.explorer.latent_dim == 2),
        controls.note: "",
        controls.spec: "",
    }


def opening_mode(entry) -> str:
    """The sliders a model opens on: a VQ-VAE's principal directions, which move many cells at once, so every tick
    changes some cell's code (40 of 40 ticks of a drag on faces-vqvae and fashion-vqvae); one pre-quantisation number
    snaps to the same code over most of its range (3-11 of 40). Other models: their dimensions."""
    return "pca" if entry.model.code_levels else "kl"


def _check_mode(mode):
    if mode not in [value for _, value in MODES]:
        raise gr.Error(f"unknown slider mode {mode!r}; accepted: {', '.join(v for _, v in MODES)}")
    return mode


def _slider_update(spec, value: float, info: str | None, label: str) -> dict:
    """A visible slider for spec at `value`, on a round step (a power of ten, about STEPS across) so the numbers read
    cleanly; the range is widened to whole steps (and to the value) and the value shown to the step's decimals. An
    inactive attribute slider (held) stays in place, fixed at 0; info: the help under it."""
    step = 10.0 ** math.floor(math.log10((spec.max - spec.min) / STEPS))
    digits = max(0, -math.floor(math.log10(step)))
    low, high = (
        round(math.floor(min(spec.min, value) / step) * step, digits),
        round(math.ceil(max(spec.max, value) / step) * step, digits),
    )
    return gr.update(
        visible=True, label=label, minimum=low, maximum=high, value=value, step=step, precision=digits, info=info, interactive=spec.active
    )


def _inactive_label(mode, count: int) -> str:
    if mode == "attributes":
        return f"more attributes ({count})"
    if mode == "pca":
        return f"unused directions ({count}; < {ACTIVE_VARIANCE_FRACTION:.1%} of the variance)"
    return f"inactive dimensions ({count}; KL < {ACTIVE_KL} nats)"


def _note(entry, mode, specs, total: int) -> str:
    """What the sliders are; specs: the pool's slots, total: how many sliders the explorer offers."""
    shown = sum(s is not None for s in specs)
    if mode == "attributes" and not entry.explorer.attribute_names:
        return "This model's statistics hold no attribute vectors: its dataset has no attributes (the dimensions or the principal directions work on any model)."
    if mode == "attributes":
        return (
            "One slider per attribute, 0 at the current image: each adds its attribute's vector, with the other attributes' "
            "vectors projected out so the sliders do not drag each other (InterFaceGAN's conditional manipulation, Shen et al. 2020); "
            "attributes that exclude each other (hair colours) are not separated. Hold keeps an attribute fixed: its vector is "
            "projected out of every slider. At ±1 a slider moves a face as far as the average gap between faces with and without it."
        )
    if mode == "pca" and entry.explorer.is_generator:
        what = (
            "GANSpace directions (Härkönen et al. 2020): principal directions of the generator's first feature map over prior draws, "
            "carried back to z; ordered by the share of feature variance each holds, ranges ±3 standard deviations."
        )
    elif mode == "pca":
        what = "Principal directions of the training latents' means, by decreasing variance; each slider moves the latent along one of them, ranges ±3 standard deviations."
    elif entry.explorer.is_generator:
        what = "Noise dimensions of z: N(0, 1) each a priori, so a GAN gives no order to rank them by (try the principal directions); ranges span the prior's 1st–99th percentiles."
        what += " The InfoGAN's codes have their own controls below." if entry.model.has_structured_codes else ""
    elif "kl" in entry.explorer.stats:
        what = "Latent dimensions ordered by mean KL (the information each carries); ranges span the aggregate posterior's 1st–99th percentiles."
    else:
        what = (
            "Latent dimensions ordered by the spread of the codes (a deterministic AE has no KL); ranges span their 1st–99th percentiles."
        )
    rest = f" Showing {shown} of {total}; the others keep the current image's values." if shown < total else ""
    if entry.model.code_levels and mode == "kl":
        rest += (
            " A VQ-VAE snaps each cell to its nearest code, so one number changes the picture only where it crosses into another "
            "code's region; the principal directions move many cells at once, and every step changes some cell's code."
        )
    if mode == "kl" and (entry.evaluation.get("disentanglement") or {}).get("dims"):
        rest += (
            " Each dimension is labelled with the ground-truth factor it carries most, and the share of that factor's information "
            "it holds (1: all of it; the model card's disentanglement metrics)."
        )
    return what + rest


def _render(entry, z: torch.Tensor, class_choice, attribute_choice) -> list:
    """[decoded image, manifold (None unless the latent is 2-D)] of latent z [D]."""
    image = picture(entry, z, entry.condition(class_choice, attribute_choice, 1))
    return [image, manifold(entry, z, class_choice, attribute_choice) if entry.explorer.latent_dim == 2 else None]


def picture(entry, z: torch.Tensor, y: torch.Tensor | None = None):
    """The decoded image of latent z [D] (condition y), at the model's own size (the page scales it up, pixelated: a
    drag tick encodes 16x fewer PNG pixels than at the display size). ui.routes draws drag ticks with it too."""
    return to_pil(entry.explorer.decode(z[None], y), display=1)


def _slider_columns(count: int, first: int = 0) -> list[gr.Slider]:
    """count hidden sliders, pool slots first.., laid out in two columns (half the height of one), filled row by row."""
    with gr.Row():
        columns = [gr.Column(min_width=240), gr.Column(min_width=240)]
    sliders = []
    for i in range(count):
        with columns[i % 2]:
            sliders.append(
                Slider(-API_RANGE, API_RANGE, value=0, visible=False, elem_id=f"latent-slider-{first + i}")
            )  # local_decode.js reads slot i
    return sliders


def build(shared) -> None:
    with gr.Tab("Latent sliders", id="sliders"):
        controls, live, values = _layout(shared)
    _wire(shared, controls, live, values)


def _layout(shared) -> tuple[Controls, gr.Checkbox, gr.JSON]:
    """The sliders (with a mode, reset and randomise above them), an InfoGAN's code controls, and the pictures
    beside them; plus the hidden inputs of a drag tick and a release (LIVE_JS, RELEASE_JS)."""
    with gr.Row():
        with gr.Column(scale=2):
            mode = gr.Radio(MODES, value=opening_mode(shared.first), label="Sliders over")
            # every model's attributes to start with: Gradio checks a choice against the session's choices
            names = union_choices([(n, n) for n in e.explorer.attribute_names] for e in shared.catalog.entries.values())
            hold = gr.CheckboxGroup(
                names, label="Hold (kept fixed while the other attributes move)", visible=False, elem_id="attribute-hold"
            )
            with gr.Row():
                reset = gr.Button("Reset to the current image")
                randomise_button = gr.Button("Randomise")
            note = gr.Markdown()
            pool = _slider_columns(MAX_ACTIVE)
            with gr.Accordion("inactive dimensions", open=False, visible=False) as accordion:
                pool += _slider_columns(MAX_INACTIVE, first=MAX_ACTIVE)
            with gr.Group(visible=False) as codes:  # InfoGAN: its codes, set directly
                categories = max((e.config.categories for e in shared.catalog.entries.values() if e.model.has_structured_codes), default=0)
                category = gr.Dropdown([str(i) for i in range(categories)], label="InfoGAN categorical code")
                code_label = "InfoGAN continuous code c{} (trained on [-1, 1]; beyond it extrapolates)"
                code_sliders = [
                    Slider(-CODE_LIMIT, CODE_LIMIT, value=0, step=0.01, label=code_label.format(i + 1), visible=False)
                    for i in range(MAX_CODES)
                ]
        with gr.Column(scale=1, elem_id="slider-picture"):  # beside the sliders while they scroll; on a phone, above them (ui.CSS)
            decoded = image_output("Decoded", elem_id="slider-decoded")
            manifold = image_output("Manifold (red ring: current point)", visible=False)
            # for the page's own decoder (ui/static/local_decode.js): the spec it decodes from, and the flag it sets
            spec = gr.Textbox(visible="hidden", elem_id="local-decode-spec")
            live = gr.Checkbox(False, visible="hidden")
            values = gr.JSON(visible="hidden")  # the pool's values, filled in the page (POOL_VALUES_JS)
    return (
        Controls(mode, hold, pool, accordion, codes, category, code_sliders, decoded, manifold, note, spec, reset, randomise_button),
        live,
        values,
    )


def _wire(shared, c: Controls, live: gr.Checkbox, values: gr.JSON) -> None:
    shared.view_fields |= {"mode": c.mode, "modes": [value for _, value in MODES], "sliders": c.pool, "hold": c.hold}
    base = [shared.model, c.mode, shared.latent, *shared.conditions]
    pictures = [c.decoded, c.manifold]
    # live: every drag tick decodes (stale ticks are dropped) -- in the page when it has the model's decoder, else
    # on the server. Release, and a new condition for a conditional model, decode on the server: /decode. Both send
    # the pool's values as one list, unprocessed (POOL_VALUES_JS).
    drag = dict(trigger_mode="always_last", show_progress="hidden", preprocess=False)
    live_decode = partial(decode_live, shared=shared)
    gr.on([s.input for s in c.pool], live_decode, [live, *base, values, c.hold], pictures, api_name=False, js=LIVE_JS, **drag)
    released = [s.release for s in c.pool] + [control.input for control in shared.conditions]
    gr.on(released, partial(decode, shared=shared), [*base, values, c.hold], pictures, api_name="decode", js=RELEASE_JS, **drag)
    # a new latent or mode takes the values of a shared view being opened (ui.views); Reset always the latent's own
    refreshing = partial(refresh, shared=shared, controls=c)
    gr.on(
        [c.mode.change, shared.latent.change],
        refreshing,
        [*base, c.hold, shared.pending_view],
        c.refreshed,
        api_name=False,
        show_progress="hidden",
    )
    c.reset.click(refreshing, [*base, c.hold], c.refreshed, api_name=False, show_progress="hidden")
    # a new hold set redraws the sliders (held ones at 0, the others' directions with the held vectors projected out)
    # and keeps the values of the others
    c.hold.input(
        lambda *args: refreshing(*args[:6], None, args[6]),
        [*base, c.hold, values],
        c.refreshed,
        api_name=False,
        show_progress="hidden",
        js=f"(label, mode, state, cls, attrs, held, values) => [label, mode, state, cls, attrs, held, {POOL_VALUES_JS}]",
    )
    c.randomise.click(partial(randomise, shared=shared), [shared.model, *shared.conditions], shared.latent, api_name="randomise")
    gr.on(
        [c.category.input, *[slider.release for slider in c.code_sliders]],
        partial(set_codes, shared=shared),
        [shared.model, shared.latent, c.category, *c.code_sliders],
        [shared.latent, c.decoded],
        api_name="set_codes",
    )
    # clear the old model's sliders; the new model's latent arrives through shared.latent.change, which refills them
    shared.when_model_changes([*c.refreshed, c.mode], lambda entry: {**_cleared(entry, c), c.mode: opening_mode(entry)})
