"""Model: the picked model's card as the app shows it -- where it came from and what it measures (its README.md,
written by training), samples from the source the Sample tab opens on (what the model draws well: for a VAE with
labelled codes the mixture over them, not the N(0, I) draws of the card's own samples.png), and its training curves (a
GAN's monitor curves, or the loss and validation curves of metrics.jsonl)."""

from __future__ import annotations

import io
import json
import re
from functools import lru_cache
from pathlib import Path

import gradio as gr
from PIL import Image

from .sample import drawing_note, opening_grid, opening_ready, opening_what

IMAGE_LINK = re.compile(r"!\[[^\]]*\]\([^)]*\)")  # the card's relative image links: the tab shows those pictures itself


def card_text(directory: Path | None) -> str:
    """The card's body (its YAML header dropped, its pictures shown apart), or a note when it has none."""
    card = None if directory is None else directory / "README.md"
    if card is None or not card.exists():
        return "*This checkpoint has no model card (README.md); `python -m train card DIR` writes one.*"
    try:
        text = card.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # damaged (the catalog warned at startup)
        return "*This checkpoint's model card (README.md) cannot be read.*"
    if text.startswith("---"):
        text = text.split("---", 2)[2]
    return IMAGE_LINK.sub("", _without_samples_figure(text)).strip()


def _without_samples_figure(text: str) -> str:
    """The card less its samples.png and that picture's caption (the paragraph after it): the tab shows the Sample
    tab's opening grid instead, under its own label."""
    paragraphs = text.split("\n\n")
    for i, paragraph in enumerate(paragraphs):
        if "](samples.png)" in paragraph:
            alone = not IMAGE_LINK.sub("", paragraph).strip()  # the picture in a paragraph of its own: the next is its caption
            del paragraphs[i : i + 1 + (alone and i + 1 < len(paragraphs))]
            break
    return "\n\n".join(paragraphs)


def picture(directory: Path | None, name: str) -> Image.Image | None:
    path = None if directory is None else directory / name
    try:
        return Image.open(path).convert("RGB") if path is not None and path.exists() else None
    except OSError:  # not a picture PIL reads (the catalog warned at startup)
        return None


@lru_cache(maxsize=32)
def curves(directory: Path | None) -> Image.Image | None:
    """The checkpoint's curves.png (a GAN's monitor), else its training loss and validation loss over the steps,
    drawn from metrics.jsonl; None without either."""
    shipped = picture(directory, "curves.png")
    if shipped is not None or directory is None or not (directory / "metrics.jsonl").exists():
        return shipped
    records = []
    for line in (directory / "metrics.jsonl").read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # a damaged line (the catalog warned at startup)
    records = [r for r in records if isinstance(r, dict) and isinstance(r.get("step"), (int, float))]
    train = [(r["step"], r["loss"]) for r in records if isinstance(r.get("loss"), (int, float))]
    val = [(r["step"], r["val_loss"]) for r in records if isinstance(r.get("val_loss"), (int, float))]
    if not train and not val:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.2), dpi=100)
    for points, name in ((train, "training loss (logged steps)"), (val, "validation loss (each epoch)")):
        if points:
            axis.plot(*zip(*points), marker="o" if len(points) < 30 else None, label=name)
    axis.set_xlabel("step")
    axis.set_ylabel("loss (the training objective)")
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return Image.open(buffer).convert("RGB")


def _samples(entry, *, shared) -> list:
    """[the samples image, their caption]: the Sample tab's opening grid, labelled with what it is; a grid drawn
    through a PixelCNN (seconds) is drawn after the model change, prompted by the caption (see build)."""
    label = f"{opening_what(entry)} (as the Sample tab opens)"
    if not opening_ready(entry):
        return [gr.update(value=None, label=label), drawing_note(entry)]
    grid, note = opening_grid(entry, shared=shared)
    return [gr.update(value=grid, label=label), note]


def build(shared) -> None:
    with gr.Tab("Model", id="model"):
        with gr.Row():
            with gr.Column(scale=3):
                text = gr.Markdown(card_text(shared.first.path), elem_id="model-card")
            with gr.Column(scale=2):
                samples = gr.Image(label="Samples", type="pil", format="png", interactive=False, elem_id="model-samples")
                caption = gr.Markdown(elem_id="model-samples-note")
                plot = gr.Image(label="Training curves", type="pil", format="png", interactive=False)

        def updates(entry) -> list:
            directory = entry.path
            return [card_text(directory), *_samples(entry, shared=shared), curves(directory)]

        shared.when_model_changes([text, samples, caption, plot], updates)

        def draw(label, shown, progress=gr.Progress(track_tqdm=True)):
            entry = shared.entry(label)
            if shown != drawing_note(entry):
                return gr.skip(), gr.skip()
            grid, note = opening_grid(entry, shared=shared)  # drawn once for both tabs: whichever asks second waits
            return grid, note

        drawing = caption.change(draw, [shared.model, caption], [samples, caption], api_name=False)
        shared.model.input(None, None, None, cancels=[drawing])
