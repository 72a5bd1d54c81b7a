"""The real-time CPU engine: animates a prepared portrait (mouth, jaw, blinks, head sway) with no model."""

from ..registry import EngineConfig, EngineEntry
from .engine import ENGINE_NAME, ENGINE_VERSION, CpuEngine, PreparedPortrait
from .mouth_shape import MouthShape
from .renderer import FacePose
from .session import CpuSession, Liveliness


def _load(config: EngineConfig) -> CpuEngine:
    return CpuEngine()


ENGINE = EngineEntry(name=ENGINE_NAME, load=_load)

__all__ = [
    "ENGINE",
    "ENGINE_NAME",
    "ENGINE_VERSION",
    "CpuEngine",
    "CpuSession",
    "FacePose",
    "Liveliness",
    "MouthShape",
    "PreparedPortrait",
]
