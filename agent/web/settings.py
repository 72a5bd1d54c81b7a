"""Session API settings, read once from the environment (secrets are kept as `SecretStr`, never shown)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, PositiveInt, SecretStr, field_validator
from pydantic_settings import NoDecode

from ..config import REPO_ROOT, EnvSettings
from ..devtools import DEFAULT_AGENT_NAME


class WebSettings(EnvSettings):
    livekit_url: str = Field(validation_alias="LIVEKIT_URL")
    """Where this server reaches LiveKit's API."""
    public_livekit_url: str = Field(
        "", validation_alias=AliasChoices("STREAMING_AVATAR_PUBLIC_LIVEKIT_URL", "LIVEKIT_URL")
    )
    """Where browsers reach LiveKit (behind a proxy or on another host it differs): LIVEKIT_URL unless set."""
    api_key: str = Field(validation_alias="LIVEKIT_API_KEY")
    api_secret: SecretStr = Field(validation_alias="LIVEKIT_API_SECRET")
    agent_name: str = Field(DEFAULT_AGENT_NAME, validation_alias="STREAMING_AVATAR_AGENT_NAME")
    avatars_dir: Path = Field(REPO_ROOT / "avatars", validation_alias="STREAMING_AVATAR_AVATARS_DIR")
    web_dist: Path = Field(REPO_ROOT / "web" / "dist", validation_alias="STREAMING_AVATAR_WEB_DIST")
    access_key: SecretStr | None = Field(None, validation_alias="STREAMING_AVATAR_WEB_API_KEY")
    """When set, POST /api/sessions and /api/token need it in `X-API-Key`."""
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field((), validation_alias="STREAMING_AVATAR_WEB_CORS_ORIGINS")
    """Comma-separated in the environment."""
    max_sessions: PositiveInt = Field(20, validation_alias="STREAMING_AVATAR_WEB_MAX_SESSIONS")
    max_sessions_per_client: PositiveInt = Field(2, validation_alias="STREAMING_AVATAR_WEB_MAX_SESSIONS_PER_CLIENT")
    token_ttl_s: PositiveInt = Field(300, validation_alias="STREAMING_AVATAR_WEB_TOKEN_TTL")
    trust_forwarded_for: bool = Field(False, validation_alias="STREAMING_AVATAR_WEB_TRUST_FORWARDED_FOR")
    """Take the client address from X-Forwarded-For (only behind a proxy that sets it)."""

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        return tuple(origin.strip() for origin in value.split(",") if origin.strip())
