"""Lessons: what each model family is known for, one lesson at a time -- its claim and source, pictures of the
shipped models side by side (same inputs, same seeds, one display size), the numbers from their cards and the verdict
(metrics.lessons). A lesson whose models are not served is hidden. Each lesson's picture is drawn once per app
process, on its first showing, and kept."""

from __future__ import annotations

import threading
from functools import partial

import gradio as gr
import numpy as np
import torch
from PIL import Image

from metrics.evaluate import REJECTION_THRESHOLD
from metrics.lessons import Facts, Lesson, markdown, shown
from metrics.pictures import Row, labelled_rows
from metrics.reconstruction import NOISE
from models.dae import corrupt

from .common import image_output

SHOWN = 6  # images a row shows (classes and codes: all of them)
DISPLAY = 128  # at most this many pixels per side of each image: a 64x64 face at 2x, a 28x28 item at 4x


def served_facts(catalog) -> tuple[dict[str, Facts], dict]:
    """(the lessons' facts of every served checkpoint, the entry each key is drawn by): a VQ-VAE's PixelCNN prior is a
    checkpoint of its own, drawn by the VQ-VAE it samples."""
    facts, entries = {}, {}
    for entry in catalog.entries.values():
        facts[entry.key] = Facts(entry.evaluation, entry.config.to_dict(), entry.dataset)
        entries[entry.key] = entry
        prior = entry.explorer.prior
        if prior is not None and entry.prior_key:
            facts[entry.prior_key] = Facts(entry.prior_evaluation, prior.config.to_dict(), entry.dataset)
            entries[entry.prior_key] = entry
    return facts, entries


class Pictures:
    """Each lesson's picture (a PIL image), drawn on first request and kept: the models do not change while the app runs."""

    def __init__(self, entries: dict):
        self.entries = entries
        self.drawn: dict[str, Image.Image] = {}
        self.lock = threading.Lock()

    def get(self, lesson: Lesson, keys: tuple[str, ...]) -> Image.Image:
        with self.lock:  # one drawing at a time: a second visitor waits for the first's picture instead of drawing it again
            if lesson.id not in self.drawn:
                entries = [self.entries[key] for key in keys]
                size = max(entry.config.image_size for entry in entries)
                rows = DRAW[lesson.picture](keys, entries)
                self.drawn[lesson.id] = Image.fromarray(labelled_rows(rows, size * max(1, DISPLAY // size)))
            return self.drawn[lesson.id]


def _examples(entry, n: int = SHOWN) -> torch.Tensor:
    """The first n test images stored with the checkpoint, float [n, C, S, S]."""
    return torch.from_numpy(np.asarray(entry.examples[:n])).permute(0, 3, 1, 2).float() / 255


def _describe(entry) -> str:
    size = entry.config.image_size
    return f"{entry.model.kind}, {size}x{size}"


def _samples(keys, entries) -> list[Row]:
    """SHOWN samples of each model's own prior, seed 0; where the prior is a second stage, N(0, I) of the first too."""
    rows = []
    for key, entry in zip(keys, entries):
        rows.append(Row(key, f"{_describe(entry)}: its prior", entry.explorer.sample(SHOWN, seed=0, source="prior")))
        if "standard_normal" in entry.explorer.sample_sources:
            rows.append(Row(key, "N(0, I) of the first stage", entry.explorer.sample(SHOWN, seed=0, source="standard_normal")))
    return rows


def _reconstructions(keys, entries) -> list[Row]:
    """The same test faces (the first model's stored examples), then each model's reconstruction of them."""
    faces = _examples(entries[0])
    rows = [Row("test images", f"the first {SHOWN} stored with {keys[0]}", faces)]
    return rows + [Row(key, _describe(entry), entry.explorer.reconstruct(faces)) for key, entry in zip(keys, entries)]


def _traversals(keys, entries) -> list[Row]:
    """Each model's 3 most informative latent dims (by KL), each swept over its range from one test image's code."""
    rows = []
    for key, entry in zip(keys, entries):
        z = entry.explorer.encode(_examples(entry, 1))[0]
        for spec in entry.explorer.sliders(z, "kl", limit=3):
            values = torch.linspace(spec.min, spec.max, SHOWN)
            codes = torch.stack([entry.explorer.apply_sliders(z, {spec.index: float(v)}) for v in values])
            rows.append(Row(key, f"{spec.label}, {spec.min:.1f} to {spec.max:.1f}", entry.explorer.decode(codes)))
    return rows


def _noisy(keys, entries) -> list[Row]:
    """Test faces, the same faces under the metric's noise (seed 0), and each model's reconstruction of the noisy ones."""
    faces = _examples(entries[0])
    noisy = corrupt(faces, *NOISE, torch.Generator().manual_seed(0))
    rows = [Row("test images", "clean", faces), Row("noisy input", f"{NOISE[0]}, {NOISE[1]:.0%} of the pixels", noisy)]
    return rows + [Row(key, "from the noisy input", entry.explorer.reconstruct(noisy)) for key, entry in zip(keys, entries)]


def _classes(keys, entries) -> list[Row]:
    """One sample per class of each conditional model, seed 0, captioned with the class asked for."""
    rows = []
    for key, entry in zip(keys, entries):
        names = entry.conditions
        images = entry.explorer.sample(len(names), seed=0, y=torch.arange(len(names)))
        rows.append(Row(key, f"{entry.model.kind}, by class", images, [name[:9] for name in names]))
    return rows


def _codes(keys, entries) -> list[Row]:
    """An InfoGAN's categorical code set to each value over two noise draws: a row per draw."""
    rows = []
    for key, entry in zip(keys, entries):
        model = entry.model
        for seed in (0, 1):
            z = model.sample_latent(1, generator=torch.Generator().manual_seed(seed))
            codes = torch.cat([model.with_codes(z, category=k) for k in range(model.config.categories)])
            rows.append(Row(key, f"noise draw {seed}: code 0 to {model.config.categories - 1}", entry.explorer.decode(codes)))
    return rows


def _edit(keys, entries) -> list[Row]:
    """Test faces through the model, then with its stored Smiling vector added (strength 1)."""
    rows = []
    for key, entry in zip(keys, entries):
        z = entry.explorer.encode(_examples(entry))
        rows.append(Row(key, "reconstructed", entry.explorer.decode(z)))
        rows.append(Row(key, "+ Smiling vector", entry.explorer.decode(entry.explorer.edit(z, "Smiling"))))
    return rows


def _rejection(keys, entries) -> list[Row]:
    """First draws (of classes 0..5 for a class-conditional model) with the classifier's confidence (the probability of
    the class asked for, or of its least sure attribute), then the draws rejection sampling keeps (confidence >=
    REJECTION_THRESHOLD)."""
    rows = []
    for key, entry in zip(keys, entries):
        classifier = entry.classifier
        y = torch.arange(SHOWN) if entry.explorer.condition_labels else None
        first = entry.explorer.sample(SHOWN, seed=0, y=y)
        kept, _, _ = entry.explorer.sample_confident(SHOWN, classifier, REJECTION_THRESHOLD, y=y)
        for images, what in ((first, "first draws"), (kept, f"kept (p >= {REJECTION_THRESHOLD:g})")):
            probability = classifier.confidence(images, y)
            rows.append(Row(key, what, images, [f"p {p:.2f}" for p in probability.tolist()]))
    return rows


DRAW = {
    "samples": _samples,
    "reconstructions": _reconstructions,
    "traversals": _traversals,
    "noisy": _noisy,
    "classes": _classes,
    "codes": _codes,
    "edit": _edit,
    "rejection": _rejection,
}


def overview(lessons) -> str:
    return "\n".join(
        [
            "Claims from the course notes, each tested on the shipped checkpoints by the numbers on their cards. "
            "Pick a lesson to see its models side by side.",
            "",
            "| lesson | verdict |",
            "|---|---|",
            *[f"| {lesson.title} | {verdict.verdict} |" for lesson, _, verdict in lessons],
        ]
    )


def show(lesson_id, *, lessons, pictures, progress=gr.Progress()):
    """(the lesson's Markdown, its picture) for a lesson id of the shown lessons."""
    found = next(((lesson, keys, verdict) for lesson, keys, verdict in lessons if lesson.id == lesson_id), None)
    if found is None:
        raise gr.Error(f"unknown lesson {lesson_id!r}; choose one of: {', '.join(lesson.id for lesson, _, _ in lessons)}")
    lesson, keys, verdict = found
    progress(0, desc=f"drawing {lesson.title} (once)")
    with torch.no_grad():
        picture = pictures.get(lesson, keys)
    return markdown(lesson, keys, verdict), picture


def build(shared) -> None:
    facts, entries = served_facts(shared.catalog)
    # rejection sampling is drawn with the dataset's classifier: without one served, that lesson is hidden too
    lessons = [found for found in shown(facts) if found[0].picture != "rejection" or all(entries[k].classifier for k in found[1])]
    if not lessons:  # none of the lessons' models are served: no tab
        return
    first = lessons[0]
    with gr.Tab("Lessons", id="lessons") as tab:
        gr.Markdown(overview(lessons))
        choice = gr.Radio(
            [(lesson.title, lesson.id) for lesson, _, _ in lessons], value=first[0].id, label="Lesson", elem_id="lesson-choice"
        )
        text = gr.Markdown(markdown(*first), elem_id="lesson-text")
        picture = image_output("Side by side", elem_id="lesson-picture")
    render = partial(show, lessons=lessons, pictures=Pictures(entries))
    choice.change(render, choice, [text, picture], api_name="lesson")
    tab.select(render, choice, [text, picture], api_name=False)
    shared.view_fields["lesson"] = choice
