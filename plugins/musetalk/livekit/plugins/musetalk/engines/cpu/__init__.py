"""The real-time CPU engine: animates a prepared portrait (mouth, jaw, blinks, head sway) with no model."""

from .engine import ENGINE_NAME, ENGINE_VERSION, CpuEngine, PreparedPortrait
from .mouth_driver import MouthShape
from .renderer import FacePose
from .session import CpuSession, Liveliness

__all__ = [
    "ENGINE_NAME",
    "ENGINE_VERSION",
    "CpuEngine",
    "CpuSession",
    "FacePose",
    "Liveliness",
    "MouthShape",
    "PreparedPortrait",
]
