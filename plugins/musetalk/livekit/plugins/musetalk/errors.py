"""Errors a user can act on. Each message names what is wrong and how to fix it."""


class MuseTalkPluginError(Exception):
    """Base class of every error this plugin raises on purpose."""


class AvatarPackError(MuseTalkPluginError):
    """An avatar pack is unknown, invalid or cannot be prepared."""

    def __init__(self, pack_id: str, reason: str) -> None:
        super().__init__(f"avatar pack {pack_id!r}: {reason}")
        self.pack_id = pack_id
        self.reason = reason


class EngineUnavailableError(MuseTalkPluginError):
    """A lip-sync engine cannot run here (no GPU, missing weights, missing extras)."""


class EncoderUnavailableError(MuseTalkPluginError):
    """A video encoder cannot be opened here (no NVENC, session limit reached, ...)."""


class RenderWorkerError(MuseTalkPluginError):
    """No render worker could be dispatched, or it did not join in time."""
