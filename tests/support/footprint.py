"""What a fault scenario left behind in a worker: its usage (support.soak.usage) before, and after once settled."""

from __future__ import annotations

from dataclasses import dataclass

from .soak import settled_usage, usage
from .stack import Worker

COUNTED = ("threads", "fds", "children")


@dataclass
class Footprint:
    baseline: dict[str, int]
    after: dict[str, int] | None = None

    @classmethod
    def of(cls, worker: Worker) -> Footprint:
        return cls(usage(worker))

    async def settle(self, worker: Worker, timeout: float) -> None:
        self.after = await settled_usage(worker, self.baseline, timeout)

    @property
    def leaks(self) -> dict[str, int]:
        """Threads, fds and child processes above the baseline, by count (empty when nothing is)."""
        if self.after is None:
            return {}
        excess = {name: self.after[name] - self.baseline[name] for name in COUNTED}
        return {name: n for name, n in excess.items() if n > 0}
