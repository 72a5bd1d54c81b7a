"""Tell room participants about problems with their session (bad metadata, fallbacks).

Two channels, both documented in docs/room-protocol.md:
- the agent participant's attribute `streaming_avatar.notices` (JSON list of
  strings, every notice of the session so far; late joiners see it too);
- a text stream on topic `streaming-avatar.notice`, one message per problem.
"""

from __future__ import annotations

import asyncio
import json
import logging

from livekit import rtc

logger = logging.getLogger("streaming-avatar")

NOTICES_ATTRIBUTE = "streaming_avatar.notices"
NOTICE_TOPIC = "streaming-avatar.notice"


class NoticeBoard:
    """One room's notices, published in the order they come."""

    def __init__(self, room: rtc.Room) -> None:
        self._room = room
        self._notices: list[str] = []
        self._lock = asyncio.Lock()
        self._posting: set[asyncio.Task[None]] = set()

    async def publish(self, notices: list[str]) -> None:
        if not notices:
            return
        async with self._lock:
            self._notices += notices
            participant = self._room.local_participant
            await participant.set_attributes({NOTICES_ATTRIBUTE: json.dumps(self._notices, ensure_ascii=False)})
            for notice in notices:
                await participant.send_text(notice, topic=NOTICE_TOPIC)

    def post(self, notice: str) -> None:
        """publish() from a synchronous event handler; a room that is gone by then only gets a log line."""
        task = asyncio.create_task(self.publish([notice]))
        self._posting.add(task)
        task.add_done_callback(self._posted)

    def _posted(self, task: asyncio.Task[None]) -> None:
        self._posting.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("could not publish a notice to the room: %s", task.exception())
