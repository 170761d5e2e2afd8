"""How a run is scored: its validation loss (models with an encoder, classifiers), or, for a GAN, the monitor's
Frechet distance measured with the dataset's classifier."""

from __future__ import annotations

import torch
import torch.distributed as dist

import data
import metrics
import models
from metrics.monitor import Monitor, cells_for

from .config import TrainConfig


@torch.no_grad()
def evaluate(model, ds, index, y_all, device, batch_size, step) -> dict[str, float]:
    """Mean loss parts, pixel MSE and PSNR over `index`, with fixed noise so epochs compare fairly."""
    model.eval()
    generator = torch.Generator(device).manual_seed(0)
    totals: dict[str, float] = {}
    code_counts = dict.fromkeys(model.code_levels, 0)
    for start in range(0, len(index), batch_size):
        idx = index[start : start + batch_size]
        x = ds.batch(idx).to(device)
        y = None if y_all is None else y_all[idx].to(device)
        parts = {k: v.item() for k, v in model.loss(x, y, step=step, generator=generator).items()}
        if model.has_encoder:
            z = model.encode(x, y).mode()
            parts["mse"] = (model.decode(z, y) - x).pow(2).mean().item()  # the reconstruction through the posterior mode
        code_counts = {level: counts + metrics.code_counts(model, z, level) for level, counts in code_counts.items()}
        for k, v in parts.items():
            totals[k] = totals.get(k, 0.0) + v * len(idx)
    model.train()
    result = {k: v / len(index) for k, v in totals.items()}
    if "mse" in result:
        result["psnr"] = metrics.psnr(result["mse"])
    for level, counts in code_counts.items():  # over the whole validation set: a batch's perplexity depends on the batch size
        suffix = "" if len(code_counts) == 1 else f"_{level}"
        result.update({f"{name}{suffix}": value for name, value in metrics.code_usage(counts).items()})
    return result


def gan_monitor(cfg: TrainConfig, ds, val_idx, train_idx, y_all, model) -> Monitor:
    """The monitor of a GAN's run: the first monitor_images validation images (and their conditions), measured by
    the dataset's classifier; on data with attributes (faces), coverage over the training data's attribute cells."""
    classifier = dataset_classifier(cfg, ds).to(model.device).eval()
    index = val_idx[: cfg.monitor_images]
    return Monitor(classifier, ds.batch(index), None if y_all is None else y_all[index], cells_for(classifier, ds, train_idx))


def dataset_classifier(cfg: TrainConfig, ds) -> models.Classifier:
    """--monitor-classifier, else the shipped classifier of the dataset at its image size (ValueError if none)."""
    if cfg.monitor_classifier:
        classifier = models.load(cfg.monitor_classifier)
    else:
        classifier = metrics.classifier_for(cfg.data, ds.image_size, data.pinned(cfg.data, cfg.data_options))
        if classifier is None:
            raise ValueError(
                f"a GAN's training monitor measures samples with a classifier of {cfg.data} at {ds.image_size}x{ds.image_size}, and none ships: "
                f"train one (python -m train classifier --data {cfg.data} --condition labels|attributes --out DIR) and pass --monitor-classifier DIR"
            )
    if not classifier.classifies or (classifier.config.image_size, classifier.config.channels) != (ds.image_size, ds.channels):
        raise ValueError(
            f"--monitor-classifier {cfg.monitor_classifier}: not a classifier of {ds.image_size}x{ds.image_size} images with {ds.channels} channel(s)"
        )
    return classifier


def broadcast(value: float, device) -> float:
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(tensor, 0)
    return tensor.item()
