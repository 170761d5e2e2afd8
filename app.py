"""Latent Lab's explorer: `python app.py` serves it on http://127.0.0.1:7860.

    python app.py                                 # every checkpoint under checkpoints/
    python app.py --model runs/my-vae             # add a checkpoint directory (repeatable)
    python app.py --model your-name/faces-vae     # or a Hugging Face Hub repo id
    python app.py --share                         # a temporary public link

On a Hugging Face Space this file is the app_file; the Space sets GRADIO_SERVER_NAME.
"""

from __future__ import annotations

import argparse
import os
import warnings

import torch

import ui
from ui.catalog import Catalog


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the Latent Lab explorer.")
    parser.add_argument(
        "--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)), help="port (default 7860)")
    parser.add_argument("--share", action="store_true", help="also open a temporary public gradio.live link")
    parser.add_argument("--checkpoints", default="checkpoints", help="directory of checkpoint directories to serve (default checkpoints/)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: requests then run side by side, one core each, and a busy core does not stall a request split over two)",
    )
    parser.add_argument("--model", action="append", default=[], metavar="DIR_OR_HUB_REPO_ID", help="serve this checkpoint too (repeatable)")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    torch.set_num_threads(args.threads)
    # a checkpoint skipped, or served without a damaged file, is one line each (not Python's two, with a source line)
    warnings.formatwarning = lambda message, category, *_, **__: f"{category.__name__}: {message}\n"
    try:
        catalog = Catalog.discover(args.checkpoints, args.model)
    except ValueError as err:
        parser.exit(1, f"error: {err}\n")
    demo = ui.build(catalog)
    ui.launch(demo, server_name=args.host, server_port=args.port, share=args.share)


if __name__ == "__main__":
    main()
