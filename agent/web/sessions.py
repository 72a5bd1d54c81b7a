"""Sessions of the web page: a session is a LiveKit room, so this module keeps no state.

Opening a session makes a join token whose room configuration creates the room and
dispatches the avatar agent when the user joins (LiveKit ignores a token's room
configuration for a room that already exists, so the room is not created beforehand).
The room's metadata tags who opened it, so any instance of the API counts open
sessions on the LiveKit server (per agent name: one service's limits are its own).
Tokens not yet used are not counted: their short TTL bounds that. Ending a session needs
a token the API gave out for that room.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from livekit import api

from ..grants import user_grants
from .settings import WebSettings

ROOM_PREFIX = "sa-"
ROOM_TAG = "streaming-avatar-web"
# Long enough for a conversation: the page may end its session long after its join token expired.
OWNER_TOKEN_LEEWAY = dt.timedelta(hours=12)
EMPTY_TIMEOUT_S = 30
DEPARTURE_TIMEOUT_S = 20
RETRY_AFTER_S = 30


class SessionLimitError(Exception):
    def __init__(self, message: str, retry_after_s: int = RETRY_AFTER_S) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class UnknownSessionError(Exception):
    pass


class NotSessionOwnerError(Exception):
    pass


@dataclass(frozen=True)
class SessionGrant:
    room: str
    token: str
    expires_at: dt.datetime


class SessionRooms:
    def __init__(self, settings: WebSettings, lkapi: api.LiveKitAPI) -> None:
        self._settings = settings
        self._lkapi = lkapi
        self._verifier = api.TokenVerifier(
            settings.api_key, settings.api_secret.get_secret_value(), leeway=OWNER_TOKEN_LEEWAY
        )

    def _client_tag(self, address: str) -> str:
        """A keyed hash of the client's address: countable in room metadata without storing the address."""
        key = self._settings.api_secret.get_secret_value().encode()
        return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()[:16]

    async def open(
        self,
        *,
        client_address: str,
        dispatch_metadata: str,
        participant_name: str | None = None,
        participant_metadata: str | None = None,
        participant_attributes: dict[str, str] | None = None,
    ) -> SessionGrant:
        """A join token that creates the room and dispatches the agent on join; SessionLimitError when full."""
        client = self._client_tag(client_address)
        await self._check_limits(client)
        room = ROOM_PREFIX + secrets.token_hex(10)
        identity = "user-" + secrets.token_hex(6)
        ttl = dt.timedelta(seconds=self._settings.token_ttl_s)
        token = (
            api.AccessToken(self._settings.api_key, self._settings.api_secret.get_secret_value())
            .with_identity(identity)
            .with_name(participant_name or "You")
            .with_metadata(participant_metadata or "")
            .with_attributes(participant_attributes or {})
            .with_ttl(ttl)
            .with_grants(user_grants(room))
            .with_room_config(
                api.RoomConfiguration(
                    name=room,
                    empty_timeout=EMPTY_TIMEOUT_S,
                    departure_timeout=DEPARTURE_TIMEOUT_S,
                    metadata=json.dumps({"created_by": ROOM_TAG, "agent": self._settings.agent_name, "client": client}),
                    agents=[api.RoomAgentDispatch(agent_name=self._settings.agent_name, metadata=dispatch_metadata)],
                    # the avatar's audio and video as one media stream, which browsers play in sync (docs/web.md)
                    sync_streams=True,
                )
            )
        )
        return SessionGrant(room, token.to_jwt(), dt.datetime.now(dt.UTC) + ttl)

    async def end(self, session_id: str, bearer_token: str) -> None:
        """Delete the session's room: the agent leaves and every participant is disconnected."""
        try:
            claims = self._verifier.verify(bearer_token)
        except Exception as exc:  # PyJWT raises many types; all mean "not a token of ours"
            raise NotSessionOwnerError("the bearer token is not a session token of this server") from exc
        if claims.video is None or claims.video.room != session_id:
            raise NotSessionOwnerError("the bearer token belongs to another session")
        if not await self._web_rooms(names=[session_id]):
            raise UnknownSessionError(f"no open session {session_id!r}")
        await self._lkapi.room.delete_room(api.DeleteRoomRequest(room=session_id))

    async def _web_rooms(self, names: list[str] | None = None) -> list[api.Room]:
        """Open sessions of this service (web API instances in front of the same agent), or those of `names`."""
        rooms = (await self._lkapi.room.list_rooms(api.ListRoomsRequest(names=names or []))).rooms
        mine = {"created_by": ROOM_TAG, "agent": self._settings.agent_name}
        return [room for room in rooms if mine.items() <= _room_tag(room).items()]

    async def _check_limits(self, client: str) -> None:
        rooms = await self._web_rooms()
        if len(rooms) >= self._settings.max_sessions:
            raise SessionLimitError(f"the server is full ({self._settings.max_sessions} sessions); try again later")
        mine = sum(1 for room in rooms if _room_tag(room).get("client") == client)
        if mine >= self._settings.max_sessions_per_client:
            raise SessionLimitError(
                f"you already have {mine} open sessions (the limit is {self._settings.max_sessions_per_client}); "
                "end one first"
            )


def _room_tag(room: api.Room) -> dict[str, str]:
    try:
        tag = json.loads(room.metadata or "{}")
    except json.JSONDecodeError:
        return {}
    return tag if isinstance(tag, dict) else {}
