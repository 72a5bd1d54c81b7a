"""Who may do what in an avatar session, checked against the real server: the session RPCs are honoured
only from the people the avatar serves, and LiveKit refuses an expired join token."""

from __future__ import annotations

import datetime as dt

import pytest
from livekit import api, rtc

from agent.grants import user_grants
from support.room_permissions import SESSION_RPCS, check_rpc_permissions


async def test_session_rpcs_only_from_the_people_served(livekit_server, worker, room_name) -> None:
    result = await check_rpc_permissions(livekit_server, worker.agent_name, room_name)
    intruder_calls = {f"{who} {method}" for who in ("other-agent", "on-behalf") for method in SESSION_RPCS}
    assert set(result.refused) == intruder_calls, result
    assert all("only for the people this avatar talks with" in message for message in result.refused.values())
    assert result.agent_stayed
    assert set(result.honoured) == {f"user {method}" for method in SESSION_RPCS}, result
    assert result.agent_left


async def test_server_refuses_an_expired_token(livekit_server, room_name) -> None:
    """Past LiveKit's one-minute leeway for clock skew, the token the project issues no longer joins."""
    token = (
        api.AccessToken(livekit_server.api_key, livekit_server.api_secret)
        .with_identity("late")
        .with_ttl(dt.timedelta(minutes=-5))
        .with_grants(user_grants(room_name))
        .to_jwt()
    )
    room = rtc.Room()
    with pytest.raises(rtc.ConnectError):
        await room.connect(livekit_server.url, token)
    await room.disconnect()
