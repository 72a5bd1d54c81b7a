"""Lip-synced avatar video output for LiveKit Agents.

    from livekit.plugins import musetalk

    avatar = musetalk.AvatarSession(musetalk.AvatarOptions(avatar="default"))
    await avatar.start(session, room=ctx.room)

Engines: "cpu" (real time on CPU, no weights), "musetalk" (MuseTalk v1.5, GPU), or
your own through `register_engine`. Environment defaults (arguments win):
`MUSETALK_AVATARS_DIR`, `MUSETALK_CACHE_DIR`, `MUSETALK_MODELS_DIR`.
"""

from __future__ import annotations

from pathlib import Path

from livekit.agents import Plugin

from .avatar import AvatarMode, AvatarSession
from .caches import CACHE_DIR_ENV
from .engines import (
    Availability,
    EngineConfig,
    EngineEntry,
    LipSyncEngine,
    LipSyncSession,
    PreparedAvatar,
    download_engine_files,
    engine_names,
    load_engine,
    prepare_avatar,
    prewarm_engine,
    register_engine,
)
from .engines.musetalk.config import MODELS_DIR_ENV
from .errors import (
    AvatarPackError,
    EncoderUnavailableError,
    EngineUnavailableError,
    MuseTalkPluginError,
    RenderWorkerError,
)
from .log import logger
from .options import DEFAULT_AVATAR, AvatarOptions, VideoEncoderChoice
from .packs import (
    AVATARS_DIR_ENV,
    PACK_ID_PATTERN,
    AvatarPack,
    PackManifest,
    default_avatars_dir,
    list_pack_ids,
    list_packs,
    load_pack,
    validate_pack_id,
)
from .publisher import prewarm_avatar
from .remote import DEFAULT_RENDER_AGENT_NAME, RenderRequest
from .remote_render import RemoteAvatarRenderer
from .types import AvatarFrame, FrameImage, Pcm, ProgressCallback, VideoSpec
from .version import __version__

__all__ = [
    "AVATARS_DIR_ENV",
    "CACHE_DIR_ENV",
    "DEFAULT_AVATAR",
    "DEFAULT_RENDER_AGENT_NAME",
    "MODELS_DIR_ENV",
    "PACK_ID_PATTERN",
    "Availability",
    "AvatarFrame",
    "AvatarMode",
    "AvatarOptions",
    "AvatarPack",
    "AvatarPackError",
    "AvatarSession",
    "EncoderUnavailableError",
    "EngineConfig",
    "EngineEntry",
    "EngineUnavailableError",
    "FrameImage",
    "LipSyncEngine",
    "LipSyncSession",
    "MuseTalkPluginError",
    "PackManifest",
    "Pcm",
    "PreparedAvatar",
    "ProgressCallback",
    "RemoteAvatarRenderer",
    "RenderRequest",
    "RenderWorkerError",
    "VideoEncoderChoice",
    "VideoSpec",
    "__version__",
    "default_avatars_dir",
    "engine_names",
    "list_pack_ids",
    "list_packs",
    "load_engine",
    "load_pack",
    "prepare_avatar",
    "prewarm_avatar",
    "prewarm_engine",
    "register_download",
    "register_engine",
    "validate_pack_id",
]

_download = ("auto", EngineConfig())


def register_download(engine: str = "auto", *, models_dir: Path | None = None) -> None:
    """What the agents CLI's `download-files` fetches: the weights of `engine` ("auto": of every engine)."""
    global _download
    _download = (engine, EngineConfig(models_dir=models_dir))


class MuseTalkPlugin(Plugin):
    def __init__(self) -> None:
        super().__init__(__name__, __version__, __package__, logger)

    def download_files(self) -> None:
        download_engine_files(*_download)


Plugin.register_plugin(MuseTalkPlugin())
