"""Floods and bad input from room participants (issue 15, item 6), against the real server and worker.

One room for the module: the real user, a hostile second participant and the agent. Each test
injects one flood (tests/support/floods.py), then the user types a question. After every flood the
agent answers it, its job process is alive with bounded memory, our code logged no traceback, and the
flood itself started no more replies than the chat limits allow.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from livekit import rtc

from agent.chat_guard import CHAT_BURST, CHAT_RATE_PER_S
from support.floods import FLOODS, FloodRoom, close_flood_room, open_flood_room, run_flood
from support.job_process import job_process, log_size, tracebacks
from support.rooms import avatar_of, wait_for
from support.stack import Worker

MAX_RSS_GROWTH_MB = 64
"""A flood may cost some memory (1 MB messages are read whole), never a backlog that grows with it."""
CHAT_FLOOD_S = 3


@pytest.fixture(scope="module")
async def flood_room(livekit_server, worker) -> AsyncIterator[FloodRoom]:
    room = await open_flood_room(livekit_server, worker, f"floods-{secrets.token_hex(3)}")
    yield room
    await close_flood_room(room)


def allowed_replies(flood: str) -> int:
    if flood == "chat_200_per_s_user":
        return CHAT_BURST + int(CHAT_FLOOD_S * CHAT_RATE_PER_S) + 1
    if flood == "interrupt_100_per_s_hostile":
        return 1  # the user's own long question, interrupted
    return 0


@pytest.mark.parametrize("flood", list(FLOODS))
async def test_agent_survives_flood_and_keeps_answering(flood_room: FloodRoom, flood: str) -> None:
    outcome = await run_flood(flood_room, flood)
    print(outcome)

    assert outcome.job_alive, "the job process or the worker died"
    assert outcome.answered_after, "the agent did not answer the user's question after the flood"
    assert not outcome.our_tracebacks, outcome.our_tracebacks[0]
    assert outcome.rss_after_mb - outcome.rss_before_mb < MAX_RSS_GROWTH_MB, outcome
    assert outcome.agent_replies <= allowed_replies(flood), f"{outcome.agent_replies} replies to the flood"
    assert outcome.answers_to_hostile == 0, "the hostile participant got answers on lk.agent.session"
    if flood in ("chat_1mb_user", "chat_200_per_s_user"):
        assert outcome.notices, "the user should be told why messages were ignored"


@pytest.fixture(scope="module")
def remote_workers(launch_worker) -> tuple[Worker, Worker]:
    """A voice worker in remote mode and its render worker."""
    render_agent_name = f"streaming-avatar-render-floods-{secrets.token_hex(3)}"
    voice = launch_worker(
        "floods-voice",
        {"STREAMING_AVATAR_AVATAR_MODE": "remote", "STREAMING_AVATAR_RENDER_AGENT_NAME": render_agent_name},
    )
    render = launch_worker(
        "floods-render", {"STREAMING_AVATAR_ROLE": "render", "STREAMING_AVATAR_RENDER_AGENT_NAME": render_agent_name}
    )
    return voice, render


async def test_remote_avatar_ignores_its_protocol_from_others(
    livekit_server, remote_workers: tuple[Worker, Worker]
) -> None:
    """In remote mode the avatar protocol is live (the render worker's participant takes `lk.audio_stream`
    and `lk.clear_buffer`, the agent `lk.playback_*`): spoken by anyone else it changes nothing."""
    voice, render = remote_workers
    room = await open_flood_room(livekit_server, voice, f"floods-remote-{secrets.token_hex(3)}")
    try:
        avatar = await wait_for(
            lambda: avatar_of(room.user, room.agent.identity),
            timeout=60,
            what="the render worker's avatar participant",
        )
        render_job = await asyncio.to_thread(job_process, render, room.name)
        for flood in ("avatar_protocol_hostile", "avatar_protocol_user"):
            render_log_start = log_size(render)
            outcome = await run_flood(room, flood)
            print(outcome)
            assert outcome.survived, outcome
            assert outcome.agent_replies == 0 and outcome.answers_to_hostile == 0, outcome
            assert avatar.identity in room.user.remote_participants, f"the avatar left after {flood}"
            assert render_job.is_running(), f"the render job died of {flood}"
            assert not tracebacks(render, pid=render_job.pid, start=render_log_start).ours
            kinds = {p.kind for p in avatar.track_publications.values()}
            assert kinds == {rtc.TrackKind.KIND_AUDIO, rtc.TrackKind.KIND_VIDEO}, f"no avatar media after {flood}"
    finally:
        await close_flood_room(room)
