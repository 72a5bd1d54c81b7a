"""One faster-whisper model per process, shared by every STT instance.

Named models ("small", "large-v3", "org/repo") come from the Hugging Face Hub
through faster-whisper, or only from the local Hugging Face cache when
``HF_HUB_OFFLINE=1``. A local directory is used as-is and never triggers a
download, even when it is incomplete.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from livekit.agents import APIError

import faster_whisper

from .log import logger

Device = Literal["auto", "cuda", "cpu"]

DEFAULT_MODEL = "small"
_REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
_TRUTHY = {"1", "on", "yes", "true"}


class ModelNotFoundError(APIError):
    """The faster-whisper model is not on this machine and may not be downloaded."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


@dataclass(frozen=True)
class _ModelKey:
    model: str
    device: Device
    compute_type: str


_models: dict[_ModelKey, faster_whisper.WhisperModel] = {}
_lock = threading.Lock()


def is_local_model(model: str) -> bool:
    """Whether ``model`` names a directory rather than a model size or Hub repository.

    Existing directories, absolute paths and paths starting with ``.`` or ``~``
    count as local; so does anything with more than one ``/`` (a Hub id has one).
    """
    return Path(model).expanduser().is_dir() or model.startswith(("/", ".", "~")) or model.count("/") > 1


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUTHY


def _fetch_hint(model: str) -> str:
    return f"call register_model_download({model!r}) and run your agent's `download-files` command"


def _local_model_dir(model: str) -> str:
    path = Path(model).expanduser().resolve()
    if not path.is_dir():
        raise ModelNotFoundError(
            f"faster-whisper model directory {str(path)!r} does not exist. Point the STT at a "
            f"CTranslate2 Whisper model directory, or use a model name such as 'small': {_fetch_hint('small')} "
            "once to fetch it."
        )
    missing = [name for name in _REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise ModelNotFoundError(
            f"faster-whisper model directory {str(path)!r} is incomplete (missing "
            f"{', '.join(missing)}). Re-download or re-convert the model; your agent's `download-files` "
            "command fetches the named models given to register_model_download()."
        )
    return str(path)


def _unknown_model(model: str) -> ModelNotFoundError:
    return ModelNotFoundError(
        f"unknown faster-whisper model {model!r}: use one of "
        f"{', '.join(faster_whisper.available_models())}, a Hugging Face repository id "
        "or a local model directory."
    )


def _named_model_dir(model: str) -> str:
    offline = _hub_offline()
    try:
        return str(faster_whisper.download_model(model, local_files_only=offline))
    except ValueError as e:
        raise _unknown_model(model) from e
    except Exception as e:
        where = "in the local Hugging Face cache (HF_HUB_OFFLINE=1)" if offline else "for download"
        raise ModelNotFoundError(
            f"faster-whisper model {model!r} is not available {where}: {e}. To fetch it, "
            f"{_fetch_hint(model)} with network access."
        ) from e


def resolve_model_dir(model: str) -> str:
    """The local directory holding ``model``, downloading a named model unless offline."""
    return _local_model_dir(model) if is_local_model(model) else _named_model_dir(model)


def _key(model: str, device: Device, compute_type: str) -> _ModelKey:
    if is_local_model(model):
        model = str(Path(model).expanduser().resolve())
    return _ModelKey(model, device, compute_type)


def load_model(
    model: str = DEFAULT_MODEL,
    *,
    device: Device = "auto",
    compute_type: str = "default",
    cpu_threads: int = 0,
    num_workers: int = 1,
) -> faster_whisper.WhisperModel:
    """Return the process-wide model for (model, device, compute_type), loading it once.

    Call it from the worker's prewarm so the first transcription does not wait
    for the load. ``cpu_threads`` and ``num_workers`` only apply to the first
    load of a model. Raises ModelNotFoundError.
    """
    key = _key(model, device, compute_type)
    with _lock:
        cached = _models.get(key)
        if cached is not None:
            return cached
        model_dir = resolve_model_dir(model)
        logger.info(
            "loading faster-whisper model",
            extra={
                "model": model,
                "path": model_dir,
                "device": device,
                "compute_type": compute_type,
            },
        )
        loaded = faster_whisper.WhisperModel(
            model_dir,
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=num_workers,
        )
        _models[key] = loaded
        return loaded


def download_model(model: str = DEFAULT_MODEL) -> Path:
    """Fetch a named model into the Hugging Face cache (for ``download-files``).

    A local directory is only checked, never downloaded to.
    """
    if is_local_model(model):
        return Path(_local_model_dir(model))
    try:
        return Path(faster_whisper.download_model(model))
    except ValueError as e:
        raise _unknown_model(model) from e
