"""Sample: n images from the prior or from a Gaussian fitted to the training codes (the default for a
deterministic AE, which has no prior), with temperature and seed; the same seed gives the same images."""

from __future__ import annotations

import math
import random
from functools import partial

import gradio as gr

from latent import SAMPLE_SOURCES

from .common import image_output, to_pil

MAX_SAMPLES = 64


SOURCES = [("N(0, I): the prior", "prior"), ("Gaussian fitted to the training codes", "fitted")]
NOTES = {  # (source, the model has a prior) -> where the samples come from
    ("prior", True): "the prior N(0, I)",
    ("prior", False): "N(0, I), which an AE never trained towards: it has no prior, so these show why an AE is not a generative model",
    ("fitted", True): "a Gaussian fitted to the training codes -- compare with the prior: where they differ, the posteriors do not fill the prior",
    ("fitted", False): "a Gaussian fitted to the training codes (an AE has no prior; this is ex-post density estimation, Ghosh et al. 2020)",
}


def sample(label, n, temperature, seed, source, class_choice, attribute_choice, *, shared):
    entry = shared.entry(label)
    n = int(n)
    if not 1 <= n <= MAX_SAMPLES:
        raise gr.Error(f"number of samples must be between 1 and {MAX_SAMPLES}, got {n}")
    if not 0 < temperature <= 3:
        raise gr.Error(f"temperature must be in (0, 3], got {temperature}")
    if source not in SAMPLE_SOURCES:
        raise gr.Error(f"unknown sample source {source!r}; accepted: {', '.join(SAMPLE_SOURCES)}")
    y = entry.condition(class_choice, attribute_choice, n)
    images = entry.explorer.sample(n, seed=int(seed), temperature=float(temperature), y=y, source=source)
    where = NOTES[source, entry.explorer.default_source == "prior"]
    return to_pil(images, columns=math.ceil(math.sqrt(n))), f"{n} samples from {where}; temperature {temperature:g}, seed {int(seed)}."


def build(shared) -> None:
    with gr.Tab("Sample", id="sample"):
        with gr.Row():
            with gr.Column(scale=1):
                n = gr.Slider(1, MAX_SAMPLES, value=16, step=1, label="Number of samples")
                temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="Temperature (std of the latent draw)")
                source = gr.Radio(SOURCES, value=shared.first.explorer.default_source, label="Draw latents from",
                                  info="the prior is what a VAE is trained towards; the fitted Gaussian follows the codes the encoder actually uses")  # fmt: skip
                with gr.Row():
                    seed = gr.Number(value=0, precision=0, label="Seed")
                    new_seed = gr.Button("New seed")
                button = gr.Button("Sample", variant="primary")
            with gr.Column(scale=2):
                grid = image_output("Samples")
                note = gr.Markdown()
        inputs = [shared.model, n, temperature, seed, source, *shared.conditions]
        run = partial(sample, shared=shared)
        button.click(run, inputs, [grid, note], api_name="sample")
        new_seed.click(lambda: random.randrange(2**31), None, seed, api_name=False).then(run, inputs, [grid, note], api_name=False)
        shared.when_model_changes([grid, note, source], lambda entry: [None, "", entry.explorer.default_source])
