"""The worker's faster-whisper model: loaded once per process in prewarm, never downloaded there.

Downloading is `python -m agent download-files`'s job; a worker that finds no
model runs its sessions without speech input and says so, instead of stalling
a job on a multi-hundred-megabyte download or crashing.
"""

from __future__ import annotations

import faster_whisper as whisper_library
from livekit.plugins import faster_whisper

DOWNLOAD_HINT = (
    "Run `python -m agent download-files` once with network access, or set "
    "STREAMING_AVATAR_WHISPER_MODEL to a local CTranslate2 Whisper model directory."
)


def _cached_model_dir(model: str) -> str:
    try:
        return str(whisper_library.download_model(model, local_files_only=True))
    except ValueError as e:
        raise faster_whisper.ModelNotFoundError(
            f"unknown faster-whisper model {model!r} (STREAMING_AVATAR_WHISPER_MODEL): use one of "
            f"{', '.join(whisper_library.available_models())} or a local model directory."
        ) from e
    except Exception as e:
        raise faster_whisper.ModelNotFoundError(
            f"faster-whisper model {model!r} is not downloaded on this worker. {DOWNLOAD_HINT}"
        ) from e


def load_whisper_model(model: str, *, compute_type: str = "default") -> str:
    """Load ``model`` into the plugin's process-wide cache; return the directory STT should use.

    Raises ModelNotFoundError (with what to do) when the model is missing or does not load.
    """
    model_dir = (
        faster_whisper.resolve_model_dir(model) if faster_whisper.is_local_model(model) else _cached_model_dir(model)
    )
    try:
        faster_whisper.load_model(model_dir, compute_type=compute_type)
    except (RuntimeError, OSError, ValueError) as e:
        raise faster_whisper.ModelNotFoundError(
            f"faster-whisper model {model!r} at {model_dir} does not load ({e}). {DOWNLOAD_HINT}"
        ) from e
    return model_dir
