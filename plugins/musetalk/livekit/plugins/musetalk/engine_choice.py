"""Which lip-sync engine a session gets. Engines load once per process and are shared."""

from __future__ import annotations

import threading
from typing import Literal

from .engines.base import LipSyncEngine
from .engines.cpu import CpuEngine
from .errors import EngineUnavailableError

EngineChoice = Literal["auto", "cpu", "musetalk"]

_engines: dict[str, LipSyncEngine] = {}
_lock = threading.Lock()


def resolve_engine(choice: EngineChoice) -> tuple[LipSyncEngine, str]:
    """The engine to use and why. Raises EngineUnavailableError when an explicit choice cannot run."""
    if choice == "musetalk":
        raise EngineUnavailableError(
            "the MuseTalk engine is not part of this build yet; use engine='cpu' or 'auto'"
        )
    with _lock:
        engine = _engines.setdefault("cpu", CpuEngine())
    reason = "requested" if choice == "cpu" else "auto: the CPU engine is the embedded default"
    return engine, reason
