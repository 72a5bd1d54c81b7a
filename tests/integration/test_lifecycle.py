"""Worker lifecycle: graceful drain on SIGTERM, and nothing leaks across many sessions."""

from __future__ import annotations

import asyncio
import signal
import time

from agent.memory import TRIM_DELAY_S
from support.rooms import agent_participant, wait_for
from support.soak import sequential_sessions

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


async def test_twenty_sessions_leak_nothing(livekit_server, launch_worker, room_name) -> None:
    """Jobs run as threads of the worker process (the GPU setup), so a leak would pile up there.
    RSS is read once the worker has been idle long enough to give freed memory back (agent/memory.py)."""
    worker = launch_worker("leaks", {"STREAMING_AVATAR_JOB_EXECUTOR": "thread"})
    outcome = await sequential_sessions(livekit_server, worker, room_name, 20, warmup=1, idle_s=TRIM_DELAY_S + 2)
    print(f"worker RSS {outcome.baseline['rss'] / 2**20:.0f} MB -> {outcome.after['rss'] / 2**20:.0f} MB")
    for what in ("threads", "fds", "children"):
        assert outcome.leaked(what) == 0, (what, outcome)
