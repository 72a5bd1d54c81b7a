"""Request and response bodies of the session API (the OpenAPI schema at /docs is built from these)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from livekit.plugins.musetalk import PACK_ID_PATTERN
from pydantic import BaseModel, ConfigDict, Field

from ..metadata import SessionConfig
from .catalogue import AvatarInfo

TTS_PROVIDERS = ["google", "elevenlabs"]


class UploadLimits(BaseModel):
    """What POST /api/avatars takes on this server."""

    enabled: bool
    max_bytes: int
    media_types: list[str]
    max_uploads: int


class AvatarList(BaseModel):
    avatars: list[AvatarInfo]
    tts_providers: list[str] = Field(default_factory=lambda: list(TTS_PROVIDERS))
    uploads: UploadLimits | None = None


class AvatarUploaded(BaseModel):
    """A new avatar made from an uploaded photo, ready for a session."""

    avatar: AvatarInfo
    ready_ms: float = Field(description="From the whole photo received to the avatar prepared.")


class UploadProgress(BaseModel):
    """One line of POST /api/avatars's NDJSON answer (Accept: application/x-ndjson)."""

    event: Literal["progress", "ready", "error"]
    step: str | None = None
    progress: float | None = Field(default=None, description="0 to 1")
    avatar: AvatarInfo | None = Field(default=None, description="With event ready.")
    ready_ms: float | None = None
    status: int | None = Field(default=None, description="With event error: the HTTP status it would have had.")
    detail: str | None = Field(default=None, description="With event error: what went wrong.")


class CreateSessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    avatar_id: str = Field(pattern=PACK_ID_PATTERN.pattern, description="An id from GET /api/avatars.")
    config: SessionConfig = Field(default_factory=SessionConfig)


class SessionCreated(BaseModel):
    id: str = Field(description="The session id: also the LiveKit room's name.")
    avatar_id: str
    livekit_url: str
    livekit_token: str = Field(description="Join token; also the bearer token that ends the session.")
    expires_at: dt.datetime = Field(description="Join before this time; a joined session goes on after it.")


class TokenDispatchMetadata(SessionConfig):
    """Agent metadata accepted by /api/token: a session config and the avatar."""

    model_config = ConfigDict(extra="forbid")

    avatar: str = Field(default="default", pattern=PACK_ID_PATTERN.pattern)


class AgentDispatchRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    agent_name: str = Field(default="", max_length=128)
    metadata: str = Field(default="", max_length=16 * 1024)


class RoomConfigRequest(BaseModel):
    """The part of LiveKit's RoomConfiguration this server honours; other fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    agents: list[AgentDispatchRequest] = Field(default_factory=list, max_length=1)


class TokenRequest(BaseModel):
    """LiveKit's standard token endpoint request (TokenSource.endpoint in livekit-client).

    The server picks the room name and the identity; a requested one is ignored.
    """

    model_config = ConfigDict(extra="ignore")

    room_name: str | None = Field(default=None, max_length=256)
    participant_identity: str | None = Field(default=None, max_length=256)
    participant_name: str | None = Field(default=None, max_length=128)
    participant_metadata: str | None = Field(default=None, max_length=4096)
    participant_attributes: dict[str, str] = Field(default_factory=dict, max_length=32)
    room_config: RoomConfigRequest | None = None


class TokenResponse(BaseModel):
    server_url: str
    participant_token: str
