"""What a request can make the server read, hold and delete (ui.cache, ui.routes): a public Space serves anyone.

- Every endpoint that takes a file reads only a file uploaded to the app, answers any other path -- existing or not,
  an image or not, a device, a link out of the cache -- with one and the same line, and reads at most the upload cap.
- The decode route refuses a body over its limit before reading it, and deeply nested JSON with a reason.
- Uploads are decoded a few at a time over all endpoints.
- The cache sweep deletes only this app's files, and keeps an upload while the page can still send it.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import gradio as gr
import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image
from test_app import assert_serving, gray_png, raw_call, reconstruct

import ui.cache
import ui.common

REFUSED = "only a file uploaded to this app is accepted"


@pytest.fixture
def client(app):
    return Client(app.url, verbose=False)


def cache_folder() -> Path:
    return ui.cache.folder().resolve()


def hostile_paths(tmp_path) -> dict[str, str]:
    """Paths a request may name that are not uploads: each must get the same answer."""
    outside = gray_png(tmp_path, "outside.png")  # a real image the model could encode, outside the cache
    link = cache_folder() / "a-link" / "outside.png"  # a link inside the cache to a file outside it
    link.parent.mkdir(exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(outside)
    return {
        "a text file": "/etc/hostname",
        "a missing file": "/no/such/folder/picture.png",
        "an image elsewhere": outside,
        "a device": "/dev/zero",
        "a way out of the cache": str(cache_folder()) + "/.." * (len(cache_folder().parts) - 1) + outside,
        "a link out of the cache": str(link),
        "the cache folder itself": str(cache_folder()),
    }


def call(app, api_name: str, data: list) -> tuple[int, str]:
    """(status, text) of a call's POST to Gradio's HTTP API."""
    response = httpx.post(f"{app.url}gradio_api/call{api_name}", json={"data": data}, timeout=30)
    return response.status_code, response.text


def file_endpoints(app, latent) -> dict[str, tuple[str, callable]]:
    """Every endpoint that takes a file: (api name, the call's data for a file payload)."""
    vae = app.labels["vae"]
    return {
        "/reconstruct": lambda f: [vae, f, 0.0, None, []],
        "/interpolate": lambda f: [vae, "images", f, f, None, None, 0, 1, "lerp", 5, None, []],
        "/compare": lambda f: [vae, [vae], "image", f, None, 0],
        "/edit_attribute": lambda f: [vae, "file", None, "mean_difference", [], [], [], 1.0, None, [], f],
        "/encode_image": lambda f: ["vae", f],
        "/edit_latent": lambda f: ["vae", latent, "", 1.0, "mean_difference", f, None],
        "/read_condition": lambda f: [vae, f, None],
    }


def test_every_endpoint_that_takes_a_file_is_tried_below(app, client):
    """The list above is every named endpoint with a file parameter, as the API describes itself."""
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    taking_files = {name for name, e in endpoints.items() if any("filepath" in p["python_type"]["type"] for p in e["parameters"])}
    assert taking_files == set(file_endpoints(app, []))


@pytest.mark.parametrize(
    "api_name", ["/reconstruct", "/interpolate", "/compare", "/edit_attribute", "/encode_image", "/edit_latent", "/read_condition"]
)
def test_a_call_naming_a_file_that_is_not_an_upload_gets_one_line_for_every_path(api_name, app, tmp_path):
    """The issue's reproduction: {"path": "/etc/hostname"} reached the image reader ("hostname is not an image"), a
    missing path said "No such file or directory", /dev/zero grew the server by gigabytes; marked as Gradio's FileData,
    Gradio itself copied the file into its cache first. Now every such call is refused before Gradio reads it, with
    the same line for every path, marked or not."""
    latent = [0.0] * app.catalog.get(app.labels["vae"]).explorer.latent_dim
    data = file_endpoints(app, latent)[api_name]
    answers = {}
    for what, path in hostile_paths(tmp_path).items():
        for payload in ({"path": path}, {"path": path, "meta": {"_type": "gradio.FileData"}}):
            answers[what, "meta" in payload] = call(app, api_name, data(payload))
    assert set(answers.values()) == {(400, ui.cache.REFUSED.format(what="file"))}, answers
    assert_serving(app, tmp_path)


def test_a_handler_reads_no_file_but_an_upload(tmp_path):
    """ui.cache.uploaded, what every reader calls (behind the middleware): the same line for each path."""
    messages = set()
    for path in hostile_paths(tmp_path).values():
        with pytest.raises(gr.Error) as info:
            ui.cache.uploaded({"path": path}, "image")
        messages.add(info.value.message)
    assert messages == {ui.cache.REFUSED.format(what="image")}


def test_a_file_in_the_cache_over_the_cap_is_refused_unread(app):
    """A sparse 1 GB file in the cache folder: refused by its size, in well under a second, nothing read."""
    big = cache_folder() / "big" / "big.png"
    big.parent.mkdir(exist_ok=True)
    with open(big, "wb") as f:
        f.truncate(1_000_000_000)
    started = time.monotonic()
    status, text = call(app, "/encode_image", ["vae", {"path": str(big)}])
    assert (status, text) == (400, "file: 1,000,000,000 bytes, more than the 20,000,000 accepted")
    assert time.monotonic() - started < 5
    with pytest.raises(gr.Error, match="1,000,000,000 bytes"):  # the reader's own check, behind the middleware
        ui.cache.uploaded(str(big), "image")
    big.unlink()


def test_an_upload_still_works_from_the_client(app, client, tmp_path):
    latent = client.predict("vae", handle_file(gray_png(tmp_path)), api_name="/encode_image")["latent"]
    assert len(latent) == app.catalog.get(app.labels["vae"]).explorer.latent_dim


# --- the decode route's body


def test_the_decode_route_refuses_a_long_body_by_its_length_before_reading_it(app):
    """A request that declares 300 MB and sends none of it is answered at once, from its headers."""
    host, port = httpx.URL(app.url).host, httpx.URL(app.url).port
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(b"POST /latent-lab/decode HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 300000000\r\n\r\n{")
        answer = b""
        while b"at most" not in answer and (chunk := conn.recv(4096)):  # the headers and the body may come apart
            answer += chunk
    answer = answer.decode()
    assert answer.startswith("HTTP/1.1 413") and "at most 65536 bytes" in answer


def test_the_decode_route_reads_a_body_without_a_length_no_further_than_its_limit(app):
    """A chunked body declares no length: the route stops keeping it at the limit. Before, a 300 MB POST cost the
    server +561 MB; the server runs in this process, so its peak memory (VmHWM, reset first) is read here."""
    status = Path("/proc/self/status")

    def peak_mb() -> float:
        line = next(line for line in status.read_text().splitlines() if line.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024

    Path("/proc/self/clear_refs").write_text("5")
    before = peak_mb()
    chunk = b" " * 1_000_000
    try:
        response = httpx.post(f"{app.url}latent-lab/decode", content=(chunk for _ in range(300)), timeout=60)
        assert response.status_code == 413 and "at most 65536 bytes" in response.text
    except httpx.TransportError:
        pass  # the server closed the connection while the client still sent: refused too
    assert peak_mb() - before < 100
    assert_serving(app, Path(ui.cache.folder()))


def test_deeply_nested_json_is_refused_with_its_reason(app):
    response = httpx.post(f"{app.url}latent-lab/decode", content=b"[" * 60_000, timeout=30)
    assert response.status_code == 400 and "nested too deeply" in response.text


# --- uploads decoded a few at a time


def test_uploads_decode_at_most_upload_decodes_at_once_over_all_callers(app, tmp_path, monkeypatch):
    entry = app.catalog.get(app.labels["vae"])
    uploads = []
    for i in range(6):
        path = cache_folder() / f"decode-{i}" / "face.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(np.zeros((16, 16), np.uint8)).save(path)
        uploads.append(str(path))
    active, peak, lock = [0], [0], threading.Lock()
    real = ui.common.open_image

    def slow_open(*args, **kwargs):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        return real(*args, **kwargs)

    monkeypatch.setattr(ui.common, "open_image", slow_open)
    threads = [threading.Thread(target=ui.common.load_image, args=(path, entry)) for path in uploads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] == ui.cache.UPLOAD_DECODES == 2


# --- the cache sweep


def _file(path: Path, age: float, size: int = 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, (time.time() - age, time.time() - age))
    return path


def test_the_app_keeps_its_files_in_a_folder_of_its_own_and_sweeps_only_that(app):
    """Gradio's default cache, /tmp/gradio, is every Gradio app's: the explorer's is a folder of its own inside it, and
    a sweep leaves the rest alone."""
    own = cache_folder()
    assert own.name == f"latent-lab-{os.getpid()}"
    other_app = _file(own.parent / "other-app" / "image.webp", age=3600)
    ours = _file(own / "old" / "image.webp", age=ui.cache.CACHE_AGE + 1)
    ui.cache.sweep()
    assert other_app.exists() and not ours.exists()
    other_app.unlink()


def test_the_sweep_keeps_an_upload_while_the_page_can_send_it(tmp_path, monkeypatch):
    keep, age = ui.cache.UPLOAD_KEEP, ui.cache.CACHE_AGE
    picture = _file(tmp_path / "a" / "image.png", age=age + 1)
    fresh_upload = _file(tmp_path / "b" / "face.png", age=age + 1)
    stale_upload = _file(tmp_path / "c" / "face.png", age=keep + 1)
    monkeypatch.setattr(ui.cache, "_used", {str(fresh_upload.resolve()), str(stale_upload.resolve())})
    assert ui.cache.sweep(tmp_path) == 2
    assert fresh_upload.exists() and not picture.exists() and not stale_upload.exists()
    assert not (tmp_path / "a").exists() and tmp_path.is_dir()


def test_past_the_budget_the_least_recently_used_uploads_go_first(tmp_path, monkeypatch):
    uploads = [_file(tmp_path / f"u{i}" / "face.png", age=300 - 100 * i, size=400) for i in range(3)]  # u0 the oldest
    monkeypatch.setattr(ui.cache, "_used", {str(u.resolve()) for u in uploads})
    monkeypatch.setattr(ui.cache, "UPLOAD_BUDGET", 1000)
    assert ui.cache.sweep(tmp_path) == 1
    assert [u.exists() for u in uploads] == [False, True, True]


def test_reconstruct_again_minutes_after_the_upload(app, client, tmp_path):
    """The issue's reproduction: an upload, Reconstruct, 3 minutes, a sweep, Reconstruct again (the page sends the
    same upload, as Gradio stored it): the same picture."""
    first = reconstruct(client, app.labels["vae"], gray_png(tmp_path))
    stored = next(cache_folder().rglob("gray.png"))  # the upload, as Gradio stored it
    os.utime(stored, (time.time() - 180, time.time() - 180))
    ui.cache.sweep()
    assert stored.exists()
    event, again = raw_call(
        app, "/reconstruct", [app.labels["vae"], {"path": str(stored), "meta": {"_type": "gradio.FileData"}}, 0.0, None, []]
    )
    assert event == "complete"
    assert np.array_equal(np.asarray(Image.open(first[1])), np.asarray(Image.open(again[1]["path"])))


def test_an_expired_upload_says_so(app):
    gone = cache_folder() / "expired" / "face.png"
    status, text = call(app, "/reconstruct", [app.labels["vae"], {"path": str(gone)}, 0.0, None, []])
    assert status == 400 and "no longer on the server" in text and "upload it again" in text


# --- the typed API's numbers and conditions


@pytest.mark.parametrize("api_name", ["/decode_latent", "/edit_latent"])
def test_a_huge_latent_is_refused_by_name(app, client, api_name):
    """A latent of 1e30 decoded to an all-black picture; the sliders stop at ±1e4, and so does the API."""
    size = app.catalog.get(app.labels["vae"]).explorer.latent_dim
    with pytest.raises(AppError, match="latent\\[0\\]: expected a number from -10000 to 10000"):
        client.predict(model="vae", latent=[1e30] + [0.0] * (size - 1), api_name=api_name)


def test_encode_image_takes_a_conditional_models_condition(app, client, tmp_path):
    entry = app.catalog.get(app.labels["cvae"])
    upload = handle_file(gray_png(tmp_path))
    with pytest.raises(AppError, match="choose a class to condition on"):
        client.predict("cvae", upload, api_name="/encode_image")
    latents = [client.predict("cvae", upload, c, api_name="/encode_image")["latent"] for c in entry.conditions[:2]]
    assert len(latents[0]) == entry.explorer.latent_dim and latents[0] != latents[1]
