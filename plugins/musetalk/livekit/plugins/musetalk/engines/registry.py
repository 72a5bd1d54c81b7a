"""The one place that knows the lip-sync engines: how to choose, load, warm up and download each.

An engine is a package implementing `LipSyncEngine` (see `base.py`) plus an
`EngineEntry` registered here; `engines/__init__.py` registers the built-in
ones and anyone can add theirs with `register_engine`:

    register_engine(EngineEntry(name="solid", load=lambda config: SolidEngine()))
    musetalk.AvatarSession(musetalk.AvatarOptions(engine="solid"))

A loaded engine is shared by every session of the process (it holds the models).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EngineUnavailableError
from ..log import logger
from .base import LipSyncEngine

AUTO = "auto"


@dataclass(frozen=True)
class EngineConfig:
    """What loading an engine may depend on."""

    models_dir: Path | None = None
    """Where the engine finds its weights (None: the engine's default)."""


@dataclass(frozen=True)
class Availability:
    """Whether an engine can run here and whether "auto" should pick it."""

    problem: str | None = None
    """Why it cannot run at all (an explicit choice of it fails with this); None when it can."""
    auto: bool = True
    """Whether "auto" picks it when it can run (MuseTalk: only with a GPU)."""
    reason: str = ""
    """Why "auto" picks it, or why not (logged with the choice)."""


def _always_available(config: EngineConfig) -> Availability:
    return Availability()


@dataclass(frozen=True)
class EngineEntry:
    name: str
    load: Callable[[EngineConfig], LipSyncEngine[Any]]
    """Create the engine (load its models); called once per process and config."""
    availability: Callable[[EngineConfig], Availability] = _always_available
    """Cheap: must not load models."""
    download: Callable[[EngineConfig], None] | None = None
    """Fetch the engine's weights (for the agents CLI's `download-files`); None: it needs none."""
    auto_rank: int = 0
    """"auto" tries engines from the highest rank down."""


_entries: dict[str, EngineEntry] = {}
_loaded: dict[tuple[str, EngineConfig], LipSyncEngine[Any]] = {}
_lock = threading.Lock()


def register_engine(entry: EngineEntry) -> None:
    if entry.name == AUTO or not entry.name:  # a mistake in code, not in settings
        raise ValueError(f"{entry.name!r} cannot name an engine")
    with _lock:
        if _entries.get(entry.name, entry) != entry:
            raise ValueError(f"another engine is registered as {entry.name!r}")
        _entries[entry.name] = entry


def engine_names() -> list[str]:
    return list(_entries)


def choose_engine(choice: str, config: EngineConfig) -> tuple[str, str]:
    """The engine `choice` ("auto" or a registered name) means here, and why (also logged).

    Raises EngineUnavailableError when an explicit choice cannot run or names no registered engine.
    """
    if choice == AUTO:
        name, reason = _choose_automatically(config)
    else:
        entry = _entry(choice)
        availability = entry.availability(config)
        if availability.problem:
            raise EngineUnavailableError(availability.problem)
        name, reason = choice, f"the {choice} engine was requested"
        if not availability.auto and availability.reason:
            reason += f"; {availability.reason}"
    logger.info("lip-sync engine %s: %s", name, reason)
    return name, reason


def resolve_engine(choice: str, config: EngineConfig) -> tuple[LipSyncEngine[Any], str]:
    """The process's engine for `choice` (loaded on first use), and why it was chosen."""
    name, reason = choose_engine(choice, config)
    return load_engine(name, config), reason


def load_engine(name: str, config: EngineConfig) -> LipSyncEngine[Any]:
    entry = _entry(name)
    with _lock:
        key = (name, config)
        if key not in _loaded:
            _loaded[key] = entry.load(config)
        return _loaded[key]


def prewarm_engine(choice: str, config: EngineConfig) -> str:
    """Load and warm up the engine a worker will use before its first job; why it was chosen."""
    engine, reason = resolve_engine(choice, config)
    engine.warm_up()
    return reason


def download_engine_files(choice: str, config: EngineConfig) -> None:
    """Fetch the weights of the engine `choice` names, or of every engine that has any for "auto"."""
    entries = list(_entries.values()) if choice == AUTO else [_entry(choice)]
    for entry in entries:
        if entry.download is None:
            logger.info("the %s engine needs no downloaded files", entry.name)
        else:
            entry.download(config)


def _entry(name: str) -> EngineEntry:
    try:
        return _entries[name]
    except KeyError:
        known = ", ".join(repr(n) for n in [AUTO, *_entries])
        raise EngineUnavailableError(f"unknown engine {name!r}; use one of {known}") from None


def _choose_automatically(config: EngineConfig) -> tuple[str, str]:
    passed_over = []
    for entry in sorted(_entries.values(), key=lambda e: -e.auto_rank):
        availability = entry.availability(config)
        if availability.problem:
            passed_over.append(f"{entry.name} unavailable: {availability.problem}")
        elif not availability.auto:
            passed_over.append(f"{entry.name} not chosen: {availability.reason}")
        else:
            return entry.name, "; ".join(passed_over) or availability.reason or f"{entry.name} is available"
    raise EngineUnavailableError("no lip-sync engine can run here: " + "; ".join(passed_over))
