"""Local speech-to-text for LiveKit Agents on faster-whisper."""

from livekit.agents import Plugin

from .log import logger
from .models import DEFAULT_MODEL, ModelNotFoundError, download_model, is_local_model, load_model, resolve_model_dir
from .stt import (
    DEFAULT_ENCODER_WINDOW,
    SAMPLE_RATE,
    STT,
    WHISPER_LANGUAGES,
    STTOptions,
    to_whisper_audio,
    whisper_language,
)
from .version import __version__

__all__ = [
    "DEFAULT_ENCODER_WINDOW",
    "DEFAULT_MODEL",
    "SAMPLE_RATE",
    "STT",
    "WHISPER_LANGUAGES",
    "ModelNotFoundError",
    "STTOptions",
    "__version__",
    "download_model",
    "is_local_model",
    "load_model",
    "register_model_download",
    "resolve_model_dir",
    "to_whisper_audio",
    "whisper_language",
]


class FasterWhisperPlugin(Plugin):
    """`download-files` fetches every model an app registered, or DEFAULT_MODEL if none."""

    def __init__(self) -> None:
        super().__init__(__name__, __version__, __package__, logger)
        self.models_to_download: list[str] = []

    def download_files(self) -> None:
        for model in self.models_to_download or [DEFAULT_MODEL]:
            path = download_model(model)
            logger.info("faster-whisper model ready", extra={"model": model, "path": str(path)})


_plugin = FasterWhisperPlugin()
Plugin.register_plugin(_plugin)


def register_model_download(model: str) -> None:
    """Make the agents CLI's `download-files` fetch ``model`` (a local directory is only checked)."""
    if model not in _plugin.models_to_download:
        _plugin.models_to_download.append(model)
