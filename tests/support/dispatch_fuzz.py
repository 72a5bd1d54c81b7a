"""Fuzzed dispatch metadata through real dispatches, as a plain async scenario (tests and bench/reliability.py).

Each case is a room: a user joins, the worker is dispatched with the case's metadata, and the
case passes when the agent joins, publishes its audio and video, and every problem the parser
finds in the metadata is among the room's notices (attribute `streaming_avatar.notices`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from dataclasses import dataclass, field

from livekit import rtc

from agent.metadata import parse_dispatch_metadata
from agent.room_notices import NOTICES_ATTRIBUTE
from livekit.plugins.musetalk import list_pack_ids

from .job_process import log_size, tracebacks
from .metadata_strategies import metadata_cases
from .paths import AVATARS
from .rooms import agent_participant, wait_for
from .stack import LiveKitServer, Worker

MEDIA = {rtc.TrackKind.KIND_AUDIO, rtc.TrackKind.KIND_VIDEO}
JOB_TIMEOUT_S = 90
NOTICE_TIMEOUT_S = 30
"""After the agent published: its notices follow within a second or two once its session started."""


@dataclass
class DispatchCase:
    metadata: str
    problems: list[str]
    """What the parser reports for `metadata`: each must reach the room."""
    started: bool = False
    missing: list[str] = field(default_factory=list)
    """Problems that never appeared among the room's notices."""
    error: str | None = None
    seconds: float = 0.0
    """From the dispatch until the agent published and the notices were complete (or the case gave up)."""

    @property
    def passed(self) -> bool:
        return self.started and not self.missing and self.error is None


@dataclass
class DispatchFuzzResult:
    cases: list[DispatchCase]
    our_tracebacks: list[str]

    @property
    def tried(self) -> int:
        return len(self.cases)

    @property
    def started(self) -> int:
        return sum(case.started for case in self.cases)

    @property
    def failures(self) -> list[DispatchCase]:
        return [case for case in self.cases if not case.passed]


def _notices(agent: rtc.RemoteParticipant) -> list[str]:
    return list(json.loads(agent.attributes.get(NOTICES_ATTRIBUTE, "[]")))


async def dispatch_case(server: LiveKitServer, worker: Worker, room_name: str, case: DispatchCase) -> DispatchCase:
    user = rtc.Room()
    await user.connect(server.url, server.token(room_name, "user"), options=rtc.RoomOptions(auto_subscribe=False))
    started_at = time.monotonic()
    try:
        await server.dispatch(worker.agent_name, room_name, case.metadata)
        agent = await wait_for(lambda: agent_participant(user), timeout=JOB_TIMEOUT_S, what="agent participant")
        await wait_for(
            lambda: {p.kind for p in agent.track_publications.values()} >= MEDIA,
            timeout=JOB_TIMEOUT_S,
            what="the agent's audio and video",
        )
        case.started = True
        with contextlib.suppress(AssertionError):  # what is missing then is reported below
            await wait_for(lambda: set(case.problems) <= set(_notices(agent)), timeout=NOTICE_TIMEOUT_S, what="notices")
        case.missing = [p for p in case.problems if p not in _notices(agent)]
    except AssertionError as e:
        case.error = str(e)
    finally:
        case.seconds = time.monotonic() - started_at
        await user.disconnect()
    return case


async def run_dispatch_fuzz(
    server: LiveKitServer, worker: Worker, *, count: int, concurrency: int = 2, seed: int = 15
) -> DispatchFuzzResult:
    """`count` fuzzed metadata cases (the same ones every run for a given seed), `concurrency` rooms at a time.

    Keep `concurrency` at most the worker's idle processes (2 in tests): LiveKit Agents 1.8.9 counts
    each accepted-but-not-launched job of a worker with no running job as threshold / idle processes
    of load, so a burst of more dispatches than that makes the worker answer "not available", and
    livekit-server, with no other worker, drops the dispatch (1 in 50 rooms at concurrency 3).
    """
    known = frozenset(list_pack_ids([AVATARS]))
    cases = [
        DispatchCase(raw, parse_dispatch_metadata(raw, known_avatars=set(known)).problems)
        for raw in metadata_cases(count, seed=seed, known_avatars=known)
    ]
    log_start = log_size(worker)
    slots = asyncio.Semaphore(concurrency)
    prefix = f"dispatch-fuzz-{secrets.token_hex(3)}"

    async def one(i: int, case: DispatchCase) -> DispatchCase:
        async with slots:
            return await dispatch_case(server, worker, f"{prefix}-{i}", case)

    done = await asyncio.gather(*(one(i, case) for i, case in enumerate(cases)))
    return DispatchFuzzResult(list(done), tracebacks(worker, start=log_start).ours)
