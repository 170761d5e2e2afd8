"""The interfaces models share: the latent-model and encoder protocols, and the autoencoder base.

A model is `Model(config)`; the config dataclass fully defines the architecture and the training objective. The rest
of the shared pieces live by concern:

    models/config.py    Config, ModelConfig, option(): fields with help, choices and bounds, checked on construction
    models/nets.py      Posterior, per-image losses, detached(), the conv/MLP encoder and decoder builders
    models/hub.py       HubModel: save/load/push through huggingface_hub's PyTorchModelHubMixin, and the
                        capabilities every model declares (has_encoder, prior, code_levels, ...)
    models/storage.py   a checkpoint's files from a directory or a Hub repo id; push_checkpoint

Checkpoints are directories written by `save()`: config.json (asdict(config), with "model_type"), model.safetensors
(the state dict, nothing pickled), README.md (the model card). Loading goes through `models.load(path_or_repo_id)`
(class picked by model_type) or `<Model>.from_pretrained(...)`; both validate config.json strictly and load weights
with strict=True after checking every tensor name and shape (-> ValueError naming the file and the tensors).
"""

from __future__ import annotations

from typing import Protocol

import torch

from .config import ModelConfig
from .hub import HubModel
from .nets import Decoder, Encoder, Posterior


class LatentModel(Protocol):
    """Anything with a latent space the explorer can decode (autoencoders, GANs): a model with `has_latent`."""

    config: ModelConfig

    @property
    def latent_shape(self) -> tuple[int, ...]: ...

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor: ...

    def sample_latent(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> torch.Tensor: ...


class Encodable(Protocol):
    """A model with an encoder: one with `has_encoder`."""

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> Posterior: ...

    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor: ...


class Autoencoder(HubModel):
    """Encoder/decoder plumbing shared by AE, DAE, CAE, VAE, CVAE. Subclasses build self.encoder/self.decoder."""

    has_latent = True
    has_encoder = True
    encoder: Encoder
    decoder: Decoder

    @property
    def condition_dim(self) -> int:
        """Width of the condition vector fed to encoder and decoder (0: unconditional)."""
        return 0

    def condition(self, y: torch.Tensor | None, n: int) -> torch.Tensor | None:
        """Condition vector [N, K] from y, or None. Unconditional models ignore y."""
        return None

    def check_latent(self, z: torch.Tensor) -> None:
        if not torch.is_tensor(z) or z.ndim != 2 or tuple(z.shape[1:]) != self.latent_shape:
            got = tuple(z.shape) if torch.is_tensor(z) else type(z).__name__
            raise ValueError(f"{type(self).__name__} expects latents [N, {self.config.latent_dim}], got {got}")

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> Posterior:
        self.check_images(x)
        return self.posterior(self.encoder(x, self.condition(y, x.shape[0])))

    def posterior(self, h: torch.Tensor) -> Posterior:
        """Encoder output -> Posterior. Deterministic by default."""
        return Posterior(h)

    def decode_logits(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Decoder output before the output nonlinearity (logits of the pixel means)."""
        self.check_latent(z)
        return self.decoder(z, self.condition(y, z.shape[0]))

    def output(self, logits: torch.Tensor) -> torch.Tensor:
        """Decoder output -> pixel means in [0, 1]."""
        return torch.sigmoid(logits)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z [N, D] -> images [N, C, S, S] in [0, 1]."""
        return self.output(self.decode_logits(z, y))

    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Decode the posterior mode of x."""
        return self.decode(self.encode(x, y).mode(), y)
