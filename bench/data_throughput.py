"""Dataset generation and cache timings: faces images/s (one core and all cores), and the
first (generate + cache) and second (cache hit) load of the default datasets.

    python bench/data_throughput.py [--out bench/results/data_throughput.json] [--quick]

Runs against a fresh temporary cache directory so "first load" really generates.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench/results/data_throughput.json")
    parser.add_argument("--quick", action="store_true", help="5,000 faces instead of 50,000; skip dSprites")
    args = parser.parse_args()
    os.environ["LATENT_LAB_CACHE"] = tempfile.mkdtemp(prefix="latent-lab-bench-")

    import data
    from data import face_factors, faces

    rows = []
    factors = face_factors.sample_factors(2000, seed=0)
    _, dt = timed(lambda: faces.render_faces(factors, 64, workers=1, progress=False))
    rows.append(("faces 64x64 render, 1 process", len(factors) / dt, "img/s"))
    _, dt = timed(lambda: faces.render_faces(factors, 64, progress=False))
    rows.append((f"faces 64x64 render, {os.cpu_count()} processes", len(factors) / dt, "img/s"))

    n = 5000 if args.quick else 50_000
    _, dt = timed(lambda: data.load("faces", split="train", n=n))
    rows.append((f"faces train n={n}: first load (render + compress + write)", dt, "s"))
    _, dt = timed(lambda: data.load("faces", split="train", n=n))
    rows.append((f"faces train n={n}: second load (cache hit)", dt, "s"))
    if not args.quick:
        _, dt = timed(lambda: data.load("dsprites"))
        rows.append(("dsprites 737,280: first load (render + pack + write)", dt, "s"))
        ds, dt = timed(lambda: data.load("dsprites"))
        rows.append(("dsprites 737,280: second load (cache hit)", dt, "s"))
        _, dt = timed(lambda: ds.images[list(range(0, len(ds), 737))])
        rows.append(("dsprites: 1,000 random images unpacked", dt, "s"))

    width = max(len(r[0]) for r in rows)
    print(f"{'measurement':<{width}}  {'value':>10}  unit")
    for name, value, unit in rows:
        print(f"{name:<{width}}  {value:>10.2f}  {unit}")
    result = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "results": [{"measurement": name, "value": round(value, 3), "unit": unit} for name, value, unit in rows],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
