"""Worker settings, read once from the environment (secrets are never stored here)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Literal, Self

from livekit.agents import JobExecutorType
from pydantic import AfterValidator, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from livekit.plugins.musetalk import (
    DEFAULT_AVATAR,
    DEFAULT_RENDER_AGENT_NAME,
    AvatarMode,
    AvatarOptions,
    EngineConfig,
    VideoEncoderChoice,
    engine_names,
)

from .faults import FaultSwitch
from .simulated_latency import CloudTiming

VoiceProfile = Literal["auto", "offline", "cloud"]
WorkerRole = Literal["voice", "render"]
SttProvider = Literal["faster-whisper", "google"]
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_UPLOADS_DIR = REPO_ROOT / "uploads"


def _zero_is_none(value: int | None) -> int | None:
    return value or None


ZeroMeansUnset = Annotated[int | None, AfterValidator(_zero_is_none)]
"""A number where 0 (or no value) means "not set"."""


class _StrippedEnvSource(EnvSettingsSource):
    """The environment with values stripped; a blank value counts as unset."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.env_vars = {name: value.strip() for name, value in self.env_vars.items() if value and value.strip()}


def _describe(error: ErrorDetails) -> str:
    variable = ".".join(str(part) for part in error["loc"])
    if error["type"] == "missing":
        return f"{variable} is not set"
    reason = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
    return f"{variable}: {reason}, not {error['input']!r}" if variable else reason


class EnvSettings(BaseSettings):
    """Settings read from the environment only: each field names its variable as its alias."""

    model_config = SettingsConfigDict(frozen=True, case_sensitive=True, hide_input_in_errors=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _StrippedEnvSource(settings_cls)

    @classmethod
    def from_env(cls) -> Self:
        """The settings, or a ValueError naming each bad or missing variable."""
        try:
            return cls()
        except ValidationError as e:
            problems = "; ".join(_describe(error) for error in e.errors())
            raise ValueError(f"{problems} (see docs/operations.md: 'Environment variables')") from None


class WorkerSettings(EnvSettings):
    agent_name: str = Field("streaming-avatar", validation_alias="STREAMING_AVATAR_AGENT_NAME")
    voice_profile: VoiceProfile = Field("auto", validation_alias="STREAMING_AVATAR_VOICE_PROFILE")
    avatars_dir: Path = Field(REPO_ROOT / "avatars", validation_alias="STREAMING_AVATAR_AVATARS_DIR")
    uploads_dir: Path = Field(DEFAULT_UPLOADS_DIR, validation_alias="STREAMING_AVATAR_UPLOADS_DIR")
    """Packs made from photos uploaded through the web API (the web server's setting of the same name)."""
    stt_provider: SttProvider = Field("faster-whisper", validation_alias="STREAMING_AVATAR_STT_PROVIDER")
    whisper_model: str = Field("base", validation_alias="STREAMING_AVATAR_WHISPER_MODEL")
    """A faster-whisper name (from the Hugging Face cache, else the bundled Whisper base) or a directory."""
    whisper_compute_type: str = Field("int8", validation_alias="STREAMING_AVATAR_WHISPER_COMPUTE_TYPE")
    """CTranslate2 compute type; int8 is ~2x faster than float32 on a CPU (float16 / int8_float16 on a GPU)."""
    whisper_window: float = Field(0, ge=0, validation_alias="STREAMING_AVATAR_WHISPER_WINDOW")
    """English only, opt-in: seconds of audio Whisper's encoder sees at least (0: Whisper's full 30 s window). 8 cut
    a question's transcription from ~1.4 to ~0.4 s on one core, but through Chromium's microphone processing it
    misheard "Hello there, can you hear me?" ("Hello, Tha, Khanyu Kiyabee.") where the full window got it."""
    whisper_beam_size: int = Field(1, ge=1, validation_alias="STREAMING_AVATAR_WHISPER_BEAM_SIZE")
    """1 (greedy) costs ~30 % less per utterance on a CPU than 5 and read our test sentences the same."""
    gemini_model: str = Field("gemini-2.5-flash", validation_alias="STREAMING_AVATAR_GEMINI_MODEL")
    capacity: int = Field(8, validation_alias="STREAMING_AVATAR_CAPACITY")
    load_threshold: float = Field(0.99, validation_alias="STREAMING_AVATAR_LOAD_THRESHOLD")
    num_idle_processes: int = Field(2, validation_alias="STREAMING_AVATAR_IDLE_PROCESSES")
    http_port: int = Field(8081, validation_alias="STREAMING_AVATAR_HTTP_PORT")
    scripted_extra_sentences: int = Field(0, validation_alias="STREAMING_AVATAR_SCRIPTED_EXTRA_SENTENCES")
    engine: str = Field("auto", validation_alias="STREAMING_AVATAR_ENGINE")
    """"auto" or an engine the plugin has registered."""
    models_dir: Path | None = Field(None, validation_alias="STREAMING_AVATAR_MUSETALK_DIR")
    """None → the plugin's default."""
    cache_dir: Path | None = Field(None, validation_alias="STREAMING_AVATAR_CACHE_DIR")
    """None → the plugin's default."""
    video_encoder: VideoEncoderChoice = Field("auto", validation_alias="STREAMING_AVATAR_VIDEO_ENCODER")
    video_size: Annotated[tuple[int, int] | None, NoDecode] = Field(
        None, validation_alias="STREAMING_AVATAR_VIDEO_SIZE"
    )
    """None → the avatar pack's size."""
    video_fps: ZeroMeansUnset = Field(None, validation_alias="STREAMING_AVATAR_VIDEO_FPS")
    video_idle_fps: ZeroMeansUnset = Field(None, validation_alias="STREAMING_AVATAR_VIDEO_IDLE_FPS")
    job_executor: JobExecutorType = Field(JobExecutorType.PROCESS, validation_alias="STREAMING_AVATAR_JOB_EXECUTOR")
    metrics_port: ZeroMeansUnset = Field(None, validation_alias="STREAMING_AVATAR_METRICS_PORT")
    process_init_timeout: float = Field(60, validation_alias="STREAMING_AVATAR_PROCESS_INIT_TIMEOUT")
    drain_timeout: int = Field(600, validation_alias="STREAMING_AVATAR_DRAIN_TIMEOUT")
    departure_grace: float = Field(10, ge=0, validation_alias="STREAMING_AVATAR_DEPARTURE_GRACE")
    """Seconds a session waits for its last human to come back after a lost (not ended) connection."""
    role: WorkerRole = Field("voice", validation_alias="STREAMING_AVATAR_ROLE")
    avatar_mode: AvatarMode = Field("in-process", validation_alias="STREAMING_AVATAR_AVATAR_MODE")
    render_agent_name: str = Field(DEFAULT_RENDER_AGENT_NAME, validation_alias="STREAMING_AVATAR_RENDER_AGENT_NAME")
    render_join_timeout: float = Field(10, validation_alias="STREAMING_AVATAR_RENDER_JOIN_TIMEOUT")
    llm_timeout: float = Field(15, gt=0, validation_alias="STREAMING_AVATAR_LLM_TIMEOUT")
    """Seconds an LLM reply may take to start (its retries included) before the turn counts as failed."""
    preemptive_generation: bool = Field(True, validation_alias="STREAMING_AVATAR_PREEMPTIVE_GENERATION")
    """Start the LLM and TTS on the early transcript, before the turn is committed (a discarded reply costs tokens)."""
    simulate_cloud: Annotated[CloudTiming | None, NoDecode] = Field(
        None, validation_alias="STREAMING_AVATAR_SIMULATE_CLOUD"
    )
    """Offline profile only: delay the scripted LLM's and eSpeak's first answers as the cloud's would."""
    faults_file: Path | None = Field(None, validation_alias="STREAMING_AVATAR_FAULTS_FILE")
    """Tests and benchmarks only: inject provider faults (agent/faults.py)."""

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        known = ("auto", *engine_names())
        if value not in known:
            raise ValueError(f"must be one of {', '.join(known)}")
        return value

    @field_validator("simulate_cloud", mode="before")
    @classmethod
    def _parse_cloud_timing(cls, value: object) -> object:
        return CloudTiming.parse(value) if isinstance(value, str) else value

    @field_validator("video_size", mode="before")
    @classmethod
    def _parse_size(cls, value: object) -> object:
        """ "WxH" → (W, H)."""
        if not isinstance(value, str):
            return value
        width, _, height = value.lower().partition("x")
        if not (width.isdigit() and height.isdigit()):
            raise ValueError("must look like 512x512")
        return int(width), int(height)

    @model_validator(mode="after")
    def _check_video(self) -> Self:
        """Avatar settings are checked when the worker starts, with the plugin's own rules."""
        try:
            self.avatar_options()
        except ValueError as e:
            raise ValueError(f"STREAMING_AVATAR_VIDEO_SIZE / _FPS / _IDLE_FPS: {e}") from None
        return self

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
        return replace(
            options,
            avatars_dir=self.avatars_dir,
            extra_avatars_dirs=(self.uploads_dir,),
            cache_dir=self.cache_dir,
            models_dir=self.models_dir,
        )

    @property
    def avatar_dirs(self) -> tuple[Path, Path]:
        """Where packs are looked for: the shipped ones first, so an uploaded pack never shadows one."""
        return self.avatars_dir, self.uploads_dir

    @property
    def engine_config(self) -> EngineConfig:
        return EngineConfig(models_dir=self.models_dir)

    @property
    def fault_switch(self) -> FaultSwitch | None:
        return FaultSwitch(self.faults_file) if self.faults_file else None

    def uses_cloud(self) -> bool:
        """auto → cloud when a Gemini key is present, else the offline profile."""
        if self.voice_profile == "auto":
            return bool(os.environ.get("GOOGLE_API_KEY"))
        return self.voice_profile == "cloud"
