"""Gated PixelCNN prior over a VQ-VAE's code grid (van den Oord et al. 2016, "Conditional Image
Generation with PixelCNN Decoders"), optionally class-conditional.

p(c) = prod_i p(c_i | c_<i) over the grid cells in raster order. Two stacks keep the model causal
without the blind spot of the original masked PixelCNN:
    vertical stack     row i sees rows <= i (all columns); it reaches the horizontal stack only
                       shifted down one row, so cell (i, j) learns from every row above it
    horizontal stack   cell (i, j) sees cells (i, < j) in the first layer (mask type A) and
                       (i, <= j) after it (type B, whose inputs already exclude c_ij)
Each layer is gated, tanh(W_f * x + V_f h) * sigmoid(W_g * x + V_g h), with h a learned bias per
class (the paper's eq. 4 with a one-hot h).

A prior belongs to one VQ-VAE: its config records the VQ-VAE's source and a fingerprint of its
weights, and `attach` refuses any other. Training (`python -m train pixelcnn --vqvae DIR_OR_REPO_ID`)
encodes each batch with the frozen, attached VQ-VAE and fits the codes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .config import Config, option
from .hub import HubModel
from .nets import detached


@dataclass(frozen=True)
class PixelCNNConfig(Config):
    model_type: str = option("pixelcnn", "registry key in models.MODELS; fixed by the config class")
    vqvae: str = option("", "the VQ-VAE whose code grids this prior models: a checkpoint directory or Hub repo id")
    vqvae_fingerprint: str = option("", "SHA-256 of that VQ-VAE's weights; attaching another VQ-VAE is refused")
    num_codes: int = option(256, "codebook size K of the VQ-VAE: each cell is a K-way softmax (set from --vqvae)", low=2)
    grid_size: int = option(16, "side of the VQ-VAE's code grid", low=1)
    width: int = option(64, "channels of the vertical and horizontal stacks", low=1)
    layers: int = option(
        8, "gated layers; cell (i, j) sees all of rows < i and columns j - layers * (kernel_size // 2) .. j - 1 of row i", low=1
    )
    kernel_size: int = option(3, "odd kernel width of the stacks' convolutions", low=3)
    num_classes: int = option(0, "> 0: class-conditional prior over this many classes", low=0)
    condition_names: tuple[str, ...] = option((), "names of the classes, for the UI (set from the data)")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kernel_size % 2 == 0:  # not a range: the stacks centre the kernel on a cell
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")
        if self.condition_names and len(self.condition_names) != self.num_classes:
            raise ValueError(f"condition_names has {len(self.condition_names)} names for {self.num_classes} classes")


def gate(x: torch.Tensor) -> torch.Tensor:
    """tanh(a) * sigmoid(b) of the two halves of the channels (van den Oord et al. 2016, eq. 2)."""
    a, b = x.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    def __init__(self, config: PixelCNNConfig, first: bool):
        super().__init__()
        w, r = config.width, config.kernel_size // 2
        self.first, self.r = first, r
        # vertical: a (r + 1) x k kernel over rows i - r .. i, padded on top only, so nothing below row i leaks in
        self.vertical = nn.Conv2d(w, 2 * w, (r + 1, config.kernel_size))
        # horizontal: columns j - r .. j - 1 (type A, first layer) or j - r .. j (type B), padded on the left only
        self.horizontal = nn.Conv2d(w, 2 * w, (1, r if first else r + 1))
        self.vertical_to_horizontal = nn.Conv2d(2 * w, 2 * w, 1)
        self.out = nn.Conv2d(w, w, 1)
        self.condition = nn.Embedding(config.num_classes, 4 * w) if config.num_classes else None

    def vertical_step(self, v: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(next vertical features [N, w, H, W], what row i of the horizontal stack gets from rows < i [N, 2w, H, W])."""
        height, r = v.shape[2], self.r
        v_pre = self.vertical(F.pad(v, (r, r, r, 0)))  # [N, 2w, H, W]: row i from rows <= i
        if self.condition is not None:
            v_pre = v_pre + self.condition(y)[:, : v_pre.shape[1], None, None]
        above = F.pad(v_pre, (0, 0, 1, 0))[:, :, :height]  # shifted down a row: row i from rows < i
        return gate(v_pre), self.vertical_to_horizontal(above)

    def horizontal_step(self, h: torch.Tensor, above: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """Next horizontal features [N, w, H, W] from h and the vertical stack's contribution `above`."""
        width, r = h.shape[3], self.r
        h_pre = self.horizontal(F.pad(h, (r, 0, 0, 0)))[:, :, :, :width] + above
        if self.condition is not None:
            h_pre = h_pre + self.condition(y)[:, h_pre.shape[1] :, None, None]
        h_out = self.out(gate(h_pre))
        # no residual in the first layer: its input holds c_ij itself, which cell (i, j) must not see
        return h_out if self.first else h + h_out


def fingerprint(model: nn.Module) -> str:
    """SHA-256 of a model's state dict (names and bytes): which weights a prior was trained on."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class PixelCNN(HubModel, paper_url="https://arxiv.org/abs/1606.05328"):
    config_class = PixelCNNConfig
    kind = "PixelCNN prior"
    models_codes = True

    def __init__(self, config: PixelCNNConfig):
        super().__init__(config)
        self.embedding = nn.Embedding(config.num_codes, config.width)
        self.layers = nn.ModuleList(GatedLayer(config, first=i == 0) for i in range(config.layers))
        self.head = nn.Sequential(
            nn.ReLU(), nn.Conv2d(config.width, config.width, 1), nn.ReLU(), nn.Conv2d(config.width, config.num_codes, 1)
        )
        self._vqvae = None

    # --- the VQ-VAE it belongs to

    @classmethod
    def fields_for(cls, vqvae) -> dict:
        """The config fields a prior takes from its VQ-VAE."""
        return {"num_codes": vqvae.config.num_codes, "grid_size": vqvae.grid_size, "vqvae_fingerprint": fingerprint(vqvae)}

    def attach(self, vqvae) -> None:
        """Use `vqvae` to encode training images and decode samples; refused unless it is the VQ-VAE this prior was trained on."""
        if fingerprint(vqvae) != self.config.vqvae_fingerprint:
            raise ValueError(
                f"this PixelCNN prior belongs to the VQ-VAE {self.config.vqvae!r} (weights {self.config.vqvae_fingerprint[:12]}...), "
                f"not to the one given (weights {fingerprint(vqvae)[:12]}...); train a prior for it: python -m train pixelcnn --vqvae DIR"
            )
        object.__setattr__(self, "_vqvae", vqvae)  # not a submodule: its weights stay out of the prior's checkpoint (and optimizer)

    @property
    def vqvae(self):
        if self._vqvae is None:
            raise ValueError("the prior has no VQ-VAE attached: load it and call prior.attach(vqvae) (the explorer does this for you)")
        return self._vqvae

    @property
    def condition_labels(self) -> list[str]:
        return list(self.config.condition_names) or [f"class {i}" for i in range(self.config.num_classes)]

    def samples_caption(self) -> str:
        rows = "; row r draws class r" if self.config.num_classes else ""
        return f"Samples from the prior (seed 0, temperature 1), decoded by its VQ-VAE{rows}."

    def card_rows(self) -> str:
        cfg = self.config
        return f"| prior over the codes of | `{cfg.vqvae}` (weights SHA-256 `{cfg.vqvae_fingerprint[:16]}...`) |\n"

    # --- the model

    def check_condition(self, y: torch.Tensor | None, n: int) -> torch.Tensor | None:
        k = self.config.num_classes
        if not k:
            return None
        if (
            y is None
            or not torch.is_tensor(y)
            or y.shape != (n,)
            or y.is_floating_point()
            or y.dtype == torch.bool
            or (n and (y.min() < 0 or y.max() >= k))
        ):
            got = f"tensor {tuple(y.shape)} {y.dtype}" if torch.is_tensor(y) else repr(y)
            raise ValueError(f"this prior is class-conditional: y must be class ids, an integer tensor [{n}] in [0, {k}); got {got}")
        return y.long().to(self.device)

    def logits(self, codes: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Logits [N, K, H, W] of p(c_ij | c_<ij) for code grids [N, H, W]."""
        y = self.check_condition(y, len(codes))
        x = self.embedding(codes.to(self.device)).permute(0, 3, 1, 2)  # [N, H, W, w] -> [N, w, H, W]
        return self.logits_of_embedded(x, y)

    def logits_of_embedded(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """The network on embedded codes [N, w, H, W]; separate so tests can take gradients w.r.t. its input."""
        return self.horizontal_stack(x, self.vertical_stack(x, y), y)

    def vertical_stack(self, x: torch.Tensor, y: torch.Tensor | None) -> list[torch.Tensor]:
        """Each layer's contribution from the rows above [N, 2w, H, W] to the horizontal stack."""
        above, v = [], x
        for layer in self.layers:
            v, a = layer.vertical_step(v, y)
            above.append(a)
        return above

    def horizontal_stack(self, x: torch.Tensor, above: list[torch.Tensor], y: torch.Tensor | None) -> torch.Tensor:
        """Logits [N, K, H, W] from embedded codes x and the vertical stack's contributions."""
        h = x
        for layer, a in zip(self.layers, above):
            h = layer.horizontal_step(h, a, y)
        return self.head(h)

    def loss(self, x, y=None, step=None, generator=None) -> dict[str, torch.Tensor]:
        """Negative log-likelihood of the attached VQ-VAE's codes of images x, in nats per grid cell."""
        with torch.no_grad():
            codes = self.vqvae.codes(self.vqvae.encode(x).mean)
        nll = F.cross_entropy(self.logits(codes, y), codes)
        return detached(nll, bits_per_code=nll / torch.log(torch.tensor(2.0)))

    @torch.no_grad()
    def sample(
        self, n: int, y: torch.Tensor | None = None, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """n code grids [n, g, g] (long, on the CPU), cell by cell in raster order, each from softmax(logits / temperature).
        The same generator state gives the same grids."""
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        y = self.check_condition(y, n)
        g = self.config.grid_size
        codes = torch.zeros(n, g, g, dtype=torch.long, device=self.device)
        for i in tqdm(range(g), desc="PixelCNN prior", unit="row", leave=False, disable=g < 8):
            # the rows above are final: one vertical pass per row (row i's own codes do not reach row i's `above`)
            x = self.embedding(codes[:, : i + 1]).permute(0, 3, 1, 2)
            above = [a[:, :, i : i + 1] for a in self.vertical_stack(x, y)]
            for j in range(g):
                row = self.embedding(codes[:, i : i + 1]).permute(0, 3, 1, 2)  # [N, w, 1, g]
                logits = self.horizontal_stack(row, above, y)[:, :, 0, j].float().cpu()
                probs = torch.softmax(logits / temperature, dim=1)
                codes[:, i, j] = torch.multinomial(probs, 1, generator=generator).squeeze(1).to(self.device)
        return codes.cpu()
