"""`python -m train prior --checkpoint DIR [--seed 0] [--epochs 60] ...`: fit the second-stage prior a VAE checkpoint
carries (models.latent_prior; Dai & Wipf 2019, "Diagnosing and Enhancing VAE Models", sec. 4) and write it into the
checkpoint directory as prior.json + prior.safetensors. The first stage is frozen: its files are not touched.

Reads top to bottom: the first stage -> its training split (the run's own, from training.json) -> codes of those images
-> the second stage -> the loop -> its spread (the scale of u at which its draws spread as far as the codes) -> save.
The codes are draws z ~ q(z|x), as Dai & Wipf fit them: the encoder's mean and log-variance of each image are computed
once, and every epoch draws every image's z afresh (--codes means: the posterior means only, the lever to compare).
Same checkpoint, seed and flags: the same prior.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

import data
import models
from models.latent_prior import PRIOR_CONFIG_NAME, PRIOR_WEIGHTS_NAME, LatentPrior, LatentPriorConfig, load_latent_prior, save_latent_prior
from models.pixelcnn import fingerprint

from .artifacts import hardware
from .config import TrainConfig
from .inputs import split

# the shipped faces-vae second stage: `python -m train prior --checkpoint checkpoints/faces-vae` (these defaults)
# (docs/checkpoints.md lists the other settings measured: a higher learning rate leaves the fit blurred, gamma high and
# the samples too alike; 512-wide layers did no better and would not fit the checkpoints' size budget)
DEFAULTS = {
    "hidden_dims": (256, 256),  # two 256-wide layers each side
    "epochs": 100,
    "images": 20_000,  # training images whose codes are fitted
    "batch_size": 64,
    "lr": 2.5e-4,  # Adam, cosine decay to 0 over the run
    "codes": "sampled",
    "seed": 0,
}


def encode_codes(model, ds, index: np.ndarray, batch_size: int = 250, progress: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Posterior means [N, D] and log-variances [N, D] (None for a deterministic encoder) of ds's images `index`."""
    means, logvars = [], []
    with torch.no_grad():
        for start in tqdm(range(0, len(index), batch_size), desc="encoding the codes", unit="batch", disable=not progress):
            posterior = model.encode(ds.batch(index[start : start + batch_size]).to(model.device))
            means.append(posterior.mean.float().cpu())
            if posterior.logvar is not None:
                logvars.append(posterior.logvar.float().cpu())
    return torch.cat(means), torch.cat(logvars) if logvars else None


def fit_latent_prior(
    config: LatentPriorConfig,
    means: torch.Tensor,
    logvars: torch.Tensor | None,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    progress: bool = True,
) -> tuple[LatentPrior, dict]:
    """A second stage fitted to codes: each epoch draws z = mean + std * eps for every image (logvars None: the means
    as they are), shuffles them and takes Adam steps on the negative ELBO, the learning rate decaying by a cosine to 0.
    Then fits the prior's spread to the last epoch's codes (fit_spread). Returns the prior (eval mode) and the last
    epoch's mean loss parts."""
    torch.manual_seed(seed)
    prior = LatentPrior(config)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(prior.parameters(), lr=lr)
    steps_per_epoch = max(1, len(means) // batch_size)  # the last partial batch is dropped
    total = epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + np.cos(np.pi * min(step, total) / total)))
    prior.train()
    bar = tqdm(range(epochs), desc="second stage", unit="epoch", disable=not progress)
    last: dict[str, float] = {}
    for _ in bar:
        z = means if logvars is None else means + torch.exp(0.5 * logvars) * torch.randn(means.shape, generator=generator)
        order = torch.randperm(len(z), generator=generator)
        sums: dict[str, float] = {}
        for step in range(steps_per_epoch):
            parts = prior.loss(z[order[step * batch_size : (step + 1) * batch_size]], generator)
            optimizer.zero_grad(set_to_none=True)
            parts["loss"].backward()
            optimizer.step()
            schedule.step()
            for key, value in parts.items():
                sums[key] = sums.get(key, 0.0) + float(value.detach())
        if not np.isfinite(sums["loss"]):
            raise ValueError(f"the second stage's loss became {sums['loss']}; try a lower --lr")
        last = {key: value / steps_per_epoch for key, value in sums.items()}
        bar.set_postfix(loss=f"{last['loss']:.1f}", kl=f"{last['kl']:.1f}", gamma=f"{last['gamma']:.3g}")
    prior.eval()
    prior.config = dataclasses.replace(prior.config, spread=round(fit_spread(prior, z, seed), 4))
    return prior, last


def fit_spread(prior: LatentPrior, codes: torch.Tensor, seed: int, n: int = 10_000) -> float:
    """The scale s of u ~ N(0, s^2 I) at which n draws of the prior spread as far as `codes` (equal total variance, the
    trace of the covariance), by bisection over [0.5, 2] with the same seeded draws at every s. A second stage's
    decoder averages over what its posterior leaves uncertain, so at s = 1 its draws are less varied than the codes it
    was fitted to (faces-vae's: total variance 1.05 per dimension against 1.23; docs/checkpoints.md)."""
    target = float(codes.var(0).sum())
    low, high = 0.5, 2.0
    for _ in range(20):
        middle = (low + high) / 2
        drawn = prior.sample(n, torch.Generator().manual_seed(seed), spread=middle)
        low, high = (middle, high) if float(drawn.var(0).sum()) < target else (low, middle)
    return (low + high) / 2


def train_prior(
    checkpoint: str | Path,
    seed: int = DEFAULTS["seed"],
    epochs: int = DEFAULTS["epochs"],
    images: int = DEFAULTS["images"],
    batch_size: int = DEFAULTS["batch_size"],
    lr: float = DEFAULTS["lr"],
    hidden_dims: tuple[int, ...] = DEFAULTS["hidden_dims"],
    inner_dim: int = 0,
    learn_gamma: bool = True,
    codes: str = DEFAULTS["codes"],
    command: str = "",
    progress: bool = True,
) -> LatentPrior:
    """Fit the second stage of the checkpoint directory `checkpoint` on the codes of its own training images (the
    run's training split, without its validation slice; the first `images` in the run's seeded order) and write it
    there. inner_dim 0: the size of the first stage's latent. ValueError (one line) for a checkpoint that cannot take
    one, or settings out of range."""
    checkpoint = Path(checkpoint)
    if not checkpoint.is_dir():
        raise ValueError(f"{checkpoint}: no such checkpoint directory")
    if codes not in ("sampled", "means"):
        raise ValueError(f"--codes must be sampled or means, got {codes!r}")
    if min(epochs, images, batch_size) < 1 or not lr > 0:
        raise ValueError("--epochs, --images and --batch-size must be >= 1 and --lr > 0")
    model = models.load(checkpoint)
    model.set_latent_prior(None)  # the first stage alone: the prior being replaced plays no part
    if not model.takes_latent_prior:
        raise ValueError(
            f"{checkpoint}: a {type(model).__name__} takes no second-stage prior; it needs an unconditional encoder with a flat "
            "continuous latent (a VAE or an autoencoder)"
        )
    record = models.read_json(checkpoint / "training.json")
    run = TrainConfig(**record["train_config"])
    ds = data.load(record["data"], split="train", **data.recorded(record["data"], record.get("data_options", {})))
    train_idx, _ = split(len(ds), run)
    index = train_idx[: min(images, len(train_idx))]
    if len(index) < batch_size:
        raise ValueError(f"--batch-size {batch_size} is larger than the {len(index)} training images")
    started = time.perf_counter()
    means, logvars = encode_codes(model, ds, index, progress=progress)
    encoded = time.perf_counter() - started
    config = LatentPriorConfig(
        latent_dim=model.config.latent_dim,
        inner_dim=inner_dim or model.config.latent_dim,
        hidden_dims=tuple(hidden_dims),
        learn_gamma=learn_gamma,
        first_stage=fingerprint(model),
    )
    prior, last = fit_latent_prior(config, means, None if codes == "means" else logvars, epochs, batch_size, lr, seed, progress)
    training = {
        "command": command or f"python -m train prior --checkpoint {checkpoint} --seed {seed}",
        "seed": seed,
        "epochs": epochs,
        "images": len(index),
        "codes": "z ~ q(z|x), drawn afresh each epoch" if codes == "sampled" and logvars is not None else "posterior means",
        "batch_size": batch_size,
        "lr": lr,
        "steps": epochs * max(1, len(index) // batch_size),
        "spread": prior.config.spread,
        "seconds": round(time.perf_counter() - started, 2),
        "encoding_seconds": round(encoded, 2),
        "threads": torch.get_num_threads(),
        "hardware": hardware(torch.device("cpu")),
        "final": {key: round(value, 4) for key, value in last.items()},
    }
    save_latent_prior(prior, checkpoint, training)
    return load_latent_prior(checkpoint, model)  # as stored (float16 weights): what models.load will sample


def main(argv: list[str]) -> None:
    from .cli import Parser, _list_of

    parser = Parser(prog="python -m train prior", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="the first stage's checkpoint directory (written by python -m train)")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="seeds weights, shuffling and the codes' draws (default: 0)")
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"], help=f"passes over the codes (default: {DEFAULTS['epochs']})")
    parser.add_argument("--images", type=int, default=DEFAULTS["images"], help=f"training images encoded (default: {DEFAULTS['images']})")
    parser.add_argument(
        "--batch-size", type=int, default=DEFAULTS["batch_size"], help=f"codes per step (default: {DEFAULTS['batch_size']})"
    )
    parser.add_argument(
        "--lr", type=float, default=DEFAULTS["lr"], help=f"Adam's learning rate, cosine decay to 0 (default: {DEFAULTS['lr']})"
    )
    parser.add_argument(
        "--hidden-dims",
        type=_list_of(int),
        default=DEFAULTS["hidden_dims"],
        metavar="A,B,...",
        help="MLP widths of each side (default: 256,256)",
    )
    parser.add_argument("--inner-dim", type=int, default=0, help="size of the second stage's latent u (default: the first stage's)")
    parser.add_argument(
        "--learn-gamma",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="learn the output scale gamma (Dai & Wipf 2019; default: on)",
    )
    parser.add_argument(
        "--codes", choices=("sampled", "means"), default=DEFAULTS["codes"], help="fit draws z ~ q(z|x) (default) or the means"
    )
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        train_prior(
            args.checkpoint,
            seed=args.seed,
            epochs=args.epochs,
            images=args.images,
            batch_size=args.batch_size,
            lr=args.lr,
            hidden_dims=args.hidden_dims,
            inner_dim=args.inner_dim,
            learn_gamma=args.learn_gamma,
            codes=args.codes,
            command="python -m train prior " + shlex.join(argv),
        )
    except ValueError as err:
        parser.exit(1, f"{parser.prog}: error: {' '.join(str(err).split())}\n")
    print(
        f"{args.checkpoint}: second-stage prior written ({PRIOR_CONFIG_NAME}, {PRIOR_WEIGHTS_NAME}); models.load samples through it, "
        f"`python -m train card {args.checkpoint}` measures it"
    )
