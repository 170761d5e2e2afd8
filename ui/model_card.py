"""Model: the picked model's card as the app shows it -- where it came from and what it measures (its README.md,
written by training), its sample grid, and its training curves (a GAN's monitor curves, or the loss and validation
curves of metrics.jsonl)."""

from __future__ import annotations

import io
import json
import re
from functools import lru_cache
from pathlib import Path

import gradio as gr
from PIL import Image

IMAGE_LINK = re.compile(r"!\[[^\]]*\]\([^)]*\)")  # the card's relative image links: the tab shows those pictures itself


def card_text(directory: Path | None) -> str:
    """The card's body (its YAML header dropped, its pictures shown apart), or a note when it has none."""
    card = None if directory is None else directory / "README.md"
    if card is None or not card.exists():
        return "*This checkpoint has no model card (README.md); `python -m train card DIR` writes one.*"
    text = card.read_text(encoding="utf-8")
    if text.startswith("---"):
        text = text.split("---", 2)[2]
    return IMAGE_LINK.sub("", text).strip()


def picture(directory: Path | None, name: str) -> Image.Image | None:
    path = None if directory is None else directory / name
    return Image.open(path).convert("RGB") if path is not None and path.exists() else None


@lru_cache(maxsize=32)
def curves(directory: Path | None) -> Image.Image | None:
    """The checkpoint's curves.png (a GAN's monitor), else its training loss and validation loss over the steps,
    drawn from metrics.jsonl; None without either."""
    shipped = picture(directory, "curves.png")
    if shipped is not None or directory is None or not (directory / "metrics.jsonl").exists():
        return shipped
    records = [json.loads(line) for line in (directory / "metrics.jsonl").read_text().splitlines() if line.strip()]
    train = [(r["step"], r["loss"]) for r in records if "loss" in r]
    val = [(r["step"], r["val_loss"]) for r in records if "val_loss" in r]
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


def _updates(entry) -> list:
    directory = entry.path
    return [card_text(directory), picture(directory, "samples.png"), curves(directory)]


def build(shared) -> None:
    with gr.Tab("Model", id="model"):
        with gr.Row():
            with gr.Column(scale=3):
                text = gr.Markdown(card_text(shared.first.path), elem_id="model-card")
            with gr.Column(scale=2):
                samples = gr.Image(label="Samples (the card's grid)", type="pil", format="png", interactive=False)
                plot = gr.Image(label="Training curves", type="pil", format="png", interactive=False)
        shared.when_model_changes([text, samples, plot], _updates)
