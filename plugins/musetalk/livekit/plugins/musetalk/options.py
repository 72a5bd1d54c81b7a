"""`AvatarOptions`: how an avatar is rendered, carried whole from `AvatarSession` to the engine.

The same object travels to a remote render worker (`RenderRequest`), minus the
directories, which are each machine's own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal

from .engines import EngineConfig
from .packs import default_avatars_dir
from .types import MAX_VIDEO_FPS, MAX_VIDEO_SIZE, MIN_VIDEO_SIZE

VideoEncoderChoice = Literal["auto", "x264", "nvenc", "raw"]
DEFAULT_AVATAR = "default"
LOCAL_PATHS = ("avatars_dir", "extra_avatars_dirs", "cache_dir", "models_dir")


@dataclass(frozen=True)
class AvatarOptions:
    avatar: str = DEFAULT_AVATAR
    """The avatar pack's id (a directory of `avatars_dir`)."""
    engine: str = "auto"
    """"auto" or a registered engine's name ("cpu", "musetalk", or your own)."""
    video_encoder: VideoEncoderChoice = "auto"
    width: int | None = None
    """Video size and frame rate; None: the pack's."""
    height: int | None = None
    fps: int | None = None
    idle_fps: int | None = None
    """Frames per second published while the avatar is silent (None: all of them). Rounded to a whole
    fraction of `fps`; skipped idle frames are rendered (idle motion keeps its pace) but not encoded or sent.
    Fewer idle frames cost less to encode, send and decode; speech always goes out at `fps`."""
    sample_rate: int = 24000
    audio_queue_ms: int = 100
    avatars_dir: Path | None = None
    """Where packs live (None: `$MUSETALK_AVATARS_DIR`, else the nearest `avatars/`)."""
    extra_avatars_dirs: tuple[Path, ...] = ()
    """More directories of packs, searched after `avatars_dir` (e.g. packs users uploaded): a pack
    in `avatars_dir` wins over one of the same id here."""
    cache_dir: Path | None = None
    """Where prepared caches go (None: `$MUSETALK_CACHE_DIR`, else `~/.cache/streaming-avatar`)."""
    models_dir: Path | None = None
    """Where engines find their weights (None: each engine's default; MuseTalk: `$MUSETALK_MODELS_DIR`)."""

    def __post_init__(self) -> None:
        """The same bounds as a pack manifest's, so bad settings fail here, not in a running job."""
        for name, size in (("width", self.width), ("height", self.height)):
            if size is not None and not (MIN_VIDEO_SIZE <= size <= MAX_VIDEO_SIZE and size % 2 == 0):
                raise ValueError(
                    f"{name}={size}: the avatar's {name} must be even, {MIN_VIDEO_SIZE}–{MAX_VIDEO_SIZE} px"
                )
        if self.fps is not None and not 1 <= self.fps <= MAX_VIDEO_FPS:
            raise ValueError(f"fps={self.fps}: the avatar's frame rate must be 1–{MAX_VIDEO_FPS}")
        if self.idle_fps is not None and not 1 <= self.idle_fps <= (self.fps or MAX_VIDEO_FPS):
            raise ValueError(f"idle_fps={self.idle_fps}: must be at least 1 and at most the frame rate")

    @property
    def avatar_dirs(self) -> list[Path]:
        """Where the pack is looked for, in order."""
        return [self.avatars_dir or default_avatars_dir(), *self.extra_avatars_dirs]

    @property
    def engine_config(self) -> EngineConfig:
        return EngineConfig(models_dir=self.models_dir)

    def portable(self) -> dict[str, Any]:
        """The options another machine can apply: all but the local directories."""
        return {name: value for name, value in asdict(self).items() if name not in LOCAL_PATHS}

    @classmethod
    def from_portable(cls, data: dict[str, Any]) -> AvatarOptions:
        """Options from `portable()`'s fields found in `data` (others keep their defaults; extra keys are ignored).

        Raises ValueError or TypeError on bad values.
        """
        names = {f.name for f in fields(cls)} - set(LOCAL_PATHS)
        return cls(**{name: value for name, value in data.items() if name in names})
