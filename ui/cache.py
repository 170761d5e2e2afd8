"""The app's own cache folder: the files requests hand us (uploads), the files we hand the page, and their sweep.

Gradio keeps uploads and served pictures in one cache folder, by default `/tmp/gradio`, which every Gradio app on the
machine shares. The explorer moves its Gradio into a folder of its own, `<that folder>/latent-lab-<pid>`
(`use_own_folder`), so that:
- a request may name only a file there (`uploaded`): a payload's `path` is checked by Gradio only when the payload
  is marked as its FileData, so a bare `{"path": "/etc/hostname"}` reached our readers before. Every other path,
  existing or not, gets one and the same answer, and at most MAX_UPLOAD_BYTES are read;
- the sweep (`keep_house`) deletes only this app's files: the pictures it served after CACHE_AGE, an upload
  UPLOAD_KEEP after its last use (the page sends the same upload again each time Reconstruct is pressed), the least
  recently used uploads first once they pass UPLOAD_BUDGET bytes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import threading
import time
import weakref
from pathlib import Path

import gradio as gr

MAX_UPLOAD_BYTES = 20_000_000  # uploads: Gradio refuses a larger file before it is stored (ui.launch); we read no more
UPLOAD_DECODES = 2  # uploads decoded at once, over all endpoints: 8 near-cap uploads at once cost +1.76 GB before
SWEEP_EVERY = 30  # seconds between sweeps
CACHE_AGE = 120  # seconds a served picture stays (10 users wrote about 20 MB a minute in bench/load.py)
UPLOAD_KEEP = 3600  # seconds an upload stays after it came or a handler last read it
UPLOAD_BUDGET = 1_000_000_000  # bytes of such uploads kept; past it the least recently used go first
FOLDER_PREFIX = "latent-lab-"

_used: set[str] = set()  # files a handler has read as uploads (resolved paths): webcam and clipboard pictures too
_lock = threading.Lock()
_demos: weakref.WeakSet = weakref.WeakSet()  # the apps whose Gradio file sets the sweep prunes
upload_decodes = threading.BoundedSemaphore(UPLOAD_DECODES)  # what every upload's read and decode runs under


def folder() -> Path:
    import gradio.utils

    return Path(gradio.utils.get_upload_folder())


def use_own_folder() -> Path:
    """Point Gradio's cache (GRADIO_TEMP_DIR) at a folder of this process's own under the current one, once per
    process, before any component is made (a component reads the folder when it is created); remove the folders of
    earlier processes that are no longer running."""
    current = folder()
    own = f"{FOLDER_PREFIX}{os.getpid()}"
    if current.name == own:
        return current
    for sibling in current.glob(f"{FOLDER_PREFIX}*") if current.is_dir() else ():
        pid = sibling.name.removeprefix(FOLDER_PREFIX)
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(sibling, ignore_errors=True)
    os.environ["GRADIO_TEMP_DIR"] = str(current / own)
    (current / own).mkdir(parents=True, exist_ok=True)
    return current / own


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


REFUSED = "{what}: only a file uploaded to this app is accepted (from a script: gradio_client.handle_file(path))"
JSON_LIMIT = 32_000_000  # bytes of JSON a call to Gradio may send: an upload at the cap as a data URL is about 27 MB


def _checked(path, what: str) -> Path:
    """`path` resolved, if it names a file in this app's cache folder of at most MAX_UPLOAD_BYTES; else a ValueError
    that says the same for every path outside the folder, existing or not."""
    root = folder().resolve()
    try:
        resolved = Path(path).resolve()  # links followed: a link in the folder to a file outside is outside
    except (TypeError, ValueError, OSError, RuntimeError):
        raise ValueError(REFUSED.format(what=what)) from None
    if not resolved.is_relative_to(root) or resolved == root:
        raise ValueError(REFUSED.format(what=what))
    try:
        info = resolved.stat()
    except OSError:
        minutes = UPLOAD_KEEP // 60
        raise ValueError(
            f"{what}: this upload is no longer on the server (uploads are kept {minutes} minutes after their last use); upload it again"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(REFUSED.format(what=what))
    if info.st_size > MAX_UPLOAD_BYTES:
        raise ValueError(f"{what}: {info.st_size:,} bytes, more than the {MAX_UPLOAD_BYTES:,} accepted")
    return resolved


def uploaded(payload, what: str) -> Path:
    """The file a request names (a path, or a dict or FileData with a "path"), if `_checked` accepts it, else a
    gr.Error with its line. Marks the upload as in use: the sweep keeps it UPLOAD_KEEP more."""
    path = payload.get("path") if isinstance(payload, dict) else getattr(payload, "path", payload)
    try:
        resolved = _checked(path, what)
    except ValueError as err:
        raise gr.Error(str(err)) from None
    with _lock, contextlib.suppress(OSError):
        os.utime(resolved)  # its last use: the sweep keeps it UPLOAD_KEEP from now
        _used.add(str(resolved))
    return resolved


class UploadsOnly:
    """ASGI middleware in front of Gradio's calls (POST .../gradio_api/..., from the page and from clients): a call
    whose JSON names a file (an object with a "path") that `_checked` refuses is answered 400 with its line before
    Gradio reads it. Gradio 6.31 copies into its cache any file that a payload marked as its FileData
    ({"meta": {"_type": "gradio.FileData"}}) names, before a handler runs: /etc/hostname reached the image reader that
    way, and a missing path answered with FileNotFoundError. The body is read up to JSON_LIMIT bytes, then replayed."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] != "POST" or "/gradio_api/" not in path or path.endswith("/upload"):
            return await self.app(scope, receive, send)
        from starlette.responses import PlainTextResponse

        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left
            body += message.get("body", b"")
            if len(body) > JSON_LIMIT:
                return await PlainTextResponse(f"a call is at most {JSON_LIMIT:,} bytes of JSON", 413)(scope, receive, send)
            if not message.get("more_body", False):
                break
        problem = _named_file_problem(bytes(body))
        if problem:
            return await PlainTextResponse(problem, 400)(scope, receive, send)
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)


def _named_file_problem(body: bytes) -> str | None:
    """The line refusing the first file the JSON names that `_checked` refuses; None if there is none (or the body
    is not JSON: Gradio answers that itself)."""
    import json

    try:
        stack = [json.loads(body)]
    except RecursionError:
        return "JSON nested too deeply"
    except ValueError:
        return None
    while stack:  # a loop, not recursion: the nesting is the sender's
        item = stack.pop()
        if isinstance(item, dict):
            path = item.get("path")
            if isinstance(path, str) and not path.startswith(("http://", "https://")):
                try:
                    _checked(path, "file")
                except ValueError as err:
                    return str(err)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def read_upload(payload, what: str) -> tuple[str, bytes]:
    """(the file's name as uploaded, its bytes) for an upload that `uploaded` accepts, read up to MAX_UPLOAD_BYTES."""
    path = uploaded(payload, what)
    with open(path, "rb") as f:
        data = f.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise gr.Error(f"{what}: more than the {MAX_UPLOAD_BYTES:,} bytes accepted")
    return path.name, data


def cache_file(name: str) -> Path:
    """A path named `name` in a folder of its own in the app's cache folder, for a file handed to the page (a GIF, a
    vector file, an API result): Gradio serves it from there and the sweep ages it out."""
    return Path(tempfile.mkdtemp(prefix="out-", dir=folder())) / name


def keep_house(demo: gr.Blocks) -> None:
    """Bound a long-running server's memory and disk from one background thread, every SWEEP_EVERY seconds:
    - glibc's malloc gives each thread an arena and keeps what is freed there: with 8 request threads the server's RSS
      grew by 274 MB in 10 minutes of bench/load.py and never came back. The arenas are capped at 2 and freed memory is
      handed back to the system (malloc_trim; Linux with glibc only).
    - the app's cache folder is swept (`sweep`). Gradio's own sweep (Blocks' delete_cache) is not used: it deleted
      only the files its components registered (926 of 1,083 cached files outlived it in bench/load.py), and uploads
      two minutes after they came, while the page still offered them. Its sets of the files it made are pruned of
      what the sweep deleted, so that they do not grow for as long as the server runs."""
    import ctypes

    _demos.add(demo)
    if any(thread.name == "latent-lab-housekeeping" for thread in threading.enumerate()):
        return  # once per process (the tests launch many apps)
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):
        libc = None

    def loop() -> None:
        while True:
            time.sleep(SWEEP_EVERY)
            sweep()
            for app in list(_demos):
                for files in app.temp_file_sets:
                    files.difference_update([f for f in list(files) if not os.path.exists(f)])
            if libc is not None:
                libc.malloc_trim(0)

    threading.Thread(target=loop, name="latent-lab-housekeeping", daemon=True).start()


def sweep(root: Path | None = None, now: float | None = None) -> int:
    """Delete from the app's cache folder (or `root`) each file last written more than CACHE_AGE seconds ago, except
    uploads (what Gradio received for the served apps, and what a handler read as one), which stay UPLOAD_KEEP
    seconds after their last use and within UPLOAD_BUDGET bytes (least recently used first out); then the folders
    left empty. Returns how many files went."""
    root = Path(root or folder())
    now = time.time() if now is None else now
    with _lock:
        uploads = _used | {str(Path(f).resolve()) for app in list(_demos) for f in list(app.upload_file_set)}
    deleted = 0
    kept_uploads = []  # (last use, size, path)
    for directory, _, files in os.walk(root, topdown=False):
        for name in files:
            path = Path(directory) / name
            try:
                info = path.stat()
                key = str(path.resolve())
                if key in uploads and now - info.st_mtime <= UPLOAD_KEEP:
                    kept_uploads.append((info.st_mtime, info.st_size, path))
                elif now - info.st_mtime > CACHE_AGE:
                    deleted += _delete(path)
            except FileNotFoundError:
                pass
        if Path(directory) != root:
            with contextlib.suppress(OSError):
                os.rmdir(directory)  # only when empty
    total = sum(size for _, size, _ in kept_uploads)
    for _, size, path in sorted(kept_uploads):
        if total <= UPLOAD_BUDGET:
            break
        deleted += _delete(path)
        total -= size
    return deleted


def _delete(path: Path) -> int:
    with _lock:
        _used.discard(str(path.resolve()))
    try:
        path.unlink()
    except FileNotFoundError:
        return 0
    return 1


def write_pictures_atomically() -> None:
    """Gradio 6.31 writes a served picture over its cache file in place (processing_utils.save_pil_to_cache: the file's
    name is its content's hash), so two requests making the same picture at once -- every page load's first example --
    can truncate the file while a third is sending it: 2 to 5 of about 1,000 requests in bench/load.py ended in "peer
    closed connection". Its file copies are already written under a temporary name and renamed into place; pictures
    get the same here, and a picture already in the cache is only touched (the sweep ages files by time)."""
    import gradio.processing_utils as processing

    if getattr(processing.save_pil_to_cache, "atomic", False):
        return

    def save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
        data = processing.encode_pil_to_bytes(img, format)
        target_folder = Path(cache_dir) / processing.hash_bytes(data)
        target_folder.mkdir(exist_ok=True, parents=True)
        target = (target_folder / f"{name}.{format}").resolve()
        if target.exists():
            os.utime(target)
            return str(target)
        handle, staging = tempfile.mkstemp(dir=target_folder, prefix=f".{target.name}.")
        with os.fdopen(handle, "wb") as f:
            f.write(data)
        os.replace(staging, target)
        return str(target)

    save_pil_to_cache.atomic = True
    processing.save_pil_to_cache = save_pil_to_cache
