"""Lip-synced avatar video output for LiveKit Agents."""

from livekit.agents import Plugin

from .avatar import AvatarSession, AvatarSessionOptions
from .engines.base import VideoSpec
from .errors import AvatarPackError, EncoderUnavailableError, EngineUnavailableError, MuseTalkPluginError
from .log import logger
from .version import __version__

__all__ = [
    "AvatarSession",
    "AvatarSessionOptions",
    "VideoSpec",
    "AvatarPackError",
    "EncoderUnavailableError",
    "EngineUnavailableError",
    "MuseTalkPluginError",
    "__version__",
]


class MuseTalkPlugin(Plugin):
    def __init__(self) -> None:
        super().__init__(__name__, __version__, __package__, logger)


Plugin.register_plugin(MuseTalkPlugin())
