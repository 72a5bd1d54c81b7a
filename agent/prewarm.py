"""What a worker's idle job process does before its first job, beyond loading the models.

A job's start is what a user waits for after pressing Start (docs/web.md, Latency), so an idle
process takes every cost it can off that path (`warm_avatar`: the default pack's prepared
cache read, a frame rendered and encoded) and keeps out of the way of a job that is starting
(`wait_for_calm_cpu`): the process pool spawns a replacement the moment a job takes an idle
process, and its ~1 s of warm-up on a small machine competed with exactly that job's start.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from livekit.plugins import musetalk

from .config import WorkerSettings

logger = logging.getLogger("streaming-avatar")

CALM_CPU_MAX_WAIT_S = 2.0
"""At most this long a warm-up waits for the CPU: a burst of sessions still gets new processes soon."""
CALM_CPU_CHECK_S = 0.05
CALM_CPU_CHECKS = 3
"""The CPU counts as calm after this many checks in a row with no more runnable tasks than cores."""


def runnable_tasks(loadavg: Path = Path("/proc/loadavg")) -> int | None:
    """Tasks running or ready to run right now (this one included), or None where Linux does not say."""
    try:
        return int(loadavg.read_text().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return None


def wait_for_calm_cpu(
    max_wait_s: float = CALM_CPU_MAX_WAIT_S, *, read: object = runnable_tasks, cores: int | None = None
) -> float:
    """Sleep until no more tasks are runnable than there are cores (checked CALM_CPU_CHECKS times in a
    row), at most `max_wait_s`; the seconds waited."""
    cores = cores or os.cpu_count() or 1
    started = time.monotonic()
    calm = 0
    while calm < CALM_CPU_CHECKS and time.monotonic() - started < max_wait_s:
        running = read()  # type: ignore[operator]
        if running is None:
            break
        calm = calm + 1 if running <= cores else 0
        if calm < CALM_CPU_CHECKS:
            time.sleep(CALM_CPU_CHECK_S)
    return time.monotonic() - started


def warm_avatar(settings: WorkerSettings) -> None:
    """The default avatar's start once, so a job's start finds it warm; a failure only costs the warm-up."""
    try:
        took = musetalk.prewarm_avatar(settings.avatar_options(musetalk.DEFAULT_AVATAR))
    except Exception as e:  # the job reports a broken pack or encoder itself, with its fallbacks
        logger.warning("avatar warm-up failed: %s", e)
        return
    logger.info("avatar warmed up", extra={"ms": round(1000 * took)})
