"""What the renderer's mouth does in one frame."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MouthShape:
    """open: jaw opening 0..1; wide: lip spread 0..1; round: lip rounding 0..1."""

    open: float = 0.0
    wide: float = 0.0
    round: float = 0.0

    @property
    def closed(self) -> bool:
        return self.open == 0.0


CLOSED = MouthShape()
