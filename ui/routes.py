"""The slider page's files and routes outside Gradio (ui.launch adds them to the app):

    GET  latent-lab/static/...                ui/static: local_decode.js, the vendored ONNX Runtime Web (its WASM
                                              kept gzipped, 3.7 MB instead of 14.2, and sent as stored with
                                              Content-Encoding: gzip, which every browser undoes)
    GET  latent-lab/decoder.onnx?model=KEY    a model's exported decoder, for the page to decode drags itself
    POST latent-lab/decode  {"model": KEY, "latent": [...]}    the picture of a latent, PNG at the model's size,
                                                               for drags the page cannot decode (no WebAssembly)

A drag tick on this route costs one HTTP request and the decode. Through Gradio it cost a queued call, an event
stream, a picture written to the cache and fetched by URL, and the front end's per-call work on a page of several
hundred components: 86 ms p50 a tick in Chromium, against 14 ms for a one-slider Gradio app (bench/browser_latency.py).
Every picture a person keeps still comes from Gradio: on release the page's last values go to /decode, so the other
tabs and the API see them. Serving the files here also keeps Gradio's static paths empty: Gradio checks every file it
serves or caches against each of them (two realpath calls per path and file), which with ui/static and 20 decoders
cost 8% of the server's CPU with 16 clients dragging (bench/latency.py).
"""

from __future__ import annotations

import io
import json
import math

import torch
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .catalog import Catalog
from .common import DECODE_ROUTE, DECODER_ROUTE, STATIC, STATIC_ROUTE
from .sliders import API_RANGE, picture

MAX_BODY = 64 * 1024  # a latent of a few hundred numbers as JSON is a few kB


def routes(catalog: Catalog) -> list:
    """The files and routes for catalog's models."""
    by_key = {entry.key: entry for entry in catalog.entries.values()}

    def decoder(request: Request) -> Response:
        entry = by_key.get(request.query_params.get("model", ""))
        if entry is None or entry.decoder is None:
            return PlainTextResponse("no exported decoder for that model", status_code=404)
        return FileResponse(entry.decoder, media_type="application/octet-stream")

    def wasm(request: Request) -> Response:
        stored = STATIC / "ort" / f"{request.path_params['name']}.wasm.gz"  # a path parameter holds no "/"
        if not stored.is_file():
            return PlainTextResponse("no such file", status_code=404)
        return FileResponse(stored, media_type="application/wasm", headers={"content-encoding": "gzip"})

    async def decode(request: Request) -> Response:
        body = await _bounded_body(request, MAX_BODY)
        if body is None:
            return PlainTextResponse(f"a latent is at most {MAX_BODY} bytes of JSON", status_code=413)
        try:
            entry, z = _checked(by_key, body)
        except ValueError as err:
            return PlainTextResponse(str(err), status_code=400)
        png = await run_in_threadpool(_png, entry, z)  # the decode and the encoding, off the event loop
        return Response(png, media_type="image/png", headers={"cache-control": "no-store"})

    return [
        Route(f"/{STATIC_ROUTE}/ort/{{name}}.wasm", wasm, methods=["GET"]),  # before the folder's mount, which it overrides
        Mount(f"/{STATIC_ROUTE}", StaticFiles(directory=STATIC)),
        Route(f"/{DECODER_ROUTE}", decoder, methods=["GET"]),
        Route(f"/{DECODE_ROUTE}", decode, methods=["POST"]),
    ]


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    """The request's body, or None if it is longer than `limit` bytes: refused on its Content-Length before any of
    it is read, and otherwise read no further than the limit (a chunked body declares no length)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _png(entry, z: torch.Tensor) -> bytes:
    """Latent z's picture (as the slider tab draws it) as PNG bytes."""
    data = io.BytesIO()
    picture(entry, z).save(data, "PNG", compress_level=1)
    return data.getvalue()


def _checked(by_key: dict, body: bytes):
    """(entry, latent tensor) from a decode request's JSON body, or a ValueError that says what is wrong."""
    try:
        request = json.loads(body)
    except RecursionError:
        raise ValueError("JSON nested too deeply: a latent is a flat list of numbers") from None
    except ValueError:
        raise ValueError('expected JSON: {"model": KEY, "latent": [numbers]}') from None
    if not isinstance(request, dict):
        raise ValueError('expected JSON: {"model": KEY, "latent": [numbers]}')
    entry = by_key.get(request.get("model")) if isinstance(request.get("model"), str) else None
    if entry is None or not entry.decodes_without_condition:
        raise ValueError(f"unknown model {request.get('model')!r:.80}, or one whose decoder takes a condition")
    latent = request.get("latent")
    size = entry.explorer.latent_dim
    if (
        not isinstance(latent, list)
        or len(latent) != size
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and abs(v) <= API_RANGE for v in latent)
    ):
        raise ValueError(f"latent: expected {size} finite numbers within ±{API_RANGE:g}")
    return entry, torch.tensor(latent, dtype=torch.float32)
