"""Session API settings, read once from the environment (secrets are kept as `SecretStr`, never shown)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, NonNegativeInt, PositiveInt, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from ..config import DEFAULT_UPLOADS_DIR, REPO_ROOT, EnvSettings
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
    uploads_dir: Path = Field(DEFAULT_UPLOADS_DIR, validation_alias="STREAMING_AVATAR_UPLOADS_DIR")
    """Packs made from uploaded photos; the workers read the same directory (shared storage across hosts)."""
    cache_dir: Path | None = Field(None, validation_alias="STREAMING_AVATAR_CACHE_DIR")
    """Prepared caches (None: the plugin's default), where an upload's preview is drawn; the workers' too."""
    max_upload_mb: PositiveInt = Field(10, validation_alias="STREAMING_AVATAR_WEB_MAX_UPLOAD_MB")
    """Largest photo accepted by POST /api/avatars, in MB (10^6 bytes)."""
    max_uploads: NonNegativeInt = Field(50, validation_alias="STREAMING_AVATAR_WEB_MAX_UPLOADS")
    """Uploaded avatars kept at most (0: uploads are off)."""
    web_dist: Path = Field(REPO_ROOT / "web" / "dist", validation_alias="STREAMING_AVATAR_WEB_DIST")
    access_key: SecretStr | None = Field(None, validation_alias="STREAMING_AVATAR_WEB_API_KEY")
    """When set, POST /api/sessions, /api/token, POST and DELETE /api/avatars need it in `X-API-Key`."""
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field((), validation_alias="STREAMING_AVATAR_WEB_CORS_ORIGINS")
    """Comma-separated in the environment."""
    max_sessions: PositiveInt = Field(20, validation_alias="STREAMING_AVATAR_WEB_MAX_SESSIONS")
    max_sessions_per_client: PositiveInt = Field(2, validation_alias="STREAMING_AVATAR_WEB_MAX_SESSIONS_PER_CLIENT")
    token_ttl_s: PositiveInt = Field(300, le=3600, validation_alias="STREAMING_AVATAR_WEB_TOKEN_TTL")
    """At most an hour: a join token is for joining now (a joined participant stays connected after it expires)."""
    trust_forwarded_for: bool = Field(False, validation_alias="STREAMING_AVATAR_WEB_TRUST_FORWARDED_FOR")
    """Take the client address from X-Forwarded-For (only behind a proxy that sets it)."""

    @property
    def avatar_dirs(self) -> tuple[Path, Path]:
        """Where packs are looked for: the shipped ones first, as the worker does."""
        return self.avatars_dir, self.uploads_dir

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1_000_000

    @model_validator(mode="after")
    def _uploads_apart(self) -> WebSettings:
        """Uploads in the shipped packs' directory could not be told from them (nor deleted)."""
        if self.uploads_dir.resolve() == self.avatars_dir.resolve():
            raise ValueError("STREAMING_AVATAR_UPLOADS_DIR must not be STREAMING_AVATAR_AVATARS_DIR")
        return self

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        return tuple(origin.strip() for origin in value.split(",") if origin.strip())
