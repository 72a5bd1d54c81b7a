"""The per-reply `turn latency` log line that operators and bench/pipeline_latency.py read."""

from __future__ import annotations

import logging
import time

import pytest
from livekit.agents import AgentSession, ConversationItemAddedEvent, UserStateChangedEvent
from livekit.agents.llm import ChatMessage

from agent.turn_metrics import TURN_LOG_MESSAGE, TurnLatencyLog


def test_one_line_per_reply_with_the_vad_end_and_livekit_metrics(caplog: pytest.LogCaptureFixture) -> None:
    session = AgentSession()
    TurnLatencyLog(session)
    caplog.set_level(logging.INFO, logger="streaming-avatar")

    before = time.time()
    session.emit(
        "user_state_changed", UserStateChangedEvent(old_state="speaking", new_state="listening", created_at=1.0)
    )
    after = time.time()
    user = ChatMessage(role="user", content=["hello"], metrics={"end_of_turn_delay": 0.6, "transcription_delay": 0.58})
    session.emit("conversation_item_added", ConversationItemAddedEvent(item=user))
    reply = ChatMessage(
        role="assistant", content=["hi"], metrics={"started_speaking_at": after + 0.1, "llm_node_ttft": 0.01}
    )
    session.emit("conversation_item_added", ConversationItemAddedEvent(item=reply))
    session.emit("conversation_item_added", ConversationItemAddedEvent(item=reply))  # no new user turn: no line

    [record] = [r for r in caplog.records if r.getMessage() == TURN_LOG_MESSAGE]
    # The moment the VAD reported the end, not the event's created_at (backdated to the last speech).
    assert before <= record.vad_end_at <= after
    assert record.end_of_turn_delay == 0.6 and record.transcription_delay == 0.58
    assert record.llm_node_ttft == 0.01 and record.speaking_started_at == after + 0.1
