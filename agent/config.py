"""Worker settings, read once from the environment (secrets are never stored here)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from livekit.agents import JobExecutorType

from livekit.plugins.musetalk import (
    DEFAULT_AVATAR,
    DEFAULT_RENDER_AGENT_NAME,
    AvatarMode,
    AvatarOptions,
    EngineConfig,
    VideoEncoderChoice,
)

VoiceProfile = Literal["auto", "offline", "cloud"]
WorkerRole = Literal["voice", "render"]
SttProvider = Literal["faster-whisper", "google"]
REPO_ROOT = Path(__file__).resolve().parent.parent


def read_env(name: str, default: str = "") -> str:
    """The variable's value, stripped; `default` when it is unset or blank."""
    return os.environ.get(name, "").strip() or default


def _choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = read_env(name, default)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _size(value: str) -> tuple[int, int] | None:
    """ "" → the avatar pack's size; "WxH" → that size."""
    if not value:
        return None
    width, _, height = value.lower().partition("x")
    if not (width.isdigit() and height.isdigit()):
        raise ValueError(f"STREAMING_AVATAR_VIDEO_SIZE must look like 512x512, not {value!r}")
    return int(width), int(height)


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
    engine: str
    models_dir: Path | None
    cache_dir: Path | None
    video_encoder: VideoEncoderChoice
    video_size: tuple[int, int] | None
    video_fps: int | None
    video_idle_fps: int | None
    job_executor: JobExecutorType
    metrics_port: int | None
    process_init_timeout: float
    drain_timeout: int
    role: WorkerRole
    avatar_mode: AvatarMode
    render_agent_name: str
    render_join_timeout: float

    @classmethod
    def from_env(cls) -> WorkerSettings:
        profile = _choice("STREAMING_AVATAR_VOICE_PROFILE", "auto", ("auto", "offline", "cloud"))
        stt_provider = _choice("STREAMING_AVATAR_STT_PROVIDER", "faster-whisper", ("faster-whisper", "google"))
        return cls(
            agent_name=read_env("STREAMING_AVATAR_AGENT_NAME", "streaming-avatar"),
            voice_profile=profile,  # type: ignore[arg-type]
            avatars_dir=Path(read_env("STREAMING_AVATAR_AVATARS_DIR", str(REPO_ROOT / "avatars"))),
            stt_provider=stt_provider,  # type: ignore[arg-type]
            whisper_model=read_env("STREAMING_AVATAR_WHISPER_MODEL", "small"),
            gemini_model=read_env("STREAMING_AVATAR_GEMINI_MODEL", "gemini-2.5-flash"),
            capacity=int(read_env("STREAMING_AVATAR_CAPACITY", "8")),
            load_threshold=float(read_env("STREAMING_AVATAR_LOAD_THRESHOLD", "0.99")),
            num_idle_processes=int(read_env("STREAMING_AVATAR_IDLE_PROCESSES", "2")),
            http_port=int(read_env("STREAMING_AVATAR_HTTP_PORT", "8081")),
            scripted_extra_sentences=int(read_env("STREAMING_AVATAR_SCRIPTED_EXTRA_SENTENCES", "0")),
            engine=_choice("STREAMING_AVATAR_ENGINE", "auto", ("auto", "cpu", "musetalk")),
            models_dir=Path(read_env("STREAMING_AVATAR_MUSETALK_DIR"))
            if read_env("STREAMING_AVATAR_MUSETALK_DIR")
            else None,
            cache_dir=Path(read_env("STREAMING_AVATAR_CACHE_DIR")) if read_env("STREAMING_AVATAR_CACHE_DIR") else None,
            video_encoder=_choice(  # type: ignore[arg-type]
                "STREAMING_AVATAR_VIDEO_ENCODER", "auto", ("auto", "x264", "nvenc", "raw")
            ),
            video_size=_size(read_env("STREAMING_AVATAR_VIDEO_SIZE", "")),
            video_fps=int(read_env("STREAMING_AVATAR_VIDEO_FPS", "0")) or None,
            video_idle_fps=int(read_env("STREAMING_AVATAR_VIDEO_IDLE_FPS", "0")) or None,
            job_executor=JobExecutorType(_choice("STREAMING_AVATAR_JOB_EXECUTOR", "process", ("process", "thread"))),
            metrics_port=int(read_env("STREAMING_AVATAR_METRICS_PORT", "0")) or None,
            process_init_timeout=float(read_env("STREAMING_AVATAR_PROCESS_INIT_TIMEOUT", "60")),
            drain_timeout=int(read_env("STREAMING_AVATAR_DRAIN_TIMEOUT", "600")),
            role=_choice("STREAMING_AVATAR_ROLE", "voice", ("voice", "render")),  # type: ignore[arg-type]
            avatar_mode=_choice(  # type: ignore[arg-type]
                "STREAMING_AVATAR_AVATAR_MODE", "in-process", ("in-process", "remote")
            ),
            render_agent_name=read_env("STREAMING_AVATAR_RENDER_AGENT_NAME", DEFAULT_RENDER_AGENT_NAME),
            render_join_timeout=float(read_env("STREAMING_AVATAR_RENDER_JOIN_TIMEOUT", "10")),
        )

    def __post_init__(self) -> None:
        """Avatar settings are checked when the worker starts, with the plugin's own rules."""
        try:
            self.avatar_options()
        except ValueError as e:
            raise ValueError(f"STREAMING_AVATAR_VIDEO_SIZE / _FPS / _IDLE_FPS: {e}") from None

    def avatar_options(self, avatar: str = DEFAULT_AVATAR) -> AvatarOptions:
        """The plugin's options for a session with `avatar`, from these settings."""
        width, height = self.video_size or (None, None)
        return self.with_local_paths(
            AvatarOptions(
                avatar=avatar,
                engine=self.engine,
                video_encoder=self.video_encoder,
                width=width,
                height=height,
                fps=self.video_fps,
                idle_fps=self.video_idle_fps,
            )
        )

    def with_local_paths(self, options: AvatarOptions) -> AvatarOptions:
        """`options` with this machine's directories (a render request carries none)."""
        return replace(options, avatars_dir=self.avatars_dir, cache_dir=self.cache_dir, models_dir=self.models_dir)

    @property
    def engine_config(self) -> EngineConfig:
        return EngineConfig(models_dir=self.models_dir)

    def uses_cloud(self) -> bool:
        """auto → cloud when a Gemini key is present, else the offline profile."""
        if self.voice_profile == "auto":
            return bool(os.environ.get("GOOGLE_API_KEY"))
        return self.voice_profile == "cloud"
