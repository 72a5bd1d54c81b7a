"""Many workers behind the LiveKit dispatcher: load comes from avatar sessions vs capacity."""

from __future__ import annotations

import asyncio
from collections import Counter

from livekit import rtc

from support.rooms import agent_participant, wait_for
from support.stack import Worker


async def test_full_workers_take_no_more_jobs_and_a_new_worker_gets_them(
    livekit_server, launch_worker, connect, room_name
) -> None:
    name = "scale"
    workers = [
        launch_worker(f"{name}-a", {"STREAMING_AVATAR_CAPACITY": "2", "STREAMING_AVATAR_AGENT_NAME": name}),
        launch_worker(f"{name}-b", {"STREAMING_AVATAR_CAPACITY": "2", "STREAMING_AVATAR_AGENT_NAME": name}),
    ]
    rooms: list[rtc.Room] = []
    for i in range(4):
        room = await connect(f"{room_name}-{i}")
        rooms.append(room)
        await livekit_server.dispatch(name, f"{room_name}-{i}")
        await wait_for(lambda room=room: agent_participant(room), timeout=30, what=f"agent in room {i}")
        await asyncio.sleep(1.0)  # a worker reports its load every few seconds; give the dispatcher a fresh view

    served_by = Counter(serving_worker(workers, room) for room in rooms)
    assert sorted(served_by.values()) == [2, 2], served_by

    fifth = await connect(f"{room_name}-5")
    await livekit_server.dispatch(name, f"{room_name}-5")
    try:
        await wait_for(lambda: agent_participant(fifth), timeout=5, what="an agent in the fifth room")
        raise AssertionError("a full worker took a fifth job")
    except AssertionError as e:
        if "full worker" in str(e):
            raise

    third = launch_worker(f"{name}-c", {"STREAMING_AVATAR_CAPACITY": "2", "STREAMING_AVATAR_AGENT_NAME": name})
    # Beside four live avatars on two cores, the new worker's first job process has taken 40 s to start.
    try:
        await wait_for(lambda: agent_participant(fifth), timeout=60, what="the waiting dispatch")
        print("the fifth dispatch waited and was served when the third worker registered")
    except AssertionError:
        print("the fifth dispatch was dropped (no worker had room); dispatching again")
        await livekit_server.dispatch(name, f"{room_name}-5")
        await wait_for(lambda: agent_participant(fifth), timeout=90, what="the third worker in the fifth room")
    assert serving_worker([*workers, third], fifth) == third.log_path.name


def serving_worker(workers: list[Worker], room: rtc.Room) -> str:
    """The worker whose log has the job of the agent in `room` (agent identity = agent-<job id>)."""
    agent = agent_participant(room)
    assert agent is not None
    job_id = agent.identity.removeprefix("agent-")
    matches = [w.log_path.name for w in workers if job_id in w.log_text()]
    assert len(matches) == 1, (job_id, matches)
    return matches[0]
