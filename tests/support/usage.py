"""What a worker holds: threads, file descriptors, child processes (job processes) and memory."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import psutil

from .stack import Worker

COUNTED = ("threads", "fds", "children")


@dataclass(frozen=True)
class Usage:
    threads: int
    fds: int
    children: int
    rss: int

    def leaks_from(self, baseline: Usage) -> dict[str, int]:
        """What is above `baseline`, by count (empty when nothing is)."""
        excess = {name: getattr(self, name) - getattr(baseline, name) for name in COUNTED}
        return {name: n for name, n in excess.items() if n > 0}


def usage(worker: Worker) -> Usage:
    proc = psutil.Process(worker.process.pid)
    return Usage(proc.num_threads(), proc.num_fds(), len(proc.children(recursive=True)), proc.memory_info().rss)


async def settled(worker: Worker, baseline: Usage, timeout: float = 20) -> Usage:
    """The worker's usage once it is back to `baseline`, or after `timeout` s (closing jobs free things late)."""
    deadline = time.monotonic() + timeout
    while True:
        now = usage(worker)
        if not now.leaks_from(baseline) or time.monotonic() > deadline:
            return now
        await asyncio.sleep(0.5)


@dataclass
class Footprint:
    """A worker's usage before a scenario, and after it once settled: what the scenario left behind."""

    baseline: Usage
    after: Usage | None = None

    @classmethod
    def of(cls, worker: Worker) -> Footprint:
        return cls(usage(worker))

    async def settle(self, worker: Worker, timeout: float) -> None:
        self.after = await settled(worker, self.baseline, timeout)

    @property
    def leaks(self) -> dict[str, int]:
        return self.after.leaks_from(self.baseline) if self.after is not None else {}
