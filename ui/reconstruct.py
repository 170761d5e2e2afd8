"""Reconstruct: an upload (or a stored example) through the model, with an error map.
For a denoising model a noise slider corrupts the input first, to show it cleaning up. A GAN has no encoder: its
latent is found by inversion (latent.invert, with a progress bar), and a GAN opens on the sample of seed 0."""

from __future__ import annotations

from functools import partial

import gradio as gr
import torch

from latent.invert import STARTS, STEPS
from metrics import psnr

from .common import (
    Slider,
    example_images,
    example_tensor,
    image_input,
    image_output,
    inversion_progress,
    latent_to_state,
    load_image,
    slow_work,
    to_pil,
)

DAE_NOISE = 0.3  # a denoising model opens with its input this noisy, to show it cleaning up


def reconstruct(label, path, noise, class_choice, attribute_choice, example=None, progress=gr.Progress(), *, shared):
    """The upload through the model; without one, the example last picked (`example`: its index, kept by the page)."""
    entry = shared.entry(label)
    if not path and example is not None and entry.examples is not None and 0 <= example < len(entry.examples):
        return _reconstruct(entry, example_tensor(entry, example), f"example #{example}", noise, class_choice, attribute_choice, progress)
    x, note = load_image(path, entry)
    return _reconstruct(entry, x, note, noise, class_choice, attribute_choice, progress)


def _reconstruct(entry, x, note, noise, class_choice, attribute_choice, progress=None):
    y = entry.condition(class_choice, attribute_choice, 1)
    clean, against = x, "the input"  # a denoiser's output is measured against the clean image it should recover
    if entry.model.denoises and noise > 0:
        x = entry.model.corrupt(x, torch.Generator().manual_seed(0), noise)  # a fixed seed: the picture is stable
        note += f"; corrupted with {entry.config.corruption.replace('_', '-')} noise at {noise:.2f}"
        against = "the clean image (before the noise)"
    if entry.explorer.is_generator:
        error_terms = "pixel + classifier-feature error" if entry.classifier is not None else "pixel error"
        note += f"; a GAN has no encoder, so its latent was found by inversion: the best of {STARTS} random starts, each {STEPS} Adam steps on {error_terms} with a prior term on ||z||"
    with slow_work(entry.explorer.is_generator):
        z = entry.explorer.encode(x, y, inversion_progress(progress))
    x_hat = entry.explorer.decode(z, y)
    error = (x_hat - clean).abs().mean(1, keepdim=True)  # [1, 1, S, S]: mean absolute error over channels
    scale = error.max().clamp_min(1e-6)
    mse = (x_hat - clean).pow(2).mean().item()
    # the card measured clean inputs: a denoiser's noisy input is judged by its clean reconstruction
    plain = mse if x is clean else (entry.explorer.decode(entry.explorer.encode(clean, y), y) - clean).pow(2).mean().item()
    warning = unlike_data(entry, plain)
    summary = (
        (f"**{warning}** " if warning else "")
        + f"{note}. Reconstruction MSE {mse:.4f}, PSNR {psnr(mse):.1f} dB against {against}; error map scaled to its maximum ({scale.item():.3f})."
    )
    return to_pil(x), to_pil(x_hat), to_pil(error / scale), summary, latent_to_state(z[0])


def unlike_data(entry, mse: float) -> str:
    """One line when an image is unlike the data the model was trained on (else ""): its reconstruction error is
    past the 99th percentile of held-out test images' (the card's measurement, metrics.error_quantiles), or a GAN's
    inversion is worse than the worst of the card's test inversions."""
    quantiles = entry.evaluation.get("reconstruction", {}).get("error_quantiles")
    inversion = entry.evaluation.get("inversion")
    if quantiles and mse > quantiles["mse"]["0.99"]:
        how = f"its reconstruction error ({mse:.4f}) is above that of 99% of held-out test images ({quantiles['mse']['0.99']:.4f})"
    elif inversion and entry.explorer.is_generator and psnr(mse) < inversion["psnr_min"]:
        how = f"its inversion ({psnr(mse):.1f} dB) is worse than every held-out test image's ({inversion['psnr_min']:.1f} dB at worst)"
    else:
        return ""
    return (
        f"This image is unlike the {entry.dataset} images {entry.key} was trained on: {how}. A model knows only the kind of "
        "image it was trained on, so expect a poor reconstruction and poor edits."
    )


def _opening(entry) -> list:
    """What a newly picked model shows: [input, reconstruction, error map, note, latent state]."""
    if entry.explorer.is_generator:  # a GAN opens on the sample of seed 0 (inverting an example takes seconds)
        note = (
            f"{entry.key} is a GAN: the current image of the other tabs is the sample of seed 0. Upload an image or pick "
            "an example to invert it (its latent is found by optimisation, which takes a few seconds)."
        )
        return [None, None, None, note, latent_to_state(entry.explorer.sample_latent(1, seed=0)[0])]
    if entry.examples is not None:
        noise = DAE_NOISE if entry.model.denoises else 0.0
        return list(_reconstruct(entry, example_tensor(entry, 0), "example #0", noise, *entry.default_condition))
    return [None] * 4 + [[]]


def build(shared) -> None:
    with gr.Tab("Reconstruct", id="reconstruct"):
        with gr.Row():
            with gr.Column():
                upload = image_input("Input image (upload, webcam or paste)")
                noise = Slider(0, 1, value=DAE_NOISE, step=0.05, label="Noise before encoding (denoising models)", visible=False)
                button = gr.Button("Reconstruct", variant="primary")
                examples = gr.Gallery(
                    label="…or pick an example (held-out images)",
                    columns=8,
                    height="auto",
                    allow_preview=False,
                    object_fit="contain",
                    buttons=[],
                )
            with gr.Column():
                with gr.Row():
                    shown = image_output("Model input")
                    output = image_output("Reconstruction")
                    error = image_output("Error map")
                note = gr.Markdown()
        picked = gr.State(None)  # the example shown when the upload box is empty: Reconstruct and the noise slider re-run it
        inputs = [shared.model, upload, noise, *shared.conditions, picked]
        outputs = [shown, output, error, note, shared.latent]
        button.click(partial(reconstruct, shared=shared), inputs, outputs, api_name="reconstruct")
        upload.upload(partial(reconstruct, shared=shared), inputs, outputs, api_name=False)
        noise.release(partial(reconstruct, shared=shared), inputs, outputs, api_name=False)  # a denoiser's noise level: see it at once

        # a picked example (or a new model's first one) clears the upload box, which would otherwise show an image
        # the outputs no longer come from
        def pick(label, noise, class_choice, attribute_choice, evt: gr.SelectData, progress=gr.Progress()):
            entry = shared.entry(label)
            return [
                *_reconstruct(
                    entry, example_tensor(entry, evt.index), f"example #{evt.index}", noise, class_choice, attribute_choice, progress
                ),
                None,
                evt.index,
            ]

        examples.select(pick, [shared.model, noise, *shared.conditions], [*outputs, upload, picked], api_name=False)

        def first_example(entry):  # a new model opens on its first example, so every tab has a current image
            first = 0 if entry.examples is not None and not entry.explorer.is_generator else None
            return {
                examples: example_images(entry),
                noise: gr.update(visible=entry.model.denoises, value=DAE_NOISE),
                **dict(zip(outputs, _opening(entry), strict=True)),
                upload: None,
                picked: first,
            }

        shared.when_model_changes([examples, noise, *outputs, upload, picked], first_example)
