"""`python -m train MODEL --data DATASET [--FIELD VALUE ...] [--preset NAME] --out DIR`
and `python -m train push DIR REPO_ID`, `python -m train card DIR...`, `python -m train stats DIR...`,
`python -m train prior --checkpoint DIR` (a VAE's second-stage prior, train/prior.py).

Flags are generated from the dataclasses: the model's config (architecture and
objective), TrainConfig (the run), and the dataset's loader options (`--data-dir`,
`--data-n`, ...). Precedence: dataclass defaults < preset < flags on the command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys
import typing
from pathlib import Path

import data
import models
from models import field_specs

from .artifacts import DiskFull, disk_full, rewrite_stats, write_card
from .config import TrainConfig
from .loop import NonFiniteLoss, train
from .presets import PRESETS

# config fields the loop fills in from the dataset and --condition
DERIVED = {
    "image_size": "set from the data; resize with --data-size",
    "channels": "set from the data",
    "num_classes": "set from --condition",
    "num_attributes": "set from --condition",
    "condition_names": "set from --condition",
    "vqvae_fingerprint": "set from --vqvae",
    "grid_size": "set from --vqvae",
    "condition_num_codes": "set from --vqvae",
    "condition_grid_size": "set from --vqvae",
}


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (plus a pointer to --help), not a usage dump."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["push"]:
        return push(argv[1:])
    if argv[:1] == ["card"]:
        return card(argv[1:])
    if argv[:1] == ["stats"]:
        return stats(argv[1:])
    if argv[:1] == ["prior"]:  # a second-stage prior for a trained VAE (train/prior.py)
        from .prior import main as prior_main

        return prior_main(argv[1:])
    head = _head_parser()
    positional = argv[0] if argv and not argv[0].startswith("-") else None  # MODEL comes first, if at all
    known, _ = head.parse_known_args(argv[1:] if positional else argv)
    preset = _preset(head, known.preset)
    model_type = positional or preset.get("model")
    if model_type is None:
        head.print_help() if {"-h", "--help"} & set(argv) else head.error("name a model (or --preset NAME)")
        return
    if model_type not in models.MODELS:
        head.error(f"unknown model {model_type!r}; choose one of: {', '.join(models.MODELS)}")
    dataset = known.data or preset.get("data") or TrainConfig.__dataclass_fields__["data"].default
    if dataset not in data.DATASETS:
        head.error(f"unknown dataset {dataset!r}; choose one of: {', '.join(data.DATASETS)}")

    parser = _full_parser(model_type, dataset)
    args = vars(parser.parse_args(argv))
    args.pop("model", None)
    args.pop("preset", None)  # recorded in TrainConfig.preset below
    settings = {**{k: v for k, v in preset.items() if k not in ("model", "description")}, **args}
    data_options = {
        **preset.get("data_options", {}),
        **{_data_option(k): settings.pop(k) for k in list(settings) if k.startswith("data_opt_")},
    }
    settings.pop("data_options", None)
    config_fields = {f.name for f in dataclasses.fields(models.config_class(model_type))}
    model_fields = {k: v for k, v in settings.items() if k in config_fields}
    run_fields = {k: v for k, v in settings.items() if k not in config_fields}
    command = "python -m train " + shlex.join(argv)
    try:
        cfg = TrainConfig(**run_fields, data_options=data_options, preset=known.preset or "")
        out = train(model_type, model_fields, cfg, command=command)
    except (ValueError, NonFiniteLoss) as err:
        parser.exit(1, f"{parser.prog}: error: {err}\n")
    except OSError as err:  # a read-only or full disk, an --out that is a file: the last checkpoint written is whole
        if disk_full(err):  # every writer of the run raises DiskFull, naming the file; anything else that filled the disk too
            full = err if isinstance(err, DiskFull) else DiskFull(err.filename or cfg.out, err)
            parser.exit(1, f"{parser.prog}: error: {full}; any checkpoint already saved in {cfg.out} is kept whole\n")
        where = f" ({err.filename})" if err.filename else ""
        parser.exit(
            1,
            f"{parser.prog}: error: cannot write the run{where}: {err.strerror or err}; any checkpoint already saved in {cfg.out} is kept whole\n",
        )
    if int(os.environ.get("RANK", 0)) == 0:  # under torchrun, one process speaks
        cls = models.model_class(model_type)
        explore = f" or python app.py --model {out}"
        if cls.classifies:
            explore = f"; python -m metrics {out} measures it"
        elif cls.models_codes:
            explore = "; python app.py samples its VQ-VAE through it"
        print(f"checkpoint written to {out}; open it with models.load({str(out)!r}){explore}")


def _head_parser() -> Parser:
    lines = [f"  {name:<20} {p['description']}" for name, p in PRESETS.items()]
    head = Parser(
        prog="python -m train",
        usage="python -m train MODEL --data DATASET [--FIELD VALUE ...] --out DIR | python -m train --preset NAME [--FIELD VALUE ...]",
        description="Train a Latent Lab model. `python -m train MODEL --help` lists every flag of MODEL.",
        epilog="models: "
        + ", ".join(models.MODELS)
        + "\n\npresets (python -m train --preset NAME):\n"
        + "\n".join(lines)
        + "\n\nupload a checkpoint: python -m train push DIR REPO_ID"
        + "\na VAE's second-stage prior (Dai & Wipf 2019): python -m train prior --checkpoint DIR",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    head.add_argument("--preset", help="start from a preset's settings")
    head.add_argument("--data", help="dataset")
    head.add_argument("-h", "--help", action="store_true")
    return head


def _preset(head: Parser, name: str | None) -> dict:
    if name is None:
        return {}
    if name not in PRESETS:
        head.error(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]


def _full_parser(model_type: str, dataset: str) -> Parser:
    parser = Parser(prog=f"python -m train {model_type}", argument_default=argparse.SUPPRESS, description=models.MODELS[model_type].__doc__)
    parser.add_argument("model", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--preset", help="start from a preset's settings (see python -m train --help)")
    group = parser.add_argument_group(f"model ({model_type}) — saved in config.json")
    _add_fields(group, models.config_class(model_type), {"model_type"}, derived=DERIVED)
    _add_fields(parser.add_argument_group("training run"), TrainConfig, {"preset", "data_options"})
    group = parser.add_argument_group(f"dataset options ({dataset})")
    defaults = data.options(dataset)
    for option, kind in data.option_types(dataset).items():
        default = defaults[option]
        flag = "--" + (option if option.startswith("data_") else "data_" + option).replace("_", "-")
        if kind is bool:
            group.add_argument(flag, dest="data_opt_" + option, action=argparse.BooleanOptionalAction, help=f"default: {default}")
        else:
            group.add_argument(flag, dest="data_opt_" + option, type=kind, metavar=option.upper(), help=f"default: {default}")
    return parser


def _data_option(dest: str) -> str:
    return dest.removeprefix("data_opt_")


def _add_fields(group, cls, skip: set[str], derived: dict[str, str] | None = None) -> None:
    for spec in field_specs(cls):
        if spec["name"] in skip:
            continue
        name, hint = spec["name"], spec["type"]
        flag = "--" + name.replace("_", "-")
        note = (derived or {}).get(name) or f"default: {spec['default']}"
        help_text = f"{spec['help']} ({note})"
        if hint is bool:
            group.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, help=help_text)
        elif typing.get_origin(hint) is tuple:
            group.add_argument(flag, dest=name, type=_list_of(typing.get_args(hint)[0]), metavar="A,B,...", help=help_text)
        else:
            group.add_argument(flag, dest=name, type=hint, choices=spec["choices"], help=help_text)


def _list_of(item: type):
    def parse(text: str) -> tuple:
        try:
            return tuple(item(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {item.__name__} values, got {text!r}") from None

    parse.__name__ = f"list of {item.__name__}"
    return parse


def push(argv: list[str]) -> None:
    """Upload a checkpoint directory to the Hugging Face Hub (needs a token: `hf auth login`)."""
    parser = Parser(prog="python -m train push", description=push.__doc__)
    parser.add_argument("directory", help="checkpoint directory (config.json, model.safetensors, README.md, ...)")
    parser.add_argument("repo_id", help="owner/name on the Hub")
    parser.add_argument("--private", action="store_true")
    args = parser.parse_args(argv)
    try:
        model = models.load(args.directory)  # refuse to upload something that does not load
        url = models.push_checkpoint(args.directory, args.repo_id, private=args.private or None)
    except ValueError as err:
        parser.exit(2, f"python -m train push: {err}\n")
    print(f"pushed {type(model).__name__} to {url}; open it with python app.py --model {args.repo_id}")


def card(argv: list[str]) -> None:
    """Measure checkpoints again (python -m metrics) and rewrite their model cards, e.g. after a
    classifier they are measured with changed."""
    stored = {
        "--stored": "rewrite the cards from the measurements stored beside them (evaluation.json) instead, e.g. after the card's layout changed"
    }
    _each_checkpoint(argv, "card", card.__doc__, lambda out, stored: write_card(out, measure=not stored), "model card written", stored)


def stats(argv: list[str]) -> None:
    """Write the latent statistics (stats.safetensors) of checkpoints again from their training data, e.g. after
    the statistics gained a field (a GAN's classifier-labelled attribute vectors)."""
    _each_checkpoint(argv, "stats", stats.__doc__, rewrite_stats, "stats.safetensors written")


def _each_checkpoint(argv: list[str], command: str, description: str, action, done: str, flags: dict[str, str] | None = None) -> None:
    """`python -m train COMMAND DIR... [FLAG...]`: action(Path(DIR), **flags) for each directory, stopping at the
    first that fails. flags: on/off options (name -> help), passed to action as keyword arguments."""
    parser = Parser(prog=f"python -m train {command}", description=description)
    parser.add_argument("directories", nargs="+", help="checkpoint directories written by python -m train")
    for flag, text in (flags or {}).items():
        parser.add_argument(flag, action="store_true", help=text)
    args = vars(parser.parse_args(argv))
    for directory in args.pop("directories"):
        try:
            action(Path(directory), **args)
        except (ValueError, FileNotFoundError) as err:
            parser.exit(1, f"{parser.prog}: error: {directory}: {err}\n")
        except OSError as err:  # a full or read-only disk: the files already there are kept whole
            why = f"out of disk space writing {err.filename} ({err.strerror}): free some space and run it again" if disk_full(err) else err
            parser.exit(1, f"{parser.prog}: error: {directory}: {why}\n")
        print(f"{directory}: {done}")
