"""Tell room participants about problems with their session (bad metadata, fallbacks).

Two channels, both documented in the README:
- the agent participant's attribute `streaming_avatar.notices` (JSON list of
  strings; late joiners see it too);
- a text stream on topic `streaming-avatar.notice`, one message per problem.
"""

from __future__ import annotations

import json

from livekit import rtc

NOTICES_ATTRIBUTE = "streaming_avatar.notices"
NOTICE_TOPIC = "streaming-avatar.notice"


async def publish_notices(room: rtc.Room, notices: list[str]) -> None:
    if not notices:
        return
    participant = room.local_participant
    await participant.set_attributes({NOTICES_ATTRIBUTE: json.dumps(notices, ensure_ascii=False)})
    for notice in notices:
        await participant.send_text(notice, topic=NOTICE_TOPIC)
