"""Slider-decode latency on the server path: round trips of the explorer's /decode endpoint through a real
gradio_client, next to a trivial Gradio echo endpoint measured in the same run, so the table separates the model's
cost from Gradio's own (queue, SSE stream, JSON, file transfer); then `--clients` clients dragging at once for
`--seconds` (each its own gradio_client session, one request after another) against `python app.py` run as a process
of its own, and as many calling a trivial picture endpoint (a number in, a 64x64 PNG out, no model; launched the same
way) for as long: Gradio's floor for an endpoint that returns a picture, on this machine.

    python bench/latency.py [--checkpoints checkpoints] [--model NAME] [-n 100] [--warmup 10]
                            [--clients 16] [--seconds 60] [--out bench/results/latency.json]

For the single-client rows both apps are launched in this process on free local ports. Each /decode request moves the most
informative slider to a new value across its range, as a drag does; each session's current latent
is set once beforehand by /reconstruct of a synthetic picture. (In a browser, a model with an exported
decoder decodes drags in the page: bench/browser_latency.py.)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from functools import partial
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


TLS = ssl.create_default_context()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gradio_client(url: str):
    """A gradio_client Client for url whose calls share one TLS context. gradio_client 2.7 opens two httpx clients per
    call, and each builds a TLS context from the CA bundle: 70 of the 76 ms of CPU an echo call cost its caller here,
    even over plain HTTP. One context made up front (verifying certificates as before, for an https URL) costs it once,
    so the clients of a crowd do not take the server's CPU."""
    from gradio_client import Client

    return Client(url, verbose=False, ssl_verify=TLS)


def launch(demo):
    """demo served on a free local port, launched as `python app.py` launches the explorer (ui.launch)."""
    import ui

    port = free_port()
    ui.launch(demo, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    return f"http://127.0.0.1:{port}/"


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between order statistics."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def summary(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "min_ms": round(min(ms), 2),
        "max_ms": round(max(ms), 2),
    }


def print_table(first: str, rows: dict[str, dict], columns: list[tuple[str, str, str]]) -> int:
    """rows {name: row} as a text table: the names under `first`, then per (header, key, format) column row[key];
    returns the width of the name column."""
    width = max(len(first), *(len(name) for name in rows))
    print(f"{first:<{width}}" + "".join(f"  {header:>8}" for header, _, _ in columns))
    for name, row in rows.items():
        print(f"{name:<{width}}" + "".join(f"  {row[key]:>8{spec}}" for _, key, spec in columns))
    return width


def write_result(result: dict, path: str) -> dict:
    """Write a bench's result as JSON (creating the folder) and say where."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return result


def timed_calls(call, n: int, warmup: int) -> list[float]:
    for i in range(warmup):
        call(i)
    times = []
    for i in range(n):
        start = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - start)
    return times


@contextlib.contextmanager
def app_process(command):
    """A server process, command(port) on a free local port, until the block ends; yields its URL."""
    port = free_port()
    command = command(port)
    server = subprocess.Popen(command, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.perf_counter() + 300
        while True:
            try:
                if urllib.request.urlopen(url, timeout=2).status == 200:
                    break
            except OSError:
                if server.poll() is not None or time.perf_counter() > deadline:
                    raise RuntimeError(f"{' '.join(command)} did not start serving") from None
                time.sleep(1)
        yield url
    finally:
        server.terminate()
        server.wait()


def explorer_command(checkpoints: str, threads: int):
    """command(port) for `python app.py --checkpoints ... --threads ...` (app_process)."""
    return lambda port: [sys.executable, "app.py", "--checkpoints", str(checkpoints), "--port", str(port), "--threads", str(threads)]


def picture_app():
    """The floor of a Gradio endpoint that returns a picture: a number in, a 64x64 PNG of that shade out, no model."""
    import gradio as gr
    import numpy as np
    from PIL import Image

    def paint(value: float):
        return Image.fromarray(np.full((64, 64, 3), int(value * 255) % 256, np.uint8))

    with gr.Blocks() as app:
        value, picture = gr.Number(), gr.Image(type="pil", format="png")
        value.submit(paint, value, picture, api_name="paint")
    return app


def picture_app_command(port: int) -> list[str]:
    """command(port) serving picture_app as `python app.py` serves the explorer (ui.launch), in a process of its own."""
    bench = Path(__file__).resolve().parent
    code = f"import sys; sys.path[:0] = [{str(bench.parent)!r}, {str(bench)!r}]; import ui, latency; "
    code += f"ui.launch(latency.picture_app(), server_name='127.0.0.1', server_port={port}, quiet=True)"
    return [sys.executable, "-c", code]


def dragging_crowd(session, decode, clients: int, seconds: float) -> dict:
    """`clients` sessions each calling decode back to back for `seconds`: latency summary, throughput, errors."""
    sessions = [session() for _ in range(clients)]
    times: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    def drag(k: int):
        i = k
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                decode(i, sessions[k])
                times.append(time.perf_counter() - start)
            except Exception as err:  # every failure is counted and named, none stops the run
                errors.append(f"{type(err).__name__}: {err}")
            i += clients

    threads = [threading.Thread(target=drag, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {**summary(times), "requests_per_second": round(len(times) / seconds, 1), "errors": len(errors), "first_errors": errors[:3]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", default="checkpoints", help="directory of checkpoint directories to serve (default checkpoints/)")
    parser.add_argument("--model", default="", help="checkpoint directory name, or text of a model label (default: the first model)")
    parser.add_argument("-n", "--requests", type=int, default=100, help="timed requests per endpoint (default 100)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed requests per endpoint first (default 10)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads, as python app.py --threads (default 1)")
    parser.add_argument("--clients", type=int, default=16, help="clients dragging at once in the concurrency run (default 16; 0: skip it)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the concurrency run (default 60)")
    parser.add_argument("--out", default="bench/results/latency.json", help="JSON results file (default bench/results/latency.json)")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.warmup < 0 or args.clients < 0 or args.seconds <= 0 or args.threads < 1:
        parser.error(
            f"need -n >= 1, --warmup >= 0, --clients >= 0, --seconds > 0 and --threads >= 1, got {args.requests}, {args.warmup}, "
            f"{args.clients}, {args.seconds} and {args.threads}"
        )

    import gradio as gr
    import numpy as np
    import torch
    from gradio_client import handle_file
    from PIL import Image

    import ui
    from ui import sliders
    from ui.catalog import Catalog
    from ui.common import load_image

    torch.set_num_threads(args.threads)

    try:
        catalog = Catalog.discover(args.checkpoints)
    except ValueError:  # Catalog names app.py's flags; say this script's
        parser.exit(
            1,
            f"error: no loadable checkpoint in {args.checkpoints}/: train one (python -m train --preset faces-vae) or pass --checkpoints DIR\n",
        )
    keyed = [label for label, entry in catalog.entries.items() if entry.key == args.model]
    matches = keyed or [label for label in catalog.labels if args.model in label]
    if not matches:
        parser.exit(1, f"error: no model label contains {args.model!r}; served: {', '.join(catalog.labels)}\n")
    label = matches[0]
    entry = catalog.get(label)

    # the app, and a session whose current latent is a synthetic picture's
    app = ui.build(catalog)
    app_url = launch(app)
    size = entry.config.image_size
    picture = Path(tempfile.mkdtemp(prefix="latent-lab-bench-")) / "gradient.png"
    Image.fromarray(np.tile(np.linspace(0, 255, size, dtype=np.uint8), (size, 1))).save(picture)
    class_choice = entry.default_condition[0]

    def session(url: str = app_url):
        """A client whose session's current latent is the synthetic picture's."""
        client = gradio_client(url)
        client.predict(label, handle_file(str(picture)), 0.0, class_choice, [], api_name="/reconstruct")
        return client

    client = session()

    # the slider values a drag would send: the first slider swept across its range, the others where they are
    z = entry.explorer.encode(load_image(str(picture), entry)[0], entry.condition(class_choice, [], 1))[0]
    specs = sliders.layout(entry, z, "kl")
    first = next(i for i, spec in enumerate(specs) if spec is not None)
    base = [0.0 if spec is None else spec.value for spec in specs]
    sweep = torch.linspace(specs[first].min, specs[first].max, 37).tolist()

    def decode(i: int, client=client):
        values = list(base)
        values[first] = sweep[i % len(sweep)]
        image, _ = client.predict(label, "kl", class_choice, [], values, api_name="/decode")
        assert image and Path(image).stat().st_size > 0, "/decode returned no image"

    # the trivial endpoint: the same client library, queue and server stack, no work
    with gr.Blocks() as echo_app:
        box_in, box_out = gr.Number(), gr.Number()
        box_in.submit(lambda value: value, box_in, box_out, api_name="echo")
    echo_client = gradio_client(launch(echo_app))

    def echo(i: int):
        assert echo_client.predict(float(i), api_name="/echo") == float(i)

    def paint(i: int, client):
        picture = client.predict(i / 997, api_name="/paint")
        assert picture and Path(picture).stat().st_size > 0, "/paint returned no image"

    try:
        decode_times = timed_calls(decode, args.requests, args.warmup)
        echo_times = timed_calls(echo, args.requests, args.warmup)
        crowd = floor = None
        if args.clients:  # each server in a process of its own, as python app.py runs: the clients' threads hold this one's GIL
            with app_process(explorer_command(args.checkpoints, args.threads)) as url:
                crowd = dragging_crowd(partial(session, url), decode, args.clients, args.seconds)
            with app_process(picture_app_command) as url:
                floor = dragging_crowd(partial(gradio_client, url), paint, args.clients, args.seconds)
    finally:
        app.close()
        echo_app.close()

    rows = {"/decode (slider drag)": summary(decode_times), "echo (trivial endpoint)": summary(echo_times)}
    d, e = rows["/decode (slider drag)"], rows["echo (trivial endpoint)"]
    ratio = {"p50": round(d["p50_ms"] / e["p50_ms"], 2), "p95": round(d["p95_ms"] / e["p95_ms"], 2)}

    print(
        f"model: {label}  ({args.requests} requests each after {args.warmup} warm-up, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()})"
    )
    width = print_table(
        "endpoint",
        rows,
        [("p50 ms", "p50_ms", ".1f"), ("p95 ms", "p95_ms", ".1f"), ("mean ms", "mean_ms", ".1f"), ("max ms", "max_ms", ".1f")],
    )
    print(f"{'ratio decode / echo':<{width}}  {ratio['p50']:>7.2f}x  {ratio['p95']:>7.2f}x")
    for name, run in (("/decode", crowd), ("a trivial picture endpoint (the floor)", floor)):
        if run:
            print(
                f"{args.clients} clients calling {name} for {args.seconds:g} s: p50 {run['p50_ms']:.1f} ms, p95 {run['p95_ms']:.1f} ms, "
                f"max {run['max_ms']:.1f} ms, {run['requests_per_second']:.1f} requests/s, {run['errors']} errors"
            )

    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "gradio": gr.__version__,
        },
        "model": label,
        "checkpoints": str(args.checkpoints),
        "requests": args.requests,
        "warmup": args.warmup,
        "results": rows,
        "ratio_decode_over_echo": ratio,
        "concurrent": crowd and {"clients": args.clients, "seconds": args.seconds, **crowd},
        "concurrent_picture_floor": floor and {"clients": args.clients, "seconds": args.seconds, **floor},
    }
    return write_result(result, args.out)


if __name__ == "__main__":
    main()
