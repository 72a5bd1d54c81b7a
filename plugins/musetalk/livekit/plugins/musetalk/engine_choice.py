"""Which lip-sync engine a session gets. Engines load once per process and are shared."""

from __future__ import annotations

import threading
from pathlib import Path

from .engines.base import LipSyncEngine
from .engines.cpu import CpuEngine
from .engines.musetalk.select import RequestedEngine, select_engine

EngineChoice = RequestedEngine

_cpu_engine: CpuEngine | None = None
_lock = threading.Lock()


def resolve_engine(choice: EngineChoice, *, models_dir: Path | None = None) -> tuple[LipSyncEngine, str]:
    """The engine to use and why. Raises EngineUnavailableError when an explicit choice cannot run."""
    name, reason = select_engine(choice, models_dir=models_dir)
    if name == "musetalk":
        from .engines.musetalk.engine import shared_engine  # imports torch: only when MuseTalk is used

        return shared_engine(models_dir), reason
    global _cpu_engine
    with _lock:
        if _cpu_engine is None:
            _cpu_engine = CpuEngine()
        return _cpu_engine, reason


def prewarm_engine(choice: EngineChoice, *, models_dir: Path | None = None) -> str:
    """Load the engine a worker will use before its first job (MuseTalk: weights + a warm-up pass)."""
    engine, reason = resolve_engine(choice, models_dir=models_dir)
    if engine.name == "musetalk":
        engine.warm_up()  # type: ignore[attr-defined]
    return reason
