"""Gated PixelCNN prior over a VQ-VAE's code grid (van den Oord et al. 2016, "Conditional Image
Generation with PixelCNN Decoders"), optionally class-conditional.

p(c) = prod_i p(c_i | c_<i) over the grid cells in raster order. Two stacks keep the model causal
without the blind spot of the original masked PixelCNN:
    vertical stack     row i sees rows <= i (all columns); it reaches the horizontal stack only
                       shifted down one row, so cell (i, j) learns from every row above it
    horizontal stack   cell (i, j) sees cells (i, < j) in the first layer (mask type A) and
                       (i, <= j) after it (type B, whose inputs already exclude c_ij)
Each layer is gated, tanh(W_f * x + V_f h) * sigmoid(W_g * x + V_g h), with h a learned bias per
class (the paper's eq. 4 with a one-hot h) and, for a prior over a VQ-VAE-2's bottom codes, a map of the top
codes (eq. 5, V * s(h) with s a deconvolutional network: here embedding, convolutions and upsampling to the grid).

A VQ-VAE-2 (Razavi et al. 2019) has a prior per code level, each a checkpoint of its own: over the top codes,
with causal self-attention blocks in the horizontal stack (attention_layers; after PixelSNAIL, Chen et al. 2018:
global context that a convolution's receptive field lacks), and over the bottom codes given the top ones
(condition_level). PriorStack samples them top-down.

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
    level: str = option("codes", "the VQ-VAE's code level this prior models: codes (a VQ-VAE), top or bottom (a VQ-VAE-2)")
    condition_level: str = option("", "a code level of the same VQ-VAE whose codes condition this one (a VQ-VAE-2's bottom prior: top)")
    condition_num_codes: int = option(0, "codebook size of condition_level (set from --vqvae)", low=0)
    condition_grid_size: int = option(0, "side of condition_level's code grid (set from --vqvae)", low=0)
    attention_layers: int = option(
        0, "causal self-attention blocks in the horizontal stack, after evenly spaced gated layers (PixelSNAIL)", low=0
    )
    attention_heads: int = option(4, "heads of each self-attention block; width must be divisible by it", low=1)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kernel_size % 2 == 0:  # not a range: the stacks centre the kernel on a cell
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")
        if self.condition_names and len(self.condition_names) != self.num_classes:
            raise ValueError(f"condition_names has {len(self.condition_names)} names for {self.num_classes} classes")
        if self.attention_layers and self.width % self.attention_heads:
            raise ValueError(f"width {self.width} must be divisible by attention_heads {self.attention_heads}")
        if self.condition_level == self.level:
            raise ValueError(f"a prior over the {self.level} codes cannot be conditioned on them")
        if self.condition_level and (self.condition_grid_size < 1 or self.grid_size % self.condition_grid_size):
            raise ValueError(
                f"the condition grid ({self.condition_grid_size} on a side) must divide the grid ({self.grid_size}): set it with --vqvae"
            )


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
        self.given = nn.Conv2d(w, 4 * w, 1) if config.condition_level else None

    def bias(self, y: torch.Tensor | None, given: torch.Tensor | None) -> torch.Tensor | float:
        """The layer's conditioning h [N, 4w, 1 or H, 1 or W] (vertical half, then horizontal half): its class's
        bias plus its map of the given codes' features; 0 for an unconditional prior."""
        bias = 0.0
        if self.condition is not None:
            bias = self.condition(y)[:, :, None, None]
        if self.given is not None:
            bias = bias + self.given(given)
        return bias

    def vertical_step(self, v: torch.Tensor, bias: torch.Tensor | float) -> tuple[torch.Tensor, torch.Tensor]:
        """(next vertical features [N, w, H, W], what row i of the horizontal stack gets from rows < i [N, 2w, H, W])."""
        height, r = v.shape[2], self.r
        v_pre = self.vertical(F.pad(v, (r, r, r, 0)))  # [N, 2w, H, W]: row i from rows <= i
        if torch.is_tensor(bias):
            v_pre = v_pre + bias[:, : v_pre.shape[1]]
        above = F.pad(v_pre, (0, 0, 1, 0))[:, :, :height]  # shifted down a row: row i from rows < i
        return gate(v_pre), self.vertical_to_horizontal(above)

    def horizontal_step(self, h: torch.Tensor, above: torch.Tensor, bias: torch.Tensor | float) -> torch.Tensor:
        """Next horizontal features [N, w, H, W] from h and the vertical stack's contribution `above`."""
        width, r = h.shape[3], self.r
        h_pre = self.horizontal(F.pad(h, (r, 0, 0, 0)))[:, :, :, :width] + above
        if torch.is_tensor(bias):
            h_pre = h_pre + bias[:, h_pre.shape[1] :]
        h_out = self.out(gate(h_pre))
        # no residual in the first layer: its input holds c_ij itself, which cell (i, j) must not see
        return h_out if self.first else h + h_out


class CausalAttention(nn.Module):
    """h + attention(h) over the grid in raster order, each cell attending to itself and the cells before it, with a
    learned position embedding. Causal because the horizontal stack's features at a cell already exclude its own
    code: mixing in those of earlier cells keeps every cell blind to its code and to later ones."""

    def __init__(self, config: PixelCNNConfig):
        super().__init__()
        w, g = config.width, config.grid_size
        self.position = nn.Parameter(torch.zeros(1, w, g, g))
        self.norm = nn.LayerNorm(w)
        self.attention = nn.MultiheadAttention(w, config.attention_heads, batch_first=True)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        n, w, height, width = h.shape
        x = self.norm((h + self.position[:, :, :height, :width]).flatten(2).transpose(1, 2))  # [N, HW, w]
        later = torch.ones(height * width, height * width, dtype=torch.bool, device=h.device).triu(1)  # True: not attended
        out, _ = self.attention(x, x, x, attn_mask=later, need_weights=False)
        return h + out.transpose(1, 2).reshape(n, w, height, width)


def rows(bias: torch.Tensor | float, start: int, stop: int) -> torch.Tensor | float:
    """Rows start..stop-1 of a layer's conditioning (a per-image bias has one row, which every row shares)."""
    return bias[:, :, start:stop] if torch.is_tensor(bias) and bias.shape[2] > 1 else bias


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
        # attention after evenly spaced gated layers, the last one after the last layer
        every = config.layers / max(config.attention_layers, 1)
        self.attention_after = {round(every * (i + 1)) - 1: str(i) for i in range(config.attention_layers)}
        self.attention = nn.ModuleDict({key: CausalAttention(config) for key in self.attention_after.values()})
        if config.condition_level:  # the given codes' features at this grid's resolution
            w, scale = config.width, config.grid_size // config.condition_grid_size
            self.given_embedding = nn.Embedding(config.condition_num_codes, w)
            self.given_net = nn.Sequential(
                nn.Conv2d(w, w, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=scale), nn.Conv2d(w, w, 3, padding=1), nn.ReLU()
            )
        self.head = nn.Sequential(
            nn.ReLU(), nn.Conv2d(config.width, config.width, 1), nn.ReLU(), nn.Conv2d(config.width, config.num_codes, 1)
        )
        self._vqvae = None

    # --- the VQ-VAE it belongs to

    @classmethod
    def fields_for(cls, vqvae, level: str = "codes", condition_level: str = "") -> dict:
        """The config fields a prior of `level` (given `condition_level`) takes from its VQ-VAE."""
        for name in (level, condition_level or level):
            if name not in vqvae.code_levels:
                raise ValueError(f"{type(vqvae).__name__} has no code level {name!r}; its levels: {', '.join(vqvae.code_levels)}")
        fields = {"num_codes": vqvae.config.num_codes, "grid_size": vqvae.grid_sizes[level], "vqvae_fingerprint": fingerprint(vqvae)}
        if condition_level:
            fields |= {"condition_num_codes": vqvae.config.num_codes, "condition_grid_size": vqvae.grid_sizes[condition_level]}
        return fields

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
        cfg = self.config
        rows = "; row r draws class r" if cfg.num_classes else ""
        if cfg.level == "codes":
            return f"Samples from the prior (seed 0, temperature 1), decoded by its VQ-VAE{rows}."
        given = f", given their {cfg.condition_level} codes" if cfg.condition_level else ""
        return (
            f"The {cfg.level} codes of validation images drawn afresh by this prior (seed 0, temperature 1{given}), the "
            f"other level's codes kept, decoded by its VQ-VAE-2{rows}: what the {cfg.level} level holds."
        )

    def card_rows(self) -> str:
        cfg = self.config
        rows = f"| prior over the codes of | `{cfg.vqvae}` (weights SHA-256 `{cfg.vqvae_fingerprint[:16]}...`) |\n"
        if cfg.level != "codes":
            given = f", given the {cfg.condition_level} codes" if cfg.condition_level else ""
            rows += f"| code level | {cfg.level} ({cfg.grid_size}x{cfg.grid_size}){given} |\n"
        if cfg.attention_layers:
            rows += f"| causal self-attention | {cfg.attention_layers} blocks of {cfg.attention_heads} heads |\n"
        return rows

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

    def check_given(self, given: torch.Tensor | None, n: int) -> torch.Tensor | None:
        cfg = self.config
        if not cfg.condition_level:
            return None
        s, k = cfg.condition_grid_size, cfg.condition_num_codes
        if (
            not torch.is_tensor(given)
            or given.shape != (n, s, s)
            or given.is_floating_point()
            or (given.numel() and (given.min() < 0 or given.max() >= k))
        ):
            got = f"tensor {tuple(given.shape)} {given.dtype}" if torch.is_tensor(given) else repr(given)
            raise ValueError(
                f"this prior is conditioned on the {cfg.condition_level} codes: given must be code grids [{n}, {s}, {s}] in [0, {k}); got {got}"
            )
        return given.long().to(self.device)

    def biases(self, n: int, y: torch.Tensor | None, given: torch.Tensor | None) -> list[torch.Tensor | float]:
        """Each gated layer's conditioning (GatedLayer.bias) for n grids, checked: class ids y, given code grids."""
        y, given = self.check_condition(y, n), self.check_given(given, n)
        features = None if given is None else self.given_net(self.given_embedding(given).permute(0, 3, 1, 2))
        return [layer.bias(y, features) for layer in self.layers]

    def logits(self, codes: torch.Tensor, y: torch.Tensor | None = None, given: torch.Tensor | None = None) -> torch.Tensor:
        """Logits [N, K, H, W] of p(c_ij | c_<ij) for code grids [N, H, W] (given: the condition level's codes)."""
        x = self.embedding(codes.to(self.device)).permute(0, 3, 1, 2)  # [N, H, W, w] -> [N, w, H, W]
        return self.logits_of_embedded(x, self.biases(len(codes), y, given))

    def logits_of_embedded(self, x: torch.Tensor, biases: list) -> torch.Tensor:
        """The network on embedded codes [N, w, H, W]; separate so tests can take gradients w.r.t. its input."""
        return self.horizontal_stack(x, self.vertical_stack(x, biases), biases)

    def vertical_stack(self, x: torch.Tensor, biases: list) -> list[torch.Tensor]:
        """Each layer's contribution from the rows above [N, 2w, H, W] to the horizontal stack."""
        above, v = [], x
        for layer, bias in zip(self.layers, biases):
            v, a = layer.vertical_step(v, bias)
            above.append(a)
        return above

    def horizontal_stack(self, x: torch.Tensor, above: list[torch.Tensor], biases: list) -> torch.Tensor:
        """Logits [N, K, H, W] from embedded codes x and the vertical stack's contributions."""
        h = x
        for i, (layer, a, bias) in enumerate(zip(self.layers, above, biases)):
            h = layer.horizontal_step(h, a, bias)
            if i in self.attention_after:
                h = self.attention[self.attention_after[i]](h)
        return self.head(h)

    def level_codes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The attached VQ-VAE's codes of images x at this prior's level, and at the level it is conditioned on."""
        cfg, vqvae = self.config, self.vqvae
        z = vqvae.encode(x).mean
        return vqvae.level_codes(z, cfg.level), vqvae.level_codes(z, cfg.condition_level) if cfg.condition_level else None

    def loss(self, x, y=None, step=None, generator=None) -> dict[str, torch.Tensor]:
        """Negative log-likelihood of the attached VQ-VAE's codes of images x, in nats per grid cell."""
        with torch.no_grad():
            codes, given = self.level_codes(x)
        nll = F.cross_entropy(self.logits(codes, y, given), codes)
        return detached(nll, bits_per_code=nll / torch.log(torch.tensor(2.0)))

    @torch.no_grad()
    def sample(
        self,
        n: int,
        y: torch.Tensor | None = None,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
        given: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """n code grids [n, g, g] (long, on the CPU), cell by cell in raster order, each from softmax(logits / temperature).
        The same generator state gives the same grids. Without attention, one vertical pass per row and a pass over the
        row per cell; with attention (which reads every earlier cell's features), the whole network per cell."""
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        biases = self.biases(n, y, given)
        g = self.config.grid_size
        codes = torch.zeros(n, g, g, dtype=torch.long, device=self.device)
        for i in tqdm(range(g), desc=f"PixelCNN prior ({self.config.level})", unit="row", leave=False, disable=g < 8):
            if not self.attention:  # the rows above are final: row i's own codes do not reach row i's `above`
                x = self.embedding(codes[:, : i + 1]).permute(0, 3, 1, 2)
                above = [a[:, :, i : i + 1] for a in self.vertical_stack(x, [rows(b, 0, i + 1) for b in biases])]
                row_biases = [rows(b, i, i + 1) for b in biases]
            for j in range(g):
                if self.attention:
                    x = self.embedding(codes).permute(0, 3, 1, 2)
                    logits = self.logits_of_embedded(x, biases)[:, :, i, j]
                else:
                    row = self.embedding(codes[:, i : i + 1]).permute(0, 3, 1, 2)  # [N, w, 1, g]
                    logits = self.horizontal_stack(row, above, row_biases)[:, :, 0, j]
                probs = torch.softmax(logits.float().cpu() / temperature, dim=1)
                codes[:, i, j] = torch.multinomial(probs, 1, generator=generator).squeeze(1).to(self.device)
        return codes.cpu()


class PriorStack:
    """The priors of a VQ-VAE-2's code levels, sampled top-down: each level's codes given those of the level its prior
    is conditioned on. What the explorer samples a many-level VQ-VAE through, in place of one PixelCNN."""

    kind = "PixelCNN prior per code level"

    def __init__(self, priors: list[PixelCNN]):
        self.priors = priors  # in sampling order: a prior's condition level comes before it
        for i, prior in enumerate(priors):
            earlier = [p.config.level for p in priors[:i]]
            if prior.config.condition_level and prior.config.condition_level not in earlier:
                raise ValueError(f"the {prior.config.level} prior needs the {prior.config.condition_level} codes sampled first")

    @property
    def config(self) -> PixelCNNConfig:
        return self.priors[0].config  # the first level's: the class condition, if any, of the stack

    @property
    def condition_labels(self) -> list[str]:
        return self.priors[0].condition_labels

    def eval(self) -> PriorStack:
        for prior in self.priors:
            prior.eval()
        return self

    def loss(self, x, y=None) -> dict[str, torch.Tensor]:
        """Negative log-likelihood of all levels' codes, in nats per grid cell (of all the grids together)."""
        cells = [p.config.grid_size**2 for p in self.priors]
        nll = sum(p.loss(x, y)["loss"] * c for p, c in zip(self.priors, cells)) / sum(cells)
        return detached(nll, bits_per_code=nll / torch.log(torch.tensor(2.0)))

    def sample(self, n, y=None, temperature=1.0, generator=None) -> dict[str, torch.Tensor]:
        """{level: code grids [n, s, s]}, one level after another."""
        codes: dict[str, torch.Tensor] = {}
        for prior in self.priors:
            given = codes[prior.config.condition_level] if prior.config.condition_level else None
            codes[prior.config.level] = prior.sample(n, y, temperature, generator, given=given)
        return codes
