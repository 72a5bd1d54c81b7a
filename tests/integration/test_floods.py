"""Floods and bad input from room participants (issue 15, item 6), against the real server and worker.

One room for the module: the real user, a hostile second participant and the agent. Each test
injects one flood (tests/support/floods.py), then the user types a question. After every flood the
agent answers it, its job process is alive with bounded memory, our code logged no traceback, and the
flood itself started no more replies than the chat limits allow.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest

from agent.chat_guard import CHAT_BURST, CHAT_RATE_PER_S
from support.floods import FLOODS, FloodRoom, close_flood_room, open_flood_room, run_flood

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
