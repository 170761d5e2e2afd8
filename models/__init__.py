"""Models: one registry, one `load`.

>>> import models
>>> model = models.MODELS["vae"](models.config_class("vae")(image_size=28, latent_dim=8))
>>> model.save("runs/vae")                      # config.json + model.safetensors + README.md
>>> model = models.load("runs/vae")             # or a Hub repo id: models.load("owner/name")
>>> models.push_checkpoint("runs/vae", "owner/name")  # every file of a trained run (model.push_to_hub: the same)
>>> x_hat = model.reconstruct(x)                # x: float32 [N, C, S, S] in [0, 1]
>>> images = model.decode(model.sample_latent(16, generator=torch.Generator().manual_seed(0)))
"""

from __future__ import annotations

import os

import torch

from .aae import AAE, AAEConfig
from .ae import AE, AEConfig
from .base import Autoencoder, Encodable, LatentModel
from .cae import CAE, CAEConfig
from .cgan import CGAN, CGANConfig
from .classifier import Classifier, ClassifierConfig
from .config import Config, ModelConfig, field_specs, option
from .cvae import CVAE, CVAEConfig
from .dae import DAE, DAEConfig
from .dcgan import DCGAN, DCGANConfig
from .gan import GAN, GANConfig
from .hub import CODE_URL, HubModel
from .infogan import InfoGAN, InfoGANConfig
from .nets import Posterior
from .pixelcnn import PixelCNN, PixelCNNConfig, PriorStack
from .storage import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME, checkpoint_dir, push_checkpoint, read_config_json, read_json, resolve_file
from .vae import VAE, VAEConfig
from .vaegan import VAEGAN, VAEGANConfig
from .vqvae import VQVAE, VQVAEConfig
from .vqvae2 import VQVAE2, VQVAE2Config
from .wgan_gp import WGANGP, WGANGPConfig

# model_type (config.json) -> model class; the class's `config_class` is its config dataclass
MODELS: dict[str, type[HubModel]] = {
    "ae": AE,
    "aae": AAE,
    "dae": DAE,
    "cae": CAE,
    "vae": VAE,
    "cvae": CVAE,
    "vaegan": VAEGAN,
    "vqvae": VQVAE,
    "vqvae2": VQVAE2,
    "pixelcnn": PixelCNN,
    "dcgan": DCGAN,
    "wgan-gp": WGANGP,
    "cgan": CGAN,
    "infogan": InfoGAN,
    "classifier": Classifier,
}


def model_class(model_type: str) -> type[HubModel]:
    if model_type not in MODELS:
        raise ValueError(f"unknown model_type {model_type!r}; accepted: {', '.join(MODELS)}")
    return MODELS[model_type]


def config_class(model_type: str) -> type[ModelConfig]:
    """The config dataclass of a model type (its fields carry metadata["help"], and ["choices"] where fixed)."""
    return model_class(model_type).config_class


def load(
    path_or_repo_id: str | os.PathLike,
    device: str | torch.device = "cpu",
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
) -> HubModel:
    """Load a checkpoint directory or Hub repo id; the class comes from config.json["model_type"].

    Raises ValueError (naming the file, the problem and what is accepted) for an unknown model_type,
    malformed config.json, missing/mis-shaped/unexpected tensors, or a path/repo that cannot be found.
    Returns the model in eval mode on `device`.
    """
    hub = dict(revision=revision, cache_dir=cache_dir, local_files_only=local_files_only, token=token)
    model_type = model_type_of(path_or_repo_id, **hub)
    return MODELS[model_type].from_pretrained(path_or_repo_id, map_location=device, **hub)


def model_type_of(path_or_repo_id: str | os.PathLike, **hub_kwargs) -> str:
    """The model_type in a checkpoint's config.json (ValueError if unreadable or not in MODELS)."""
    config_file = resolve_file(path_or_repo_id, CONFIG_NAME, **hub_kwargs)
    model_type = read_config_json(config_file)["model_type"]
    if model_type not in MODELS:
        raise ValueError(f"{config_file}: unknown model_type {model_type!r}; accepted: {', '.join(MODELS)}")
    return model_type


__all__ = [
    "MODELS",
    "load",
    "model_type_of",
    "checkpoint_dir",
    "push_checkpoint",
    "read_config_json",
    "read_json",
    "resolve_file",
    "field_specs",
    "option",
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "CARD_NAME",
    "CODE_URL",
    "config_class",
    "model_class",
    "Config",
    "ModelConfig",
    "Posterior",
    "HubModel",
    "Autoencoder",
    "LatentModel",
    "Encodable",
    "AE",
    "AEConfig",
    "AAE",
    "AAEConfig",
    "VAEGAN",
    "VAEGANConfig",
    "Classifier",
    "ClassifierConfig",
    "DAE",
    "DAEConfig",
    "CAE",
    "CAEConfig",
    "VAE",
    "VAEConfig",
    "CVAE",
    "CVAEConfig",
    "VQVAE",
    "VQVAEConfig",
    "VQVAE2",
    "VQVAE2Config",
    "PixelCNN",
    "PixelCNNConfig",
    "PriorStack",
    "GAN",
    "GANConfig",
    "DCGAN",
    "DCGANConfig",
    "WGANGP",
    "WGANGPConfig",
    "CGAN",
    "CGANConfig",
    "InfoGAN",
    "InfoGANConfig",
]
