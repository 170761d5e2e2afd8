"""Where checkpoint files come from: a local directory or a Hub repo id (failing fast offline), and the one push
path for a trained run's directory."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import huggingface_hub.constants
from huggingface_hub import HfApi, hf_hub_download, snapshot_download

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"


HUB_TIMEOUT = 2.0  # seconds to wait for the Hub before a repo id counts as unreachable (huggingface_hub's default: 10)
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}")  # owner/name, as the Hub spells repo ids


def resolve_file(path_or_repo_id: str | os.PathLike, filename: str, **hub_kwargs) -> str:
    """Local path of `filename` in a checkpoint directory, or in a Hub repo (downloaded / from the HF cache).
    Only a string shaped like a repo id (owner/name) that is not an existing path goes to the Hub, within
    HUB_TIMEOUT seconds; anything else that does not exist is a missing directory."""
    path = str(path_or_repo_id)
    if os.path.isdir(path):
        file = os.path.join(path, filename)
        if not os.path.isfile(file):
            raise ValueError(f"{file} not found; a checkpoint directory holds {CONFIG_NAME} and {WEIGHTS_NAME}")
        return file
    if os.path.exists(path):
        raise ValueError(f"{path} is a file; pass the checkpoint directory that holds {CONFIG_NAME} and {WEIGHTS_NAME}")
    if isinstance(path_or_repo_id, os.PathLike) or not _REPO_ID.fullmatch(path):
        raise ValueError(f"{path}: no such directory (and not a Hub repo id, which reads owner/name)")
    try:
        if not (hub_kwargs.get("local_files_only") or huggingface_hub.constants.HF_HUB_OFFLINE):
            # one quick request first: hf_hub_download retries an unreachable Hub for about 20 s
            HfApi().model_info(path, revision=hub_kwargs.get("revision"), token=hub_kwargs.get("token"), timeout=HUB_TIMEOUT)
        return hf_hub_download(repo_id=path, filename=filename, etag_timeout=HUB_TIMEOUT, **hub_kwargs)
    except Exception as e:  # HFValidationError, LocalEntryNotFoundError, RepositoryNotFoundError, HTTP errors, timeouts, ...
        raise ValueError(
            f"{path!r} is neither a local checkpoint directory (no such directory) nor a Hub model repo with {filename} "
            f"(or it is not in the local cache when offline): {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        ) from None


def checkpoint_dir(path_or_repo_id: str | os.PathLike, **hub_kwargs) -> Path:
    """The directory of a checkpoint: a local one as it is, or a Hub repo's snapshot in the HF cache (every file,
    downloaded once; offline, the cached one), so a Hub model is read exactly like a local one: its statistics,
    training.json, evaluation.json and exported decoder included. Errors as resolve_file's."""
    config_file = resolve_file(path_or_repo_id, CONFIG_NAME, **hub_kwargs)
    if os.path.isdir(str(path_or_repo_id)):
        return Path(path_or_repo_id)
    try:
        return Path(snapshot_download(str(path_or_repo_id), etag_timeout=HUB_TIMEOUT, **hub_kwargs))
    except Exception as e:  # the config came, the rest did not: a connection lost half-way, a cache pruned by hand
        raise ValueError(
            f"{path_or_repo_id}: got {os.path.basename(config_file)} but not the rest of the repo: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        ) from None


PUSH_IGNORE = ["resume.pt", ".*", ".*/*", "progress/*"]  # a run's resume state, temp files, per-step progress grids


def push_checkpoint(directory: str | os.PathLike, repo_id: str, private: bool | None = None, token: str | None = None) -> str:
    """Upload a checkpoint directory that `python -m train` wrote to the Hub model repo `repo_id` (created if
    needed): config, weights, statistics, card, samples, training.json, evaluation.json and exported decoder, all but
    PUSH_IGNORE. Returns the repo's URL. A directory that does not load, no token, no connection: one-line ValueError."""
    from huggingface_hub import get_token
    from huggingface_hub.errors import HfHubHTTPError

    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory}: no such directory")
    missing = [name for name in (CONFIG_NAME, WEIGHTS_NAME, CARD_NAME, "training.json") if not (directory / name).is_file()]
    if missing:
        raise ValueError(
            f"{directory}: not a finished checkpoint (no {', '.join(missing)}); push the directory `python -m train` wrote at the end of a run"
        )
    if not _REPO_ID.fullmatch(repo_id):
        raise ValueError(f"{repo_id!r} is not a Hub repo id; it reads owner/name")
    if huggingface_hub.constants.HF_HUB_OFFLINE:
        raise ValueError("cannot push: HF_HUB_OFFLINE is set (unset it to reach the Hub)")
    token = token or get_token()
    if not token:
        raise ValueError("cannot push: not logged in to the Hugging Face Hub; run `hf auth login` (or set HF_TOKEN) and push again")
    api = HfApi(token=token)
    try:
        repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
        api.upload_folder(
            folder_path=directory, repo_id=repo_id, ignore_patterns=PUSH_IGNORE, commit_message=f"Latent Lab checkpoint {directory.name}"
        )
    except HfHubHTTPError as e:
        status = e.response.status_code if e.response is not None else "?"
        reason = "the token may not write to it" if status in (401, 403) else str(e).splitlines()[0]
        raise ValueError(f"cannot push to {repo_id}: the Hub answered HTTP {status}; {reason}") from None
    except Exception as e:  # no DNS, refused, timed out (httpx's and OSError's kinds)
        raise ValueError(
            f"cannot push to {repo_id}: the Hub is unreachable ({type(e).__name__}); check the connection and push again"
        ) from None
    return f"https://huggingface.co/{repo_id}"


JSON_TYPES = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


def read_json(path: str | os.PathLike, expected: type = dict) -> Any:
    """Parse a JSON file of a checkpoint (config.json, training.json, evaluation.json, decoder.json), refusing one that
    cannot be read, is not UTF-8 JSON, or whose top level is not `expected`: ValueError naming the file, in one line."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:  # missing, a directory, unreadable
        raise ValueError(f"{path}: cannot be read ({e.strerror or type(e).__name__})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, expected):
        got = JSON_TYPES.get(type(data), type(data).__name__)
        raise ValueError(f"{path}: expected a JSON {JSON_TYPES.get(expected, expected.__name__)}, got a JSON {got}")
    return data


def read_config_json(config_file: str) -> dict[str, Any]:
    """Parse config.json, refusing bad JSON and a missing/non-string model_type."""
    try:
        data = read_json(config_file)
    except ValueError as e:
        raise ValueError(f"{e}; expected the config.json written by save(), a JSON object of config fields") from None
    if not isinstance(data.get("model_type"), str):
        raise ValueError(f"{config_file}: missing or non-string 'model_type'")
    return data
