from __future__ import annotations

from typing import Any, cast

import pytest
from livekit.agents import AgentSession
from livekit.agents.voice.room_io import TextInputEvent

from agent.chat_guard import CHAT_BURST, CHAT_RATE_PER_S, MAX_CHAT_BYTES, NOTICE_INTERVAL_S, ChatGuard

NO_SESSION = cast(AgentSession[Any], None)
"""Dropped messages never reach the session."""


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def notices() -> list[str]:
    return []


@pytest.fixture
def guard(clock: Clock, notices: list[str]) -> ChatGuard:
    return ChatGuard(notices.append, clock=clock)


def test_plain_messages_pass(guard: ChatGuard) -> None:
    assert guard.check("user", "what is the weather") is None
    assert guard.check("user", "ä" * (MAX_CHAT_BYTES // 2)) is None
    assert guard.check("user", "line one\nline two\ttabbed\r\n") is None


def test_a_message_over_the_byte_limit_is_dropped(guard: ChatGuard) -> None:
    problem = guard.check("user", "ä" * (MAX_CHAT_BYTES // 2 + 1))
    assert problem is not None and problem[0] == "too_large"
    assert f"{MAX_CHAT_BYTES + 2} bytes" in problem[1] and "user" in problem[1]


@pytest.mark.parametrize("text", ["nul\x00byte", "bell\x07", "escape\x1b[2J", "bad utf-8 \ufffd", "del\x7f"])
def test_control_characters_are_not_text(guard: ChatGuard, text: str) -> None:
    problem = guard.check("user", text)
    assert problem is not None and problem[0] == "not_text"
    assert text not in problem[1], "a notice never repeats what was sent"


def test_a_burst_then_the_refill_rate(guard: ChatGuard, clock: Clock) -> None:
    assert all(guard.check("user", f"m{i}") is None for i in range(CHAT_BURST))
    problem = guard.check("user", "one too many")
    assert problem is not None and problem[0] == "rate"
    assert guard.check("other", "someone else has their own bucket") is None
    clock.now += 1 / CHAT_RATE_PER_S
    assert guard.check("user", "after a pause") is None
    assert guard.check("user", "but not two") is not None


def test_a_flood_gets_one_notice_per_interval(guard: ChatGuard, clock: Clock, notices: list[str]) -> None:
    event = TextInputEvent(text="x" * (MAX_CHAT_BYTES + 1))
    for _ in range(50):
        assert guard(NO_SESSION, event) is None
    assert len(notices) == 1
    clock.now += NOTICE_INTERVAL_S
    guard(NO_SESSION, event)
    assert len(notices) == 2


def test_blank_messages_are_dropped_silently(guard: ChatGuard, notices: list[str]) -> None:
    assert guard(NO_SESSION, TextInputEvent(text="  \n ")) is None
    assert notices == []
