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
