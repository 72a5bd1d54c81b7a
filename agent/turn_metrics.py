"""One log line per reply with where its latency went (LiveKit's per-turn metrics).

`bench/pipeline_latency.py` reads `vad_end_at` from these lines: the moment the
worker's VAD declared the end of the user's speech, which is where the reply's
pipeline latency starts.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from livekit.agents import AgentSession, ConversationItemAddedEvent, UserStateChangedEvent
from livekit.agents.llm import ChatMessage

logger = logging.getLogger("streaming-avatar")

TURN_LOG_MESSAGE = "turn latency"


class TurnLatencyLog:
    def __init__(self, session: AgentSession[Any]) -> None:
        self._vad_end_at: float | None = None
        self._user_metrics: dict[str, object] = {}
        session.on("user_state_changed", self._on_user_state)
        session.on("conversation_item_added", self._on_item)

    def _on_user_state(self, ev: UserStateChangedEvent) -> None:
        # Emitted as the VAD reports the end of speech; ev.created_at is backdated to the last speech.
        if ev.old_state == "speaking" and ev.new_state == "listening":
            self._vad_end_at = time.time()

    def _on_item(self, ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if not isinstance(item, ChatMessage):
            return
        if item.role == "user":
            self._user_metrics = dict(item.metrics)
        elif item.role == "assistant" and self._vad_end_at is not None:
            reply = dict(item.metrics)
            logger.info(
                TURN_LOG_MESSAGE,
                extra={
                    "vad_end_at": self._vad_end_at,
                    "speaking_started_at": reply.get("started_speaking_at"),
                    **{k: v for k, v in self._user_metrics.items() if k.endswith("_delay")},
                    **{k: v for k, v in reply.items() if k.startswith(("llm_", "tts_", "e2e"))},
                },
            )
            self._vad_end_at = None
