"""Slider drags in real Chromium, timed in the page: from each `input` event of the range to the next new picture
(the image's `load`), for three apps measured in the same run:

  local     the explorer, decoding in the page (the model's decoder.onnx in ONNX Runtime Web; ui/static/local_decode.js);
            its dimension sliders, and the named-attribute mode's Smiling slider
  server    the explorer with WebAssembly removed from the page: every tick's picture comes from the server's decode
            route (ui/routes.py: one HTTP request outside Gradio's queue), the page's fallback
  minimal   a minimal Gradio app: one slider, one 64x64 PNG image, the same .input wiring; Gradio's floor

    python bench/browser_latency.py [--checkpoints checkpoints] [--model faces-vae] [--drags 5] [--seconds 2]
                                    [--out bench/results/browser_latency.json]

Each drag moves the model's most informative slider across and back in `--seconds`, an `input` event every 16 ms
(a 60 Hz hand, driven in the page). Frames per second: new pictures shown per second of dragging. Chromium is Debian's
(/usr/bin/chromium); the apps run in this process on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from latency import free_port, print_table, summary, write_result  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
MOVE_MS = 16

# in the page: every range input event and every new picture, timestamped: a server image's load in the watched
# image, or the page's own decode drawn on its canvas (headless Chromium runs no regular animation frames to wait
# for; a visible page paints both at its next frame)
PROBE = """
window.__probe = {inputs: [], frames: []};
document.addEventListener("input", (e) => { if (e.target.type === "range") window.__probe.inputs.push(performance.now()); }, true);
document.addEventListener("load", (e) => {
  if (e.target.tagName === "IMG" && e.target.closest("#slider-decoded")) window.__probe.frames.push(performance.now());
}, true);
window.addEventListener("latent-lab-decoded", () => window.__probe.frames.push(performance.now()));
"""


# a hand in the page: pointer down on the range, its value moves and an `input` event fires every MOVE_MS (as Chromium
# delivers a mouse drag; driven from Python, each Playwright mouse move was a round trip of about 120 ms), pointer up
DRAG = """
async ([range, seconds, moveMs]) => {
  const low = Number(range.min), high = Number(range.max);
  const moves = Math.max(2, Math.round(seconds * 1000 / moveMs));
  range.dispatchEvent(new PointerEvent("pointerdown", {bubbles: true}));
  const start = performance.now();
  for (let i = 0; i < moves; i++) {
    const fraction = 0.1 + 0.8 * (1 - Math.abs(1 - 2 * i / (moves - 1)));
    range.value = String(low + fraction * (high - low));
    range.dispatchEvent(new Event("input", {bubbles: true}));
    await new Promise((resolve) => setTimeout(resolve, moveMs));
  }
  const end = performance.now();
  range.dispatchEvent(new PointerEvent("pointerup", {bubbles: true}));
  return [start, end];
}
"""


def drag_latencies(page, slider, seconds: float) -> tuple[list[float], float]:
    """Drag the slider across and back; (per input event: seconds to the next new picture, pictures per second)."""
    page.evaluate("() => { window.__probe.inputs = []; window.__probe.frames = []; }")
    slider.scroll_into_view_if_needed()
    start, end = page.evaluate(DRAG, [slider.element_handle(), seconds, MOVE_MS])
    page.wait_for_timeout(1000)  # the last tick's picture
    probe = page.evaluate("() => window.__probe")
    frames = sorted(probe["frames"])
    latencies = []
    for t in probe["inputs"]:
        after = next((f for f in frames if f >= t), None)
        if after is not None:
            latencies.append((after - t) / 1000)
    shown = sum(start <= f <= end for f in frames)
    return latencies, shown / ((end - start) / 1000)


def measure(browser, url: str, setup, drags: int, seconds: float, no_wasm: bool = False) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    if no_wasm:
        context.add_init_script("delete window.WebAssembly")
    context.add_init_script(PROBE)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(url)
        slider = setup(page)
        latencies, fps = [], []
        for _ in range(drags):
            seconds_each, rate = drag_latencies(page, slider, seconds)
            latencies += seconds_each
            fps.append(rate)
        drawn = page.evaluate("() => window.latentLab ? [window.latentLab.stats.local, window.latentLab.stats.server] : [0, 0]")
    finally:
        context.close()
    return {**summary(latencies), "frames_per_second": round(sum(fps) / len(fps), 1), "page_decodes": drawn[0], "route_decodes": drawn[1]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", default="checkpoints", help="directory of checkpoint directories (default checkpoints/)")
    parser.add_argument("--model", default="faces-vae", help="checkpoint directory name to drag (default faces-vae)")
    parser.add_argument("--drags", type=int, default=5, help="drags per app (default 5)")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each drag in seconds (default 2)")
    parser.add_argument("--out", default="bench/results/browser_latency.json", help="JSON results file")
    args = parser.parse_args(argv)
    if args.drags < 1 or args.seconds <= 0:
        parser.error(f"--drags must be >= 1 and --seconds > 0, got {args.drags} and {args.seconds}")
    if not Path(CHROMIUM).exists():
        parser.exit(1, f"error: {CHROMIUM} not found: apt-get install chromium\n")
    source = Path(args.checkpoints) / args.model
    if not (source / "config.json").exists():
        parser.exit(1, f"error: no checkpoint {source}/ (config.json missing)\n")

    import gradio as gr
    import numpy as np
    import torch
    from PIL import Image
    from playwright.sync_api import sync_playwright

    import ui
    from ui.catalog import Catalog

    # the explorer on this one model (and the classifiers it is measured with)
    served = Path(tempfile.mkdtemp(prefix="latent-lab-bench-"))
    (served / args.model).symlink_to(source.resolve())
    if (Path(args.checkpoints) / "classifiers").is_dir():
        (served / "classifiers").symlink_to((Path(args.checkpoints) / "classifiers").resolve())
    catalog = Catalog.discover(served)
    entry = next(iter(catalog.entries.values()))
    explorer = ui.build(catalog)
    port = free_port()
    ui.launch(explorer, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    explorer_url = f"http://127.0.0.1:{port}/"

    # the minimal app: a slider whose value paints a 64x64 picture
    def paint(value):
        shade = np.uint8(np.clip(value, 0, 1) * 255)
        return Image.fromarray(np.full((64, 64, 3), shade, np.uint8))

    with gr.Blocks() as minimal:
        slider = gr.Slider(0, 1, value=0.5, step=0.001, label="value")
        picture = gr.Image(format="png", elem_id="slider-decoded", interactive=False)
        slider.input(paint, slider, picture, trigger_mode="always_last", show_progress="hidden")
    port = free_port()
    minimal.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, ssr_mode=False)
    minimal_url = f"http://127.0.0.1:{port}/"

    def explorer_sliders(page):
        page.locator('button[role=tab][data-tab-id="sliders"]').click()
        page.locator("#slider-decoded img").wait_for()
        page.wait_for_function(
            "() => window.latentLab && (window.latentLab.local() || (typeof WebAssembly !== 'object' && window.latentLab.active()))"
        )
        return page.locator('input[type=range][aria-label^="range slider for z"]').first

    def attribute_sliders(page):  # the named-attribute mode: the Smiling slider, its direction independent of the others'
        explorer_sliders(page)
        page.get_by_label("named attributes").check()
        smiling = page.locator('input[type=range][aria-label^="range slider for Smiling"]')
        smiling.wait_for()
        page.wait_for_function("() => window.latentLab.local() || (typeof WebAssembly !== 'object' && window.latentLab.active())")
        return smiling

    def minimal_slider(page):
        return page.locator("input[type=range]").first

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            rows = {
                "local (page decodes)": measure(browser, explorer_url, explorer_sliders, args.drags, args.seconds),
                "local, named attributes (Smiling)": measure(browser, explorer_url, attribute_sliders, args.drags, args.seconds),
                "server (no WebAssembly)": measure(browser, explorer_url, explorer_sliders, args.drags, args.seconds, no_wasm=True),
                "minimal Gradio app": measure(browser, minimal_url, minimal_slider, args.drags, args.seconds),
            }
        finally:
            browser.close()
            explorer.close()
            minimal.close()
    floor = rows["minimal Gradio app"]["p50_ms"]
    ratio = round(rows["server (no WebAssembly)"]["p50_ms"] / floor, 2)

    print(f"model: {entry.label}; {args.drags} drags of {args.seconds:g} s per app, a move every {MOVE_MS} ms; {os.cpu_count()} CPUs")
    print_table(
        "app",
        rows,
        [
            ("p50 ms", "p50_ms", ".1f"),
            ("p95 ms", "p95_ms", ".1f"),
            ("max ms", "max_ms", ".1f"),
            ("frames/s", "frames_per_second", ".1f"),
            ("in page", "page_decodes", ""),
            ("by route", "route_decodes", ""),
        ],
    )
    print(f"server path p50 / minimal app p50: {ratio:.2f}x")

    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "gradio": gr.__version__,
        },
        "model": entry.label,
        "drags": args.drags,
        "seconds_per_drag": args.seconds,
        "move_ms": MOVE_MS,
        "results": rows,
        "server_p50_over_minimal_p50": ratio,
    }
    return write_result(result, args.out)


if __name__ == "__main__":
    main()
