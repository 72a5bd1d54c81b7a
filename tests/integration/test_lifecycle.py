"""Worker lifecycle: graceful drain on SIGTERM, and nothing leaks across many sessions."""

from __future__ import annotations

import asyncio
import signal
import time

from livekit import api, rtc

from agent.memory import TRIM_DELAY_S
from support.rooms import agent_participant, record_agent, wait_for
from support.stack import LiveKitServer, Worker
from support.usage import settled, usage

EN = '{"language": "en"}'


async def test_sigterm_drains_then_exits(livekit_server, launch_worker, connect, room_name) -> None:
    worker = launch_worker("drain", {"STREAMING_AVATAR_DRAIN_TIMEOUT": "60"})
    room = await connect(f"{room_name}-active")
    transcripts: list[str] = []
    room.register_text_stream_handler(
        "lk.transcription",
        lambda reader, _who: asyncio.create_task(reader.read_all()).add_done_callback(
            lambda t: transcripts.append(t.result())
        ),
    )
    await livekit_server.dispatch(worker.agent_name, f"{room_name}-active", EN)
    agent = await wait_for(lambda: agent_participant(room), what="agent")
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", what="listening")

    worker.process.send_signal(signal.SIGTERM)
    await wait_for(lambda: "draining worker" in worker.log_text(), what="drain to start")

    newcomer = await connect(f"{room_name}-new")
    await livekit_server.dispatch(worker.agent_name, f"{room_name}-new", EN)
    await asyncio.sleep(4)
    assert agent_participant(newcomer) is None, "a draining worker took a new job"

    await room.local_participant.send_text("are you still there", topic="lk.chat")
    await wait_for(lambda: any("still there" in t for t in transcripts), timeout=30, what="reply during drain")
    assert worker.process.poll() is None, "the worker must not exit while a session is active"

    await room.disconnect()
    deadline = time.monotonic() + 45
    while worker.process.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert worker.process.returncode == 0, f"worker exit code {worker.process.returncode}"


async def one_session(server: LiveKitServer, worker: Worker, room_name: str) -> None:
    room = rtc.Room()
    await room.connect(server.url, server.token(room_name, "user"))
    media = record_agent(room)
    await server.dispatch(worker.agent_name, room_name, EN)
    await wait_for(lambda: len(media.video) >= 5, timeout=30, what="avatar frames")
    media.stop()
    await room.disconnect()
    async with server.api() as lkapi:

        async def agent_gone() -> bool:
            rooms = await lkapi.room.list_rooms(api.ListRoomsRequest(names=[room_name]))
            return not rooms.rooms or rooms.rooms[0].num_participants == 0

        deadline = time.monotonic() + 30
        while not await agent_gone():
            assert time.monotonic() < deadline, "the job did not end after the room emptied"
            await asyncio.sleep(0.2)


async def test_twenty_sessions_leak_nothing(livekit_server, launch_worker, room_name) -> None:
    """Jobs run as threads of the worker process (the GPU setup), so a leak would pile up there.
    RSS is read once the worker has been idle long enough to give freed memory back (agent/memory.py)."""
    worker = launch_worker("leaks", {"STREAMING_AVATAR_JOB_EXECUTOR": "thread"})
    await one_session(livekit_server, worker, f"{room_name}-warmup")
    await asyncio.sleep(TRIM_DELAY_S + 2)
    before = usage(worker)
    for i in range(20):
        await one_session(livekit_server, worker, f"{room_name}-{i}")

    after = await settled(worker, before)
    await asyncio.sleep(TRIM_DELAY_S + 2)
    rss = usage(worker).rss
    print(f"worker RSS {before.rss / 2**20:.0f} MB -> {rss / 2**20:.0f} MB after 20 sessions")
    assert not after.leaks_from(before), (before, after)
