"""Start a session and talk to it: the steps the fault scenarios share (plain functions, no pytest)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from livekit import api, rtc

from .job_process import log_records
from .rooms import agent_participant, wait_for
from .soak import EN
from .stack import LiveKitServer, Worker
from .voice_client import AgentObserver


async def join(server: LiveKitServer, room_name: str, identity: str = "user") -> rtc.Room:
    room = rtc.Room()
    await room.connect(server.url, server.token(room_name, identity))
    return room


async def summon(server: LiveKitServer, agent_name: str, room: rtc.Room, timeout: float) -> rtc.RemoteParticipant:
    """Dispatch the agent to `room`; returns it once it is listening. Record its tracks before: they may
    be subscribed by then."""
    await server.dispatch(agent_name, room.name, EN)
    agent = await wait_for(lambda: agent_participant(room), timeout=timeout, what=f"the agent in {room.name}")
    await wait_for(
        lambda: agent.attributes.get("lk.agent.state") == "listening", timeout=timeout, what="the agent listening"
    )
    return agent


async def serve(
    server: LiveKitServer, agent_name: str, room_name: str, timeout: float
) -> tuple[rtc.Room, rtc.RemoteParticipant]:
    """A user joins `room_name` and dispatches the agent; returns once the agent is listening."""
    room = await join(server, room_name)
    return room, await summon(server, agent_name, room, timeout)


async def reply_to(observer: AgentObserver, agent: rtc.Participant, text: str, timeout: float) -> float:
    """Type `text` on lk.chat; seconds until the agent's transcript of its reply (which quotes it) is complete."""
    sent_at = time.monotonic()
    await observer.room.local_participant.send_text(text, topic="lk.chat")
    await wait_for(
        lambda: any(
            t.identity == agent.identity and text in t.text and t.finished_at is not None for t in observer.transcripts
        ),
        timeout=timeout,
        what=f"the reply to {text!r}",
    )
    return time.monotonic() - sent_at


def job_of(worker: Worker, room_name: str) -> str | None:
    """The id of the job `worker` received for `room_name` (from its log), if any."""
    return next(
        (
            str(r["job_id"])
            for r in log_records(worker)
            if r.get("message") == "received job request" and r.get("room") == room_name
        ),
        None,
    )


def job_end_reason(worker: Worker, room_name: str) -> str | None:
    """Why the job of `room_name` ended, as its process logged when exiting ("agent session closed: …" when
    the session ended itself, "parent process shutdown" when it was ended from outside); None while it runs."""
    return next(
        (
            str(r["reason"])
            for r in log_records(worker)
            if r.get("message") == "process exiting" and r.get("room") == room_name
        ),
        None,
    )


async def participants(server: LiveKitServer, room_name: str) -> list[api.ParticipantInfo]:
    async with server.api() as lkapi:
        listed = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room_name))
    return list(listed.participants)


async def poll(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> float:
    """Seconds until the async `check()` is true; AssertionError after `timeout`."""
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.2)
    return time.monotonic() - start
