"""Join tokens the project issues (the web session API and `python -m agent token`), decoded with the
secret: exactly the grants a person in one avatar session needs, and a bounded lifetime."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from livekit import api

from agent.devtools import TOKEN_TTL, join_token
from agent.grants import user_grants
from agent.web.sessions import SessionRooms
from agent.web.settings import WebSettings

KEY, SECRET = "test-key", "test-secret-of-at-least-thirty-two-bytes"
EXPECTED_VIDEO_GRANT = {
    "roomJoin": True,
    "canPublish": True,
    "canPublishSources": ["microphone"],
    "canSubscribe": True,
    "canPublishData": True,
    "canUpdateOwnMetadata": False,
}
"""Everything else (roomAdmin, roomCreate, roomList, roomRecord, hidden, recorder, agent, ingressAdmin,
canManageAgentSession, canSubscribeMetrics, destinationRoom) absent: LiveKit's default is off."""


def decode(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, SECRET, algorithms=["HS256"])
    return claims


def assert_user_token(claims: dict[str, Any], room: str, identity: str, max_ttl_s: float) -> None:
    assert claims["video"] == {**EXPECTED_VIDEO_GRANT, "room": room}
    assert claims["sub"] == identity and claims["iss"] == KEY
    assert "kind" not in claims and "sip" not in claims
    assert 0 < claims["exp"] - claims["nbf"] <= max_ttl_s


class NoRooms:
    """The one call SessionRooms.open makes to LiveKit (counting open sessions): none are open."""

    class room:  # the attribute name of api.LiveKitAPI
        @staticmethod
        async def list_rooms(_request: api.ListRoomsRequest) -> api.ListRoomsResponse:
            return api.ListRoomsResponse()


def web_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> WebSettings:
    for name, value in {
        "LIVEKIT_URL": "ws://127.0.0.1:7880",
        "LIVEKIT_API_KEY": KEY,
        "LIVEKIT_API_SECRET": SECRET,
        "STREAMING_AVATAR_AGENT_NAME": "avatar-agent",
        **env,
    }.items():
        monkeypatch.setenv(name, value)
    return WebSettings.from_env()


async def test_session_token_joins_one_room_with_user_grants_and_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = web_settings(monkeypatch, STREAMING_AVATAR_WEB_TOKEN_TTL="120")
    grant = await SessionRooms(settings, NoRooms()).open(  # type: ignore[arg-type]
        client_address="203.0.113.9", dispatch_metadata='{"language": "en"}', participant_attributes={"a": "b"}
    )
    claims = decode(grant.token)
    assert_user_token(claims, grant.room, claims["sub"], 120)
    assert claims["exp"] - claims["nbf"] == 120
    assert claims["attributes"] == {"a": "b"}
    assert claims["roomConfig"]["name"] == grant.room
    assert [a["agentName"] for a in claims["roomConfig"]["agents"]] == ["avatar-agent"]
    assert "203.0.113.9" not in json.dumps(claims)


def test_session_token_lifetime_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="STREAMING_AVATAR_WEB_TOKEN_TTL"):
        web_settings(monkeypatch, STREAMING_AVATAR_WEB_TOKEN_TTL=str(24 * 3600))


@pytest.mark.parametrize("dispatch_agent", [None, "avatar-agent"])
def test_cli_token_joins_one_room_with_user_grants_and_expires(
    monkeypatch: pytest.MonkeyPatch, dispatch_agent: str | None
) -> None:
    monkeypatch.setenv("LIVEKIT_URL", "ws://127.0.0.1:7880")
    monkeypatch.setenv("LIVEKIT_API_KEY", KEY)
    monkeypatch.setenv("LIVEKIT_API_SECRET", SECRET)
    claims = decode(join_token("room-1", "alice", dispatch_agent=dispatch_agent, metadata=""))
    assert_user_token(claims, "room-1", "alice", TOKEN_TTL.total_seconds())
    assert claims["exp"] - claims["nbf"] == TOKEN_TTL.total_seconds() <= 24 * 3600
    agents = [a["agentName"] for a in claims.get("roomConfig", {}).get("agents", [])]
    assert agents == ([dispatch_agent] if dispatch_agent else [])


@pytest.mark.parametrize("room", ["", "*", "room-*"])
def test_no_token_for_every_room(room: str) -> None:
    with pytest.raises(ValueError, match="one named room"):
        user_grants(room)
