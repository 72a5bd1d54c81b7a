"""Worker settings, read once from the environment (secrets are never stored here)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

VoiceProfile = Literal["auto", "offline", "cloud"]
SttProvider = Literal["faster-whisper", "google"]
REPO_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


@dataclass(frozen=True)
class WorkerSettings:
    agent_name: str
    voice_profile: VoiceProfile
    avatars_dir: Path
    stt_provider: SttProvider
    whisper_model: str
    gemini_model: str
    capacity: int
    load_threshold: float
    num_idle_processes: int
    http_port: int
    scripted_extra_sentences: int

    @classmethod
    def from_env(cls) -> WorkerSettings:
        profile = _env("STREAMING_AVATAR_VOICE_PROFILE", "auto")
        if profile not in ("auto", "offline", "cloud"):
            raise ValueError(f"STREAMING_AVATAR_VOICE_PROFILE must be auto, offline or cloud, not {profile!r}")
        stt_provider = _env("STREAMING_AVATAR_STT_PROVIDER", "faster-whisper")
        if stt_provider not in ("faster-whisper", "google"):
            raise ValueError(f"STREAMING_AVATAR_STT_PROVIDER must be faster-whisper or google, not {stt_provider!r}")
        return cls(
            agent_name=_env("STREAMING_AVATAR_AGENT_NAME", "streaming-avatar"),
            voice_profile=profile,  # type: ignore[arg-type]
            avatars_dir=Path(_env("STREAMING_AVATAR_AVATARS_DIR", str(REPO_ROOT / "avatars"))),
            stt_provider=stt_provider,  # type: ignore[arg-type]
            whisper_model=_env("STREAMING_AVATAR_WHISPER_MODEL", "small"),
            gemini_model=_env("STREAMING_AVATAR_GEMINI_MODEL", "gemini-2.5-flash"),
            capacity=int(_env("STREAMING_AVATAR_CAPACITY", "8")),
            load_threshold=float(_env("STREAMING_AVATAR_LOAD_THRESHOLD", "0.99")),
            num_idle_processes=int(_env("STREAMING_AVATAR_IDLE_PROCESSES", "2")),
            http_port=int(_env("STREAMING_AVATAR_HTTP_PORT", "8081")),
            scripted_extra_sentences=int(_env("STREAMING_AVATAR_SCRIPTED_EXTRA_SENTENCES", "0")),
        )

    def uses_cloud(self) -> bool:
        """auto → cloud when a Gemini key is present, else the offline profile."""
        if self.voice_profile == "auto":
            return bool(os.environ.get("GOOGLE_API_KEY"))
        return self.voice_profile == "cloud"
