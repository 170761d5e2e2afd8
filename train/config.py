"""Training-run settings: everything about a run that is not the model's architecture."""

from __future__ import annotations

from dataclasses import dataclass, field

from models import option
from models.config import check_bounds


@dataclass(frozen=True)
class TrainConfig:
    data: str = option("faces", "dataset to train on (python -m data info NAME describes one)")
    out: str = option("", "checkpoint directory to write (config.json, model.safetensors, stats, samples, metrics)")
    epochs: int = option(10, "passes over the training split", low=1)
    max_steps: int = option(0, "stop after this many optimizer steps (0: no limit)")
    batch_size: int = option(64, "images per optimizer step, summed over all processes", low=1)
    lr: float = option(
        0.0, "Adam learning rate (Kingma & Ba 2015); 0: the model's own (1e-3 autoencoders, 2e-4 DCGAN, 1e-4 WGAN-GP)", low=0
    )
    lr_schedule: str = option(
        "constant", "constant, or cosine decay to 0 over the run (Loshchilov & Hutter 2017)", choices=("constant", "cosine")
    )
    weight_decay: float = option(0.0, "AdamW decoupled weight decay (Loshchilov & Hutter 2019)")
    grad_clip: float = option(0.0, "clip the gradient norm to this value (0: no clipping)")
    seed: int = option(0, "seeds weights, shuffling and sampling noise: same seed, same checkpoint")
    val_fraction: float = option(0.05, "fraction of the training split held out for validation and early stopping", above=0, below=1)
    patience: int = option(0, "stop after this many checks (epochs; a GAN's monitor checks) without a better score (0: never stop early)")
    condition: str = option(
        "",
        "cvae, cgan and classifier: 'labels', 'attributes' (all of them) or comma-separated attribute names (Smiling,Eyeglasses); aae: 'labels' supervises its mixture prior",
    )
    monitor_every: int = option(
        500,
        "GANs: measure samples (Frechet distance, KID, precision/recall, coverage) every N steps and keep the best (0: at epoch ends)",
        low=0,
    )
    monitor_images: int = option(1000, "GANs: validation images (and as many samples) each monitor check compares", low=10)
    monitor_classifier: str = option(
        "", "GANs: the classifier whose features the monitor compares (default: checkpoints/classifiers/<data>)"
    )
    log_every: int = option(50, "append the loss parts to metrics.jsonl every N steps")
    sample_every: int = option(1000, "write a reconstruction + sample grid to progress/ every N steps (0: only at the end)")
    checkpoint_every: int = option(0, "also write a resumable checkpoint every N steps (0: at the end of each epoch only)")
    save_dtype: str = option(
        "float32",
        "how the checkpoint stores its weights: float16 halves the file (the model computes in float32 either way)",
        choices=("float32", "float16"),
    )
    stats_images: int = option(10_000, "training images encoded for stats.safetensors (0: all)")
    device: str = option("auto", "auto: CUDA when present (with bf16 autocast), else CPU", choices=("auto", "cpu", "cuda"))
    precision: str = option(
        "auto",
        "autocast: auto (bfloat16 on CUDA and on a CPU with AVX-512 BF16 or AMX, where it trains 1.4x faster; float32 on other CPUs, where bfloat16 is emulated and 10x slower), bfloat16, float32",
        choices=("auto", "bfloat16", "float32"),
    )
    threads: int = option(0, "CPU threads per process (0: cores / processes)")
    init: str = option(
        "",
        "start from the weights of this checkpoint (each of its tensors must fit the new model: a VAE-GAN from a VAE); the rest start fresh",
    )
    resume: bool = option(False, "continue from the resumable checkpoint in --out (same result as an uninterrupted run)")
    preset: str = option("", "the preset this run came from (recorded in the model card)")
    data_options: dict = field(default_factory=dict, metadata={"help": "options passed to data.load (--data-dir, --data-n, ...)"})

    def __post_init__(self):
        if not self.out:
            raise ValueError("--out is required: the checkpoint directory to write")
        check_bounds(self, label=lambda name: "--" + name.replace("_", "-"))  # run settings are named by their flags
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"--lr-schedule must be constant or cosine, got {self.lr_schedule!r}")
        if self.precision not in ("auto", "bfloat16", "float32"):
            raise ValueError(f"--precision must be auto, bfloat16 or float32, got {self.precision!r}")
        if self.save_dtype not in ("float32", "float16"):
            raise ValueError(f"--save-dtype must be float32 or float16, got {self.save_dtype!r}")
