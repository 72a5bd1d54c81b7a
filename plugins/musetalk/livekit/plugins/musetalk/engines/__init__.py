"""Lip-sync engines. The built-in ones are registered here; see `registry.py` to add another."""

from . import cpu, musetalk
from .base import LipSyncEngine, LipSyncSession, PreparedAvatar, prepare_avatar
from .registry import (
    Availability,
    EngineConfig,
    EngineEntry,
    choose_engine,
    download_engine_files,
    engine_names,
    load_engine,
    prewarm_engine,
    register_engine,
    resolve_engine,
)

register_engine(cpu.ENGINE)
register_engine(musetalk.ENGINE)

__all__ = [
    "Availability",
    "EngineConfig",
    "EngineEntry",
    "LipSyncEngine",
    "LipSyncSession",
    "PreparedAvatar",
    "choose_engine",
    "download_engine_files",
    "engine_names",
    "load_engine",
    "prepare_avatar",
    "prewarm_engine",
    "register_engine",
    "resolve_engine",
]
