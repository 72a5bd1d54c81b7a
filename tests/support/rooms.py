"""Small helpers for tests that join rooms as LiveKit participants."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from livekit import rtc

T = TypeVar("T")


async def wait_for(predicate: Callable[[], T], timeout: float = 20, interval: float = 0.05, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def agent_participant(room: rtc.Room) -> rtc.RemoteParticipant | None:
    for p in room.remote_participants.values():
        if p.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            return p
    return None
