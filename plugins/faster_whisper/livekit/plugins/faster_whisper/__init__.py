"""Local speech-to-text for LiveKit Agents on faster-whisper."""

from livekit.agents import Plugin

from .log import logger
from .version import __version__

__all__ = ["__version__"]


class FasterWhisperPlugin(Plugin):
    def __init__(self) -> None:
        super().__init__(__name__, __version__, __package__, logger)


Plugin.register_plugin(FasterWhisperPlugin())
