"""Give freed memory back to the OS once a worker process has no session left.

Native code (WebRTC, codecs) frees its memory to glibc, which keeps much of it in
its arenas. glibc's `malloc_trim(0)` returns it: a thread-executor worker, where
every job runs in the one process, grew 108 MB over 20 sessions without it and
86 MB with it (tests/integration/test_lifecycle.py). It runs only when no session
is left, a few seconds after the last one ended (its threads and peer connection
are gone by then), because it holds the allocator's locks while it works.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from collections.abc import Callable

from livekit.agents import JobContext

logger = logging.getLogger("streaming-avatar")

TRIM_DELAY_S = 5.0

_lock = threading.Lock()
_active_sessions = 0


def _find_malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None on another C library (nothing to trim there)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
    except (OSError, AttributeError):
        return None


_malloc_trim = _find_malloc_trim()


def track_session(ctx: JobContext) -> None:
    """Count this job as a running session until it shuts down; then trim if it was the last."""
    global _active_sessions
    with _lock:
        _active_sessions += 1

    async def session_ended() -> None:
        global _active_sessions
        with _lock:
            _active_sessions -= 1
        if _malloc_trim is not None:
            timer = threading.Timer(TRIM_DELAY_S, _trim_if_idle)
            timer.daemon = True
            timer.start()

    ctx.add_shutdown_callback(session_ended)


def _trim_if_idle() -> None:
    with _lock:
        if _active_sessions or _malloc_trim is None:
            return
        _malloc_trim(0)
    logger.debug("no session left: freed memory returned to the OS")
