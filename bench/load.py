"""The explorer under load, as a public Space sees it: served on 127.0.0.1 only, driven by gradio_client.

    python bench/load.py [--checkpoints checkpoints] [--users 10] [--minutes 10] [--out bench/results/load.json]

Three parts, each printed as a table and written to the JSON file:

1. uploads: the server's peak RSS increase (VmHWM, reset before each) for one large or hostile upload at a time,
   then 4, 8 and 32 large ones at once (decoded ui.cache.UPLOAD_DECODES at a time);
2. mixed users: `--users` sessions for `--minutes`, each doing, one after another, what a person does (reconstruct
   an upload, drag a slider, sample, edit an attribute, interpolate, invert a GAN face): errors, RSS and Gradio's
   temp directory after the first minute (warm-up) and at the end;
3. slow work apart: slider (/decode) and VAE reconstruct latencies alone, then with 4 GAN inversions running.

The server runs in this process (its RSS is read from /proc/self), with GRADIO_TEMP_DIR in a fresh directory.
Needs faces-vae and faces-dcgan under --checkpoints.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMP = Path(tempfile.mkdtemp(prefix="latent-lab-load-"))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["GRADIO_TEMP_DIR"] = str(TEMP / "gradio")
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from latency import free_port, gradio_client, summary, write_result  # noqa: E402


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (VmRSS) or its peak since the last reset (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)


def disk_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6 if folder.exists() else 0.0


def hostile_uploads(folder: Path) -> dict[str, Path]:
    """The files of the issue's list, written once."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    files = {}

    def save(name: str, image: Image.Image, **kw) -> None:
        files[name] = folder / name
        image.save(files[name], **kw)

    save("8000x8000.png", Image.new("L", (8000, 8000)))  # over the pixel cap: refused from its header
    save("4096x4096.jpg", Image.fromarray(rng.integers(0, 255, (4096, 4096, 3), dtype=np.uint8)), quality=90)
    # noise in 4x4 blocks: 12 megapixels that PNG stores in about 10 MB, under the 20 MB cap, so the server decodes it
    save("4000x3000.png", Image.fromarray(rng.integers(0, 255, (750, 1000, 3), dtype=np.uint8)).resize((4000, 3000), Image.NEAREST))
    # noise in 2x2 blocks at the pixel cap: near the 20 MB cap too
    save("near-cap.png", Image.fromarray(rng.integers(0, 255, (2048, 2048, 3), dtype=np.uint8)).resize((4096, 4096), Image.NEAREST))
    save("16-bit.png", Image.fromarray(rng.integers(0, 65535, (512, 512), dtype=np.uint16)))
    save("cmyk.jpg", Image.new("CMYK", (300, 300), (10, 200, 30, 0)))
    save("palette-alpha.png", Image.new("P", (200, 200), 3), transparency=0)
    save("1x1.png", Image.new("RGB", (1, 1)))
    save("animated.gif", Image.new("P", (64, 64)), save_all=True, append_images=[Image.new("P", (64, 64), 3)] * 3)
    buffer = io.BytesIO()
    Image.new("RGB", (20000, 20000)).save(buffer, "PNG")  # a bomb: 1.2 GB of pixels in a small file
    (folder / "bomb.png").write_bytes(buffer.getvalue())
    files["bomb.png"] = folder / "bomb.png"
    files["truncated.png"] = folder / "truncated.png"
    files["truncated.png"].write_bytes(files["4000x3000.png"].read_bytes()[:5000])
    files["not-an-image.png"] = folder / "not-an-image.png"
    files["not-an-image.png"].write_text("hello")
    files["empty.png"] = folder / "empty.png"
    files["empty.png"].write_bytes(b"")
    files["image.svg"] = folder / "image.svg"
    files["image.svg"].write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    files["png-named.jpg"] = folder / "png-named.jpg"
    files["png-named.jpg"].write_bytes(files["1x1.png"].read_bytes())
    return files


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", default="checkpoints", help="directory holding faces-vae and faces-dcgan (default checkpoints/)")
    parser.add_argument("--users", type=int, default=10, help="mixed users (default 10)")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the mixed-users run (default 10)")
    parser.add_argument("--out", default="bench/results/load.json", help="JSON results file")
    args = parser.parse_args(argv)
    if args.users < 1 or args.minutes <= 0:
        parser.error(f"--users must be >= 1 and --minutes > 0, got {args.users} and {args.minutes}")
    for name in ("faces-vae", "faces-dcgan"):
        if not (Path(args.checkpoints) / name / "config.json").exists():
            parser.exit(1, f"error: no {name} under {args.checkpoints}/\n")

    import torch
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    import ui
    from ui.catalog import Catalog

    torch.set_num_threads(1)  # as python app.py runs
    served = TEMP / "checkpoints"
    served.mkdir()
    for name in ("faces-vae", "faces-dcgan", "classifiers"):
        (served / name).symlink_to((Path(args.checkpoints) / name).resolve())
    catalog = Catalog.discover(served)
    vae = next(label for label, e in catalog.entries.items() if e.key == "faces-vae")
    gan = next(label for label, e in catalog.entries.items() if e.key == "faces-dcgan")
    demo = ui.build(catalog)
    port = free_port()
    ui.launch(demo, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    files = hostile_uploads(TEMP / "uploads")
    face = files["4000x3000.png"].with_name("face.png")
    from PIL import Image

    Image.open(files["4000x3000.png"]).resize((64, 64)).save(face)

    def reconstruct(client, label, path):
        return client.predict(label, handle_file(str(path)), 0.0, None, [], api_name="/reconstruct")

    # --- 1. uploads
    client = gradio_client(url)
    reconstruct(client, vae, face)  # warm
    uploads = {}
    for name, path in files.items():
        reset_peak()
        before = rss_mb()
        try:
            reconstruct(client, vae, path)
            outcome = "reconstructed"
        except AppError as err:
            outcome = "error: " + str(err).splitlines()[0][:90]
        except Exception as err:  # refused before Gradio stored it (e.g. by size), or any other failure: recorded
            outcome = f"{type(err).__name__}: {str(err)[:90]}"
        uploads[name] = {"peak_rss_increase_mb": round(rss_mb("VmHWM") - before, 1), "outcome": outcome}

    def upload(path):
        try:
            reconstruct(gradio_client(url), vae, path)
        except Exception as err:  # an upload refused by size is a result here, not a crash
            print(f"{path.name}: {type(err).__name__}: {str(err)[:90]}")

    large = [files["near-cap.png"], files["4000x3000.png"], files["4096x4096.jpg"]]
    at_once = {}
    for n in (4, 8, 32):
        reset_peak()
        before = rss_mb()
        threads = [threading.Thread(target=upload, args=(large[i % len(large)],)) for i in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        at_once[n] = round(rss_mb("VmHWM") - before, 1)

    # --- 3. slow work apart (before the long run, on a quiet server)
    def slider_and_reconstruct(n: int) -> tuple[dict, dict]:
        c = gradio_client(url)
        reconstruct(c, vae, face)
        values = [0.0] * 32
        slider, recon = [], []
        for i in range(n):
            values[0] = -2 + 4 * (i % 20) / 19
            start = time.perf_counter()
            c.predict(vae, "kl", None, [], values, api_name="/decode")
            slider.append(time.perf_counter() - start)
            start = time.perf_counter()
            reconstruct(c, vae, face)
            recon.append(time.perf_counter() - start)
        return summary(slider), summary(recon)

    alone = slider_and_reconstruct(40)
    stop = threading.Event()
    inversions = []

    def invert_forever():
        c = gradio_client(url)
        while not stop.is_set():
            start = time.perf_counter()
            reconstruct(c, gan, face)
            inversions.append(time.perf_counter() - start)

    inverters = [threading.Thread(target=invert_forever) for _ in range(4)]
    for thread in inverters:
        thread.start()
    time.sleep(2)
    busy = slider_and_reconstruct(40)
    stop.set()
    for thread in inverters:
        thread.join()

    # --- 2. mixed users
    errors: list[str] = []
    done = {"requests": 0}
    samples = []  # (seconds since start, RSS MB, temp MB)
    deadline = time.perf_counter() + args.minutes * 60
    started = time.perf_counter()

    def user(k: int):
        rng = random.Random(k)
        c = gradio_client(url)
        actions = [
            lambda: reconstruct(c, vae, face),
            lambda: c.predict(vae, "kl", None, [], [rng.uniform(-2, 2)], api_name="/decode"),
            lambda: c.predict(vae, rng.choice([4, 16]), 1.0, rng.randrange(1000), "fitted", None, [], 0, 0, api_name="/sample"),
            lambda: c.predict(
                vae, "attribute", "Smiling", "mean_difference", [], [], [], rng.uniform(0, 2), None, [], api_name="/edit_attribute"
            ),
            lambda: c.predict(
                vae, "seeds", None, None, "#0", "#1", rng.randrange(100), rng.randrange(100), "slerp", 8, None, [], api_name="/interpolate"
            ),
            lambda: (reconstruct(c, gan, face), reconstruct(c, vae, face)),  # an inversion, then back to the VAE
        ]
        reconstruct(c, vae, face)
        while time.perf_counter() < deadline:
            try:
                rng.choice(actions)()
                done["requests"] += 1
            except Exception as err:  # counted and named: the bar is 0
                errors.append(f"{type(err).__name__}: {str(err)[:120]}")

    users = [threading.Thread(target=user, args=(k,)) for k in range(args.users)]
    for thread in users:
        thread.start()
    while any(thread.is_alive() for thread in users):
        samples.append((round(time.perf_counter() - started, 1), round(rss_mb(), 1), round(disk_mb(TEMP / "gradio"), 1)))
        time.sleep(5)
    demo.close()
    warm = next((s for s in samples if s[0] >= 60), samples[0])
    end = samples[-1]
    mixed = {
        "users": args.users,
        "minutes": args.minutes,
        "requests": done["requests"],
        "errors": len(errors),
        "first_errors": errors[:5],
        "rss_after_warmup_mb": warm[1],
        "rss_end_mb": end[1],
        "rss_growth_mb": round(end[1] - warm[1], 1),
        "rss_peak_mb": max(s[1] for s in samples),
        "temp_after_warmup_mb": warm[2],
        "temp_end_mb": end[2],
        "temp_growth_mb": round(end[2] - warm[2], 1),
    }

    print(f"uploads (peak RSS increase, MB; bar 200 each): {TEMP / 'uploads'}")
    for name, row in uploads.items():
        print(f"  {name:<20} {row['peak_rss_increase_mb']:>7.1f}  {row['outcome']}")
    for n, peak in at_once.items():
        print(f"  {n} large uploads at once: {peak:.1f} MB (bar 600)")
    print("slow work apart (p95 ms; bar: with 4 inversions <= 2x alone)")
    for name, a, b in (("/decode (slider)", alone[0], busy[0]), ("/reconstruct (VAE)", alone[1], busy[1])):
        print(f"  {name:<20} alone {a['p95_ms']:>7.1f}   with 4 inversions {b['p95_ms']:>7.1f}   ratio {b['p95_ms'] / a['p95_ms']:.2f}x")
    print(
        f"mixed users: {args.users} x {args.minutes:g} min, {done['requests']} requests, {len(errors)} errors; RSS growth after the first "
        f"minute {mixed['rss_growth_mb']:+.1f} MB (bar 150), temp growth {mixed['temp_growth_mb']:+.1f} MB (bar 50)"
    )

    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "uploads": uploads,
        "large_uploads_at_once_peak_rss_increase_mb": at_once,
        "slow_work_apart": {
            "alone": {"decode": alone[0], "reconstruct": alone[1]},
            "with_4_inversions": {"decode": busy[0], "reconstruct": busy[1]},
            "inversions_completed": len(inversions),
        },
        "mixed_users": mixed,
        "samples": samples,
    }
    return write_result(result, args.out)


if __name__ == "__main__":
    main()
