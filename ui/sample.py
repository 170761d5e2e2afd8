"""Sample: n images from the prior or from a Gaussian fitted to the training codes (the default for a
deterministic AE, which has no prior), with temperature and seed; the same seed gives the same images.
A VQ-VAE samples through its PixelCNN prior. A GAN samples its noise prior, optionally truncated. Any sampler can
reject the draws the dataset's classifier doubts (rejection sampling, Razavi et al. 2019)."""

from __future__ import annotations

import math
import random
import threading
import weakref
from functools import partial

import gradio as gr
from PIL import Image

from .common import DISPLAY, SEED_MAX, Number, Slider, image_output, slow_work, to_pil

MAX_SAMPLES = 64
MAX_TEMPERATURE = 2.0  # the slider's end, and what the handler accepts


SOURCES = [("N(0, I): the prior", "prior"), ("Gaussian fitted to the training codes", "fitted")]
SECOND_STAGE_SOURCES = [  # a VAE whose checkpoint carries a second-stage prior (models.latent_prior)
    ("the model's own prior: a second-stage VAE over its codes", "prior"),
    ("N(0, I): the first stage's prior, which the second stage replaces", "standard_normal"),
    SOURCES[1],
]
VQ_SOURCES = [("the PixelCNN prior over the codes", "prior"), ("Gaussian fitted to the pre-quantisation codes, then quantised", "fitted")]
NOTES = {  # (source, kind of model) -> where the samples come from
    ("prior", "kl"): "the prior N(0, I)",
    ("prior", "none"): "N(0, I), which an AE never trained towards: it has no prior, so these show why an AE is not a generative model",
    ("prior", "learned"): "the PixelCNN prior, cell by cell in raster order (softmax temperature; a VQ-VAE-2 draws its top "
    "codes, then its bottom codes given them)",
    (
        "prior",
        "learned-uniform",
    ): "code grids drawn uniformly at random: no PixelCNN prior is loaded for this VQ-VAE, so these show what a prior adds",
    (
        "fitted",
        "kl",
    ): "a Gaussian fitted to the training codes -- compare with the prior: where they differ, the posteriors do not fill the prior",
    (
        "fitted",
        "none",
    ): "a Gaussian fitted to the training codes (an AE has no prior; this is ex-post density estimation, Ghosh et al. 2020)",
    (
        "fitted",
        "learned",
    ): "a Gaussian fitted to the continuous pre-quantisation codes, quantised before decoding: it ignores which codes go together, the prior does not",
}
NOTES[("fitted", "learned-uniform")] = NOTES[("fitted", "learned")]
NOTES[("prior", "adversarial")] = (
    "the prior the adversarial AE's codes were matched to (a Gaussian, a mixture or a uniform: see the model's label)"
)
NOTES[("fitted", "adversarial")] = (
    "a Gaussian fitted to the training codes -- compare with the prior: where they differ, the discriminator did not close the gap"
)
NOTES[("prior", "noise")] = "the generator's noise prior N(0, I)"
NOTES[("prior", "second-stage")] = (
    "the model's own prior: a second-stage VAE fitted to its codes (Dai & Wipf 2019) turns a draw of N(0, I) into a code "
    "where the codes lie"
)
NOTES[("standard_normal", "second-stage")] = (
    "N(0, I), the first stage's prior: the encoder's codes leave holes in it, and draws that land there decode to blends "
    "-- why this checkpoint is sampled through a second stage"
)
NOTES[("fitted", "second-stage")] = NOTES[("fitted", "kl")]
NOTES[("fitted", "noise")] = (
    "a Gaussian fitted to draws of the noise prior: for a GAN, the prior itself (it has no encoder to fit codes of)"
)
SOURCE_INFO = {  # the model's prior (sample.kind) -> what the two sources are, for its radio's help text
    "kl": "the fitted Gaussian follows the codes the encoder actually uses, so it draws what the model can draw; "
    "the prior N(0, I) is what a VAE is trained towards, and where its posteriors leave holes in it, prior draws decode to blends",
    "none": "an AE has no prior: a density fitted to its codes is the way to sample it; N(0, I) shows why an AE alone is not a generative model",
    "adversarial": "the prior is what the adversarial AE matched its codes to; the fitted Gaussian follows the codes the encoder actually uses",
    "learned": "the PixelCNN prior knows which codes go together; the fitted Gaussian only knows where the encoder's outputs lie",
    "learned-uniform": "no PixelCNN prior is loaded: 'prior' draws codes uniformly; the fitted Gaussian follows the encoder's outputs",
    "noise": "a GAN samples its noise prior N(0, I) (it has no encoder, so 'fitted' is a Gaussian fitted to prior draws: the same)",
    "second-stage": "the model's own prior is a second-stage VAE over its codes (Dai & Wipf 2019), which draws where the codes "
    "lie; N(0, I), what the first stage was trained towards, is one click away: its draws fall in the holes between the codes",
}
MIXTURE = ("Gaussian mixture over the codes, a component per label combination", "mixture")
NOTES |= dict.fromkeys(
    [("mixture", "kl"), ("mixture", "none"), ("mixture", "adversarial"), ("mixture", "second-stage")],
    "a Gaussian mixture fitted to the held-out codes, a component per combination of labels they carry: the groups a "
    "single fitted Gaussian blends (its samples mix attributes that rarely go together) stay apart",
)
MIXTURE_INFO = "; the mixture (the default) draws each sample near the codes of one label combination, as often as the data has it"
TEMPERATURE_LABELS = {
    False: "Temperature (std of the latent draw)",
    True: "Temperature (of the prior's softmax; lower: safer, less varied codes)",
}


def kind(entry) -> str:
    """The key of SOURCE_INFO: the model's prior, and for a learned one whether it is loaded; a VAE whose checkpoint
    carries a second-stage prior is "second-stage"."""
    if entry.model.latent_prior is not None:
        return "second-stage"
    prior = entry.model.prior
    return prior if prior != "learned" or entry.explorer.prior is not None else "learned-uniform"


def opening_source(entry) -> str:
    """The source the Sample tab opens on: what the model draws well. A VAE or an AE with labelled codes: the mixture
    over them (faces-vae: 96% of the common attribute combinations drawn, the single fitted Gaussian 87%); a VAE
    without: its fitted Gaussian, since a VAE with a sharp likelihood leaves holes in N(0, I) that decode to blends
    (the prior is one click away); else the model's default."""
    if kind(entry) in ("kl", "none", "second-stage") and entry.explorer.mixture_available:
        return "mixture"
    return "fitted" if kind(entry) == "kl" else entry.explorer.default_source


OPENING = dict(n=16, temperature=1.0, seed=0)  # the grid a model opens on (the tab's controls start at these)
SHORT = {  # (source, kind of model) -> what the samples are drawn from, in a few words (the Model tab's label)
    "mixture": "a Gaussian mixture over the labelled codes",
    "fitted": "a Gaussian fitted to the training codes",
    ("prior", "kl"): "the prior N(0, I)",
    ("prior", "none"): "N(0, I) (an AE has no prior)",
    ("prior", "adversarial"): "the adversarial AE's prior",
    ("prior", "learned"): "the PixelCNN prior",
    ("prior", "learned-uniform"): "uniformly random code grids (no prior loaded)",
    ("prior", "noise"): "the noise prior N(0, I)",
    ("prior", "second-stage"): "the model's own second-stage prior",
    "standard_normal": "N(0, I), the first stage's prior",
}
_drawn: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # explorer -> its opening grid, drawn once
_drawing: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # explorer -> the lock its one drawing holds
_guard = threading.Lock()


def opening_what(entry) -> str:
    """What the opening grid is, for a label: "16 samples from <source>, seed 0"."""
    source, (class_choice, _) = opening_source(entry), entry.default_condition
    of = f" of class {class_choice}" if class_choice else ""
    return f"{OPENING['n']} samples{of} from {SHORT.get(source) or SHORT[source, kind(entry)]}, seed {OPENING['seed']}"


def opening_is_slow(entry) -> bool:
    """Drawing the opening grid goes through a PixelCNN prior (a pass per grid cell: seconds)."""
    return opening_source(entry) == "prior" and entry.explorer.prior is not None


def opening_ready(entry) -> bool:
    """The opening grid is at hand without waiting: cheap to draw, or drawn already."""
    return not opening_is_slow(entry) or entry.explorer in _drawn


def opening_grid(entry, *, shared) -> tuple:
    """(grid, note) of the opening draw: OPENING from opening_source(entry) under the default condition -- the Sample
    tab's first grid and the Model tab's, shown on every page load and model change. Drawn once per model (whoever
    asks first; the others wait for it) and kept at the model's own resolution (16 tiles, not the upscaled picture)."""
    with _guard:
        lock = _drawing.setdefault(entry.explorer, threading.Lock())
    with lock:
        if entry.explorer not in _drawn:
            grid, note = sample(entry.label, *OPENING.values(), opening_source(entry), *entry.default_condition, shared=shared)
            scale = max(1, DISPLAY // entry.config.image_size)  # to_pil's nearest-neighbour upscale: undone exactly
            _drawn[entry.explorer] = grid.resize((grid.width // scale, grid.height // scale), Image.NEAREST), scale, note
        small, scale, note = _drawn[entry.explorer]
    return small.resize((small.width * scale, small.height * scale), Image.NEAREST), note


def drawing_note(entry) -> str:
    """The note shown while a slow opening grid is drawn (also what starts the drawing: see build)."""
    return f"*Drawing {OPENING['n']} samples through {entry.key}'s PixelCNN prior, cell by cell: a few seconds, once…*"


def source_choices(entry) -> dict:
    """The source radio's choices and help for this model."""
    if entry.model.code_levels:
        return dict(choices=VQ_SOURCES, info=SOURCE_INFO[kind(entry)])
    mixture = entry.explorer.mixture_available
    choices = SECOND_STAGE_SOURCES if kind(entry) == "second-stage" else SOURCES
    return dict(choices=choices + [MIXTURE] * mixture, info=SOURCE_INFO[kind(entry)] + MIXTURE_INFO * mixture)


def can_reject(entry) -> bool:
    """Rejection sampling needs the dataset's classifier; it works with every sampler."""
    return entry.classifier is not None


def rejection_rule(entry, y, threshold: float) -> str:
    """Which draws rejection sampling keeps, in words (models.Classifier.confidence)."""
    who = f"the {entry.dataset} classifier"
    if not entry.classifier.config.num_classes:
        return f"those in which {who} finds every attribute plainly there or plainly absent (probability >= {threshold:g} or <= {1 - threshold:g})"
    if y is not None and y.ndim == 1:
        return f"those {who} gives the chosen class a probability of at least {threshold:g}"
    return f"those {who} gives its most likely class a probability of at least {threshold:g}"


def sample(
    label,
    n,
    temperature,
    seed,
    source,
    class_choice,
    attribute_choice,
    reject=0.0,
    truncation=0.0,
    *,
    shared,
    progress=gr.Progress(track_tqdm=True),
):
    entry = shared.entry(label)
    n = int(n)
    if not 1 <= n <= MAX_SAMPLES:
        raise gr.Error(f"number of samples must be between 1 and {MAX_SAMPLES}, got {n}")
    if not 0 < temperature <= MAX_TEMPERATURE:
        raise gr.Error(f"temperature must be in (0, {MAX_TEMPERATURE:g}], got {temperature}")
    if source not in entry.explorer.sample_sources:
        raise gr.Error(f"unknown sample source {source!r} for {entry.key}; it draws from: {', '.join(entry.explorer.sample_sources)}")
    if not 0 <= reject < 1:
        raise gr.Error(f"the rejection threshold is a classifier's confidence in [0, 1), got {reject}")
    truncation = float(truncation or 0.0)
    if truncation and not (entry.explorer.is_generator and source == "prior"):
        raise gr.Error(
            f"the truncation trick applies to a GAN's noise prior; {entry.key} is not a GAN sampled from its prior: set truncation to 0"
        )
    if not 0 <= truncation <= 3:
        raise gr.Error(f"truncation must be in [0, 3] (0: off), got {truncation}")
    y = entry.condition(class_choice, attribute_choice, n, sampling=True)
    note = f"{n} samples from {NOTES[source, kind(entry)]}; temperature {temperature:g}, seed {int(seed)}."
    if truncation:
        note += f" Truncation trick: every noise value redrawn until |z| <= {truncation:g} (Brock et al. 2019): less variety, fewer odd samples."
    if reject > 0:
        if not can_reject(entry):
            raise gr.Error(
                f"rejection sampling needs a classifier of {entry.dataset} (checkpoints/classifiers/{entry.dataset}); "
                f"{entry.key} is served without one: set the threshold to 0"
            )
        with slow_work():
            images, acceptance, never = entry.explorer.sample_confident(
                n, entry.classifier, reject, int(seed), float(temperature), y, source, truncation
            )
        note += f" Rejection sampling kept {acceptance:.0%} of the draws: {rejection_rule(entry, y, reject)}" + (
            f"; {never} never passed and are shown anyway." if never else "."
        )
    else:
        with slow_work(source == "prior" and entry.explorer.prior is not None):  # through a PixelCNN: one pass per grid cell
            images = entry.explorer.sample(n, seed=int(seed), temperature=float(temperature), y=y, source=source, truncation=truncation)
    return to_pil(images, columns=math.ceil(math.sqrt(n))), note


def build(shared) -> None:
    with gr.Tab("Sample", id="sample"):
        with gr.Row():
            with gr.Column(scale=1):
                n = Slider(1, MAX_SAMPLES, value=16, step=1, label="Number of samples")
                first_vq = bool(shared.first.model.code_levels)
                temperature = Slider(0.1, MAX_TEMPERATURE, value=1.0, step=0.05, label=TEMPERATURE_LABELS[first_vq])
                # a session's radio accepts only its choices: an API client, which never sees a model change, may ask
                # any served model for the mixture
                opening = source_choices(shared.first)
                if any(e.explorer.mixture_available for e in shared.catalog.entries.values()) and MIXTURE not in opening["choices"]:
                    opening["choices"] = [*opening["choices"], MIXTURE]
                source = gr.Radio(value=opening_source(shared.first), label="Draw latents from", **opening)
                reject = Slider(
                    0,
                    0.99,
                    value=0,
                    step=0.01,
                    label="Rejection sampling: keep draws the classifier is this sure of (0: off)",
                    info="Its confidence in the class chosen, else its most likely class, or for faces its least sure attribute: redrawn until sure, up to 10 times",
                    visible=can_reject(shared.first),
                )
                truncation = Slider(
                    0,
                    3,
                    value=0,
                    step=0.1,
                    label="Truncation: redraw noise values beyond ±this (0: off; GANs)",
                    visible=shared.first.explorer.is_generator,
                )
                with gr.Row():
                    seed = Number(value=0, precision=0, minimum=0, maximum=SEED_MAX, label="Seed")
                    new_seed = gr.Button("New seed")
                button = gr.Button("Sample", variant="primary")
            with gr.Column(scale=2):
                grid = image_output("Samples")
                note = gr.Markdown()
        inputs = [shared.model, n, temperature, seed, source, *shared.conditions, reject, truncation]
        run = partial(sample, shared=shared)
        button.click(run, inputs, [grid, note], api_name="sample")
        new_seed.click(lambda: random.randrange(2**31), None, seed, api_name=False).then(run, inputs, [grid, note], api_name=False)

        def on_model(entry):
            vq = bool(entry.model.code_levels)
            # the tab opens on a grid; one drawn through a PixelCNN (seconds) is drawn after the model change, prompted
            # by its note (below), so the change itself stays quick
            shown = opening_grid(entry, shared=shared) if opening_ready(entry) else (None, drawing_note(entry))
            return [
                *shown,
                gr.update(value=opening_source(entry), **source_choices(entry)),
                gr.update(label=TEMPERATURE_LABELS[vq]),
                gr.update(visible=can_reject(entry), value=0),
                gr.update(visible=entry.explorer.is_generator, value=0),
            ]

        shared.when_model_changes([grid, note, source, temperature, reject, truncation], on_model)

        def draw_opening(label, shown_note, progress=gr.Progress(track_tqdm=True)):  # the PixelCNN's rows as a bar
            entry = shared.entry(label)
            if shown_note != drawing_note(entry):
                return gr.skip(), gr.skip()
            return opening_grid(entry, shared=shared)

        drawing = note.change(draw_opening, [shared.model, note], [grid, note], api_name=False)
        shared.model.input(None, None, None, cancels=[drawing])  # another model picked meanwhile: not this grid
