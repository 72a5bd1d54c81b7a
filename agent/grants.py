"""What a join token the project issues to a person lets them do: join one room, hear and see it,
speak into a microphone, and send chat, RPCs and data. Nothing else: no other room, no admin,
room list, create or record, no camera or screen share, no hidden or recorder or agent role,
no change of their own name, metadata or attributes (those come from the token)."""

from __future__ import annotations

from livekit import api

USER_SOURCES = ["microphone"]


def user_grants(room: str) -> api.VideoGrants:
    if not room or "*" in room:
        raise ValueError(f"a join token is for one named room, not {room!r}")
    return api.VideoGrants(
        room_join=True,
        room=room,
        can_publish=True,
        can_publish_sources=list(USER_SOURCES),
        can_subscribe=True,
        can_publish_data=True,
        can_update_own_metadata=False,
    )
