"""What a typed message (`lk.chat`) must be before it becomes a user turn.

LiveKit's RoomIO hands every chat message of the linked participant to the
session, which interrupts the avatar and starts a reply. Unchecked, a 1 MB
message becomes a reply the offline voice speaks for hours, and 200 messages a
second become 200 interruptions and replies. A message is dropped, with a
reason in the log and (at most once per `NOTICE_INTERVAL_S` per participant
and reason) a room notice, when it is:

- longer than `MAX_CHAT_BYTES` (UTF-8);
- not text: control characters other than tab and newlines, or U+FFFD (bytes
  that were not UTF-8);
- over the rate: each participant has a bucket of `CHAT_BURST` messages that
  refills at `CHAT_RATE_PER_S`.

Empty and blank messages are dropped silently. docs/room-protocol.md lists the limits.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from livekit.agents import AgentSession, room_io

logger = logging.getLogger("streaming-avatar")

MAX_CHAT_BYTES = 4096
CHAT_BURST = 5
CHAT_RATE_PER_S = 1.0
NOTICE_INTERVAL_S = 30.0

_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_FORWARD = room_io.TextInputOptions().text_input_cb
"""LiveKit's own handling of an accepted message: interrupt, then reply."""

TextInputResult = Coroutine[None, None, None] | None


@dataclass
class _Bucket:
    tokens: float
    updated: float


class ChatGuard:
    """A RoomIO `text_input_cb` that forwards only messages within the limits above."""

    def __init__(self, notify: Callable[[str], None], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._notify = notify
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._last_notice: dict[tuple[str, str], float] = {}

    def __call__(self, session: AgentSession[Any], event: room_io.TextInputEvent) -> TextInputResult:
        identity = event.participant.identity if event.participant is not None else ""
        if not event.text.strip():
            return None
        problem = self.check(identity, event.text)
        if problem is None:
            return _FORWARD(session, event)
        reason, notice = problem
        logger.warning("chat message ignored: %s", notice, extra={"participant": identity, "reason": reason})
        self._notify_once(identity, reason, notice)
        return None

    def check(self, identity: str, text: str) -> tuple[str, str] | None:
        """(reason, readable notice) if the message must be dropped; None if it may become a turn."""
        size = len(text.encode("utf-8", errors="replace"))
        if size > MAX_CHAT_BYTES:
            return "too_large", (
                f"a chat message from {identity} was ignored: {size} bytes, the limit is {MAX_CHAT_BYTES}"
            )
        if _NOT_TEXT.search(text):
            return "not_text", f"a chat message from {identity} was ignored: it is not text"
        if not self._take_token(identity):
            return "rate", (
                f"chat messages from {identity} are arriving too fast and some were ignored: "
                f"the limit is {CHAT_BURST} at once, then {CHAT_RATE_PER_S:g} per second"
            )
        return None

    def _take_token(self, identity: str) -> bool:
        now = self._clock()
        bucket = self._buckets.setdefault(identity, _Bucket(CHAT_BURST, now))
        bucket.tokens = min(CHAT_BURST, bucket.tokens + (now - bucket.updated) * CHAT_RATE_PER_S)
        bucket.updated = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def _notify_once(self, identity: str, reason: str, notice: str) -> None:
        now = self._clock()
        last = self._last_notice.get((identity, reason))
        if last is not None and now - last < NOTICE_INTERVAL_S:
            return
        self._last_notice[(identity, reason)] = now
        self._notify(notice)
