"""Local speech-to-text for LiveKit Agents on faster-whisper."""

from livekit.agents import Plugin

from .log import logger
from .models import ModelNotFoundError, download_model, load_model, resolve_model_dir
from .stt import STT, STTOptions, to_whisper_audio, whisper_language
from .version import __version__

__all__ = [
    "STT",
    "ModelNotFoundError",
    "STTOptions",
    "__version__",
    "download_model",
    "load_model",
    "resolve_model_dir",
    "to_whisper_audio",
    "whisper_language",
]


class FasterWhisperPlugin(Plugin):
    def __init__(self) -> None:
        super().__init__(__name__, __version__, __package__, logger)


Plugin.register_plugin(FasterWhisperPlugin())
