"""What a run is built from: the training split and its fixed validation slice, what a conditional model is
conditioned on, the frozen VQ-VAE a prior models the codes of, and the model with the fields they set."""

from __future__ import annotations

import numpy as np
import torch

import data
import models

from .config import TrainConfig


def load_data(model_type: str, cfg: TrainConfig, world: int):
    """The data: a fixed validation slice of the training split; a generated dataset's version is pinned in the record.
    Returns (loader options, dataset, (training, validation) indices, conditions, the config fields they set)."""
    data_options = data.pinned(cfg.data, cfg.data_options)
    ds = data.load(cfg.data, split="train", **data_options)
    train_idx, val_idx = split(len(ds), cfg)
    y_all, condition_fields = conditions(ds, cfg.condition, models.config_class(model_type).__dataclass_fields__)
    if cfg.batch_size // world < 1 or len(train_idx) < cfg.batch_size:
        raise ValueError(f"--batch-size {cfg.batch_size} does not fit {len(train_idx)} training images on {world} processes")
    return data_options, ds, (train_idx, val_idx), y_all, condition_fields


def build_model(model_type: str, model_fields: dict, cfg: TrainConfig, ds, condition_fields: dict, device):
    """The model, with the fields set from the data (and a prior's VQ-VAE), seeded by cfg.seed; and the VQ-VAE, if any."""
    accepted = models.config_class(model_type).__dataclass_fields__
    # a prior models the codes of a frozen VQ-VAE (--vqvae): its grid and codebook come from it
    vqvae = vqvae_for(model_fields.get("vqvae"), ds, device) if models.model_class(model_type).models_codes else None
    derived = {"image_size": ds.image_size, "channels": ds.channels, **condition_fields}  # set from the data...
    if vqvae is not None:
        levels = {k: model_fields[k] for k in ("level", "condition_level") if k in model_fields}
        derived |= models.model_class(model_type).fields_for(vqvae, **levels)  # ...and from the VQ-VAE
    derived = {k: v for k, v in derived.items() if k in accepted}  # a prior's config has no image fields
    for name, value in derived.items():
        if name in model_fields and model_fields[name] != value:
            raise ValueError(
                f"--{name.replace('_', '-')} {model_fields[name]} does not match {value!r}, set from the data ({cfg.data}){' and --vqvae' if vqvae is not None else ''}; leave it out"
            )
    fields = {**model_fields, **derived}
    torch.manual_seed(cfg.seed)
    model = models.MODELS[model_type](models.config_class(model_type)(**fields)).to(device)
    if cfg.init:
        warm_start(model, cfg.init)
    if vqvae is not None:
        model.attach(vqvae)
    return model, vqvae


def warm_start(model, directory: str) -> None:
    """--init: every tensor of the checkpoint in `directory` into the model (a VAE-GAN starts from a VAE of the same
    widths); the model's other tensors keep their fresh values."""
    theirs, mine = models.load(directory).state_dict(), model.state_dict()
    misfits = [name for name, tensor in theirs.items() if name not in mine or mine[name].shape != tensor.shape]
    if misfits:
        raise ValueError(
            f"--init {directory}: {len(misfits)} of its tensors have no place of that shape in this model "
            f"({', '.join(misfits[:3])}{', ...' if len(misfits) > 3 else ''}); give a checkpoint with the same latent size and widths"
        )
    model.load_state_dict({name: tensor.to(mine[name]) for name, tensor in theirs.items()}, strict=False)


def split(n: int, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """(training indices in a seeded order, sorted validation indices): the fixed validation slice of a run."""
    order = np.random.default_rng(cfg.seed).permutation(n)
    n_val = max(1, int(round(cfg.val_fraction * n)))
    return order[n_val:], np.sort(order[:n_val])


def conditions(ds, spec: str, accepted: dict) -> tuple[torch.Tensor | None, dict]:
    """What a conditional model (one whose config has num_classes) is conditioned on: class labels or chosen
    attributes, and the config fields that say so. A model whose num_classes defaults to 0 (a prior) may be unconditional."""
    if "num_classes" not in accepted:
        if spec:
            raise ValueError("--condition only applies to conditional models (cvae, pixelcnn) and classifiers")
        return None, {}
    if not spec and accepted["num_classes"].default == 0:
        return None, {}
    if spec not in ("", "labels") and "num_attributes" not in accepted:
        raise ValueError(f"this model conditions on class labels only (--condition labels), not on {spec!r}")
    spec = spec or ("labels" if ds.labels is not None else "")
    if spec == "labels":
        if ds.labels is None:
            raise ValueError(
                f"dataset {ds.name} has no class labels; condition on attributes: --condition {','.join((ds.attribute_names or ['NAME'])[:4])}"
            )
        return ds.targets(), {"num_classes": len(ds.label_names), "num_attributes": 0, "condition_names": tuple(ds.label_names)}
    names = ds.attribute_names or [] if spec == "attributes" else [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise ValueError(f"a conditional model needs --condition labels or attribute names; {ds.name} has no labels")
    # ds.targets raises, listing the dataset's attributes, for an unknown name
    return ds.targets(names), {"num_classes": 0, "num_attributes": len(names), "condition_names": tuple(names)}


def vqvae_for(source: str | None, ds, device) -> models.VQVAE:
    """The frozen VQ-VAE a prior is trained on, checked against the data."""
    if not source:
        raise ValueError("a pixelcnn prior models a VQ-VAE's codes: pass --vqvae DIR_OR_REPO_ID (a trained vqvae checkpoint)")
    vqvae = models.load(source, device)
    if not vqvae.code_levels:
        raise ValueError(f"--vqvae {source} is a {type(vqvae).__name__}, not a VQ-VAE")
    cfg = vqvae.config
    if (cfg.image_size, cfg.channels) != (ds.image_size, ds.channels):
        raise ValueError(
            f"--vqvae {source} takes {cfg.image_size}x{cfg.image_size} images with {cfg.channels} channel(s); the data ({ds.name}) "
            f"has {ds.image_size}x{ds.image_size} with {ds.channels}: train the prior on the VQ-VAE's dataset"
        )
    return vqvae.eval().requires_grad_(False)


def fixed_batch(ds, val_idx, y_all, device):
    idx = val_idx[:8]
    return ds.batch(idx).to(device), None if y_all is None else y_all[idx].to(device)
