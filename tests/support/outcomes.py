"""What a fault scenario reports: the notices the room got and why the fault was not survived, if it was not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .rooms import wait_for


@dataclass
class FaultOutcome:
    name: str
    notices: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Why the fault was not survived; empty when it was."""

    @property
    def survived(self) -> bool:
        return not self.problems

    async def expect(self, what: str, condition: Callable[[], object], timeout: float = 20) -> bool:
        """Wait for `condition`; if it does not come, that is a problem of this outcome (not an exception)."""
        try:
            await wait_for(condition, timeout=timeout, what=what)
        except AssertionError as e:
            self.problems.append(str(e))
            return False
        return True
