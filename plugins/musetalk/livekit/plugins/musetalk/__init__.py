"""Lip-synced avatar video output for LiveKit Agents."""

import importlib.util
import os

from livekit.agents import Plugin

from .avatar import AvatarMode, AvatarSession
from .engine_choice import EngineChoice, prewarm_engine
from .engines.base import VideoSpec
from .errors import (
    AvatarPackError,
    EncoderUnavailableError,
    EngineUnavailableError,
    MuseTalkPluginError,
    RenderWorkerError,
)
from .log import logger
from .remote import DEFAULT_RENDER_AGENT_NAME, RenderRequest
from .remote_render import RemoteAvatarRenderer
from .renderer import AvatarSessionOptions, VideoEncoderChoice
from .version import __version__

__all__ = [
    "DEFAULT_RENDER_AGENT_NAME",
    "AvatarMode",
    "AvatarPackError",
    "AvatarSession",
    "AvatarSessionOptions",
    "EncoderUnavailableError",
    "EngineChoice",
    "EngineUnavailableError",
    "MuseTalkPluginError",
    "RemoteAvatarRenderer",
    "RenderRequest",
    "RenderWorkerError",
    "VideoEncoderChoice",
    "VideoSpec",
    "__version__",
    "prewarm_engine",
]


class MuseTalkPlugin(Plugin):
    def __init__(self) -> None:
        super().__init__(__name__, __version__, __package__, logger)

    def download_files(self) -> None:
        """`download-files`: MuseTalk weights, unless this worker is set to the CPU engine or cannot run MuseTalk."""
        if os.environ.get("STREAMING_AVATAR_ENGINE", "auto") == "cpu":
            logger.info("STREAMING_AVATAR_ENGINE=cpu: not downloading MuseTalk weights")
            return
        if importlib.util.find_spec("torch") is None:
            logger.info("MuseTalk's GPU extras are not installed (e.g. the demo profile): not downloading its weights")
            return
        from .engines.musetalk.download import download_models

        download_models()


Plugin.register_plugin(MuseTalkPlugin())
