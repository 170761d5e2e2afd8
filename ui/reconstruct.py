"""Reconstruct: an upload (or a stored example) through the model, with an error map.
For a denoising model a noise slider corrupts the input first, to show it cleaning up. A GAN has no encoder: its
latent is found by inversion (latent.invert, with a progress bar), and a GAN opens on the sample of seed 0.

A conditional model reconstructs under the header's condition. Reconstruct (an upload, an example, a new model's
first example) first sets that condition from the dataset's shipped classifier's reading of the input (read_condition),
so an image with a hat is reconstructed with Wearing_Hat ticked; a person's change of the condition re-runs the
reconstruction under it (the current latent of the other tabs stays: they decode it under the new condition)."""

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
    """The upload through the model; without one, the example last picked (`example`: its index, kept by the page).
    [model input, reconstruction, error map, note, latent state]."""
    entry = shared.entry(label)
    x, note = _input(entry, path, example)
    return _reconstruct(entry, x, note, noise, class_choice, attribute_choice, progress)


def _input(entry, path, example) -> tuple[torch.Tensor, str]:
    """(image [1, C, S, S], what it is) of the upload, or without one of the example last picked."""
    if not path and example is not None and entry.examples is not None and 0 <= example < len(entry.examples):
        return example_tensor(entry, example), f"example #{example}"
    return load_image(path, entry)


def read_condition(entry, x: torch.Tensor) -> tuple[str | None, list[str]] | None:
    """(class choice, attribute choice) as the condition controls take them: the dataset's shipped classifier's
    reading of x [1, C, S, S] (the class it predicts; the model's condition attributes it sees), or None where no
    classifier reads this model's condition (an unconditional model, one decoded without its condition, no classifier
    of its dataset at its image size, or one predicting other classes or attributes)."""
    if not _readable(entry):
        return None
    names = entry.classifier.names
    if entry.conditioned_on_classes:
        return names[int(entry.classifier.predict(x)[0])], []
    seen = entry.classifier.predict(x)[0]
    return None, [n for n in entry.conditions if bool(seen[names.index(n)])]


def _readable(entry) -> bool:
    """The dataset's classifier reads this model's condition: its classes, or every attribute it is conditioned on."""
    classifier = entry.classifier
    if classifier is None or not entry.conditions or entry.decodes_without_condition:
        return False
    if entry.conditioned_on_classes:
        return bool(classifier.config.num_classes) and classifier.names == entry.conditions
    return bool(classifier.config.num_attributes) and set(entry.conditions) <= set(classifier.names)


def _condition_note(entry, x: torch.Tensor, class_choice, attribute_choice) -> str:
    """ "; conditioned on ..." for a conditional model: the condition used, and whether it is the classifier's reading."""
    if not entry.conditions or entry.decodes_without_condition:
        return ""
    used = (
        class_choice if entry.conditioned_on_classes else ", ".join(a for a in entry.conditions if a in (attribute_choice or ())) or "none"
    )
    what = "class" if entry.conditioned_on_classes else "attributes"
    reading = read_condition(entry, x)
    if reading is None:
        return f"; conditioned on the {what} chosen above: {used}"
    read = reading[0] if entry.conditioned_on_classes else ", ".join(reading[1]) or "none"
    kind = "classifier" if entry.conditioned_on_classes else "attribute classifier"
    if read == used:
        return (
            f"; conditioned on {what} {used}: what the shipped {kind} reads in the input (Reconstruct sets the condition "
            "above from its reading; change it to reconstruct under another)"
        )
    return f"; conditioned on the {what} chosen above: {used} (the shipped {kind} reads {read})"


def _reconstruct(entry, x, note, noise, class_choice, attribute_choice, progress=None):
    y = entry.condition(class_choice, attribute_choice, 1)
    note += _condition_note(entry, x, class_choice, attribute_choice)
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


def _as_read(entry, x, note, noise, class_choice, attribute_choice, progress=None) -> tuple[list, tuple | None]:
    """(_reconstruct's outputs, the reading): x reconstructed under the classifier's reading of it where there is one
    (read_condition; None where there is not), else under the condition chosen."""
    reading = read_condition(entry, x)
    if reading is not None:
        class_choice, attribute_choice = reading
    return list(_reconstruct(entry, x, note, noise, class_choice, attribute_choice, progress)), reading


def _controls(reading) -> list:
    """The condition controls' values for a reading: [class choice, attribute choice], unchanged without one."""
    return [gr.skip(), gr.skip()] if reading is None else list(reading)


def rerun(label, path, noise, class_choice, attribute_choice, example, progress=gr.Progress(), *, shared):
    """A person changed the condition: [model input, reconstruction, error map, note] of the upload (or example) again,
    under it. The current latent stays the one Reconstruct set, which the other tabs decode under the new condition (so
    ticking Smiling makes the current image smile there). Nothing happens without an image, or for a model decoded
    without its condition."""
    entry = shared.entry(label)
    if entry.decodes_without_condition or not (path or example is not None):
        return [gr.skip()] * 4
    x, note = _input(entry, path, example)
    *pictures, summary, _ = _reconstruct(entry, x, note, noise, class_choice, attribute_choice, progress)
    kept = " The other tabs keep the current latent (Reconstruct's last) and decode it under the new condition."
    return [*pictures, summary + kept]


def _opening(entry) -> tuple[list, tuple | None]:
    """What a newly picked model shows: ([input, reconstruction, error map, note, latent state], the classifier's
    reading of its first example or None)."""
    if entry.explorer.is_generator:  # a GAN opens on the sample of seed 0 (inverting an example takes seconds)
        note = (
            f"{entry.key} is a GAN: the current image of the other tabs is the sample of seed 0. Upload an image or pick "
            "an example to invert it (its latent is found by optimisation, which takes a few seconds)."
        )
        return [None, None, None, note, latent_to_state(entry.explorer.sample_latent(1, seed=0)[0])], None
    if entry.examples is not None:
        noise = DAE_NOISE if entry.model.denoises else 0.0
        return _as_read(entry, example_tensor(entry, 0), "example #0", noise, *entry.default_condition)
    return [None] * 4 + [[]], None


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
                    elem_id="reconstruct-examples",
                    elem_classes=["example-picker"],  # every thumbnail shown, as many a row as fit (ui.CSS)
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
        run = partial(reconstruct, shared=shared)

        def read_input(label, path, example):
            """[class choice, attribute choice] the classifier reads in the upload (or the example last picked)."""
            entry = shared.entry(label)
            return _controls(read_condition(entry, _input(entry, path, example)[0]) if _readable(entry) else None)

        # Reconstruct sets the condition from the classifier's reading first; /reconstruct itself takes the condition
        # it is given (an API client's), and /read_condition says what the classifier reads
        button.click(read_input, [shared.model, upload, picked], shared.conditions, api_name="read_condition").success(
            run, inputs, outputs, api_name="reconstruct"
        )

        def as_read(label, path, noise, class_choice, attribute_choice, example, progress=gr.Progress()):
            entry = shared.entry(label)
            shown, reading = _as_read(entry, *_input(entry, path, example), noise, class_choice, attribute_choice, progress)
            return [*shown, *_controls(reading)]

        upload.upload(as_read, inputs, [*outputs, *shared.conditions], api_name=False)
        noise.release(run, inputs, outputs, api_name=False)  # a denoiser's noise level: see it at once
        # a person's change of the condition (.input: the reading above sets it without re-running)
        gr.on(
            [control.input for control in shared.conditions],
            partial(rerun, shared=shared),
            inputs,
            outputs[:4],
            api_name=False,
            trigger_mode="always_last",
        )

        # a picked example (or a new model's first one) clears the upload box, which would otherwise show an image
        # the outputs no longer come from
        def pick(label, noise, class_choice, attribute_choice, evt: gr.SelectData, progress=gr.Progress()):
            entry = shared.entry(label)
            shown, reading = _as_read(
                entry, example_tensor(entry, evt.index), f"example #{evt.index}", noise, class_choice, attribute_choice, progress
            )
            return [*shown, *_controls(reading), None, evt.index]

        examples.select(pick, [shared.model, noise, *shared.conditions], [*outputs, *shared.conditions, upload, picked], api_name=False)

        def first_example(entry):  # a new model opens on its first example, so every tab has a current image
            first = 0 if entry.examples is not None and not entry.explorer.is_generator else None
            opening, reading = _opening(entry)
            values = {
                examples: example_images(entry),
                noise: gr.update(visible=entry.model.denoises, value=DAE_NOISE),
                **dict(zip(outputs, opening, strict=True)),
                upload: None,
                picked: first,
            }
            # the header's own update for the condition controls (ui._condition_updates), with the reading as its value
            if reading is not None:
                control = shared.condition_class if entry.conditioned_on_classes else shared.condition_attributes
                values[control] = gr.update(choices=entry.conditions, value=reading[0 if entry.conditioned_on_classes else 1], visible=True)
            return values

        shared.when_model_changes([examples, noise, *outputs, upload, picked, *shared.conditions], first_example)
