"""Session API settings, read once from the environment (secrets stay in the environment's values only)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import REPO_ROOT, read_env
from ..devtools import DEFAULT_AGENT_NAME


def _positive_int(name: str, default: int) -> int:
    raw = read_env(name, str(default))
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a positive whole number, not {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class WebSettings:
    livekit_url: str
    """Where this server reaches LiveKit's API."""
    public_livekit_url: str
    """Where browsers reach LiveKit (behind a proxy or on another host it differs)."""
    api_key: str
    api_secret: str
    agent_name: str
    avatars_dir: Path
    web_dist: Path
    access_key: str | None
    """When set, POST /api/sessions and /api/token need it in `X-API-Key`."""
    cors_origins: tuple[str, ...]
    max_sessions: int
    max_sessions_per_client: int
    token_ttl_s: int
    trust_forwarded_for: bool
    """Take the client address from X-Forwarded-For (only behind a proxy that sets it)."""

    @classmethod
    def from_env(cls) -> WebSettings:
        missing = [n for n in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET") if not read_env(n)]
        if missing:
            raise ValueError(f"set {', '.join(missing)} (see README: 'Environment')")
        livekit_url = read_env("LIVEKIT_URL")
        return cls(
            livekit_url=livekit_url,
            public_livekit_url=read_env("STREAMING_AVATAR_PUBLIC_LIVEKIT_URL", livekit_url),
            api_key=read_env("LIVEKIT_API_KEY"),
            api_secret=read_env("LIVEKIT_API_SECRET"),
            agent_name=read_env("STREAMING_AVATAR_AGENT_NAME", DEFAULT_AGENT_NAME),
            avatars_dir=Path(read_env("STREAMING_AVATAR_AVATARS_DIR", str(REPO_ROOT / "avatars"))),
            web_dist=Path(read_env("STREAMING_AVATAR_WEB_DIST", str(REPO_ROOT / "web" / "dist"))),
            access_key=read_env("STREAMING_AVATAR_WEB_API_KEY") or None,
            cors_origins=tuple(o.strip() for o in read_env("STREAMING_AVATAR_WEB_CORS_ORIGINS").split(",") if o.strip()),
            max_sessions=_positive_int("STREAMING_AVATAR_WEB_MAX_SESSIONS", 20),
            max_sessions_per_client=_positive_int("STREAMING_AVATAR_WEB_MAX_SESSIONS_PER_CLIENT", 2),
            token_ttl_s=_positive_int("STREAMING_AVATAR_WEB_TOKEN_TTL", 300),
            trust_forwarded_for=read_env("STREAMING_AVATAR_WEB_TRUST_FORWARDED_FOR") in ("1", "true", "yes"),
        )
