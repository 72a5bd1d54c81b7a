"""The lip-sync engine seam: every engine implements these protocols and is registered in `registry.py`.

An engine turns a prepared avatar pack plus a stream of speech PCM into video
frames, one per 1/fps seconds of audio. The session hands out each frame
together with the exact audio it shows, so the publisher can put both on one
media clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import numpy as np

from ..caches import cache_path, prepare_cached
from ..packs import AvatarPack
from ..types import AvatarFrame, Pcm, ProgressCallback, VideoSpec

M = TypeVar("M")
PREVIEW_FILE = "preview.png"


@dataclass(frozen=True)
class PreparedAvatar(Generic[M]):
    """A pack made ready for one engine at one video size: `material` is whatever that engine animates."""

    pack_id: str
    spec: VideoSpec
    material: M
    cache_dir: Path
    from_cache: bool

    @property
    def preview_path(self) -> Path:
        return self.cache_dir / PREVIEW_FILE


class LipSyncSession(Protocol):
    """Per-participant state of one avatar being driven by one audio stream.

    Every method may be called from any thread; a session serialises them itself.
    """

    sample_rate: int

    def push_audio(self, pcm: Pcm) -> None:
        """Queue int16 mono speech samples at `sample_rate`."""

    def end_segment(self) -> None:
        """The current utterance ended: pad its last partial frame with silence."""

    def speech_ready(self) -> bool:
        """Whether the next `next_frame()` renders speech (not held, and the engine has all the audio it needs)."""

    def next_frame(self) -> AvatarFrame:
        """Render the next frame: speech if `speech_ready()`, else idle."""

    def queued_frames(self) -> int:
        """Whole frames of speech audio waiting to be rendered."""

    def hold(self, held: bool) -> None:
        """Pause (True) or resume (False): while held, frames are idle and queued speech waits."""

    def clear(self) -> None:
        """Interrupt: drop queued audio (and any hold); the next frame is idle with the mouth closed."""

    def close(self) -> None: ...


class LipSyncEngine(Protocol[M]):
    """Loads once per process (see `registry.py`); prepares packs; creates sessions."""

    name: str

    @property
    def cache_version(self) -> str:
        """Keys the prepared caches: changes whenever what `prepare` derives would change."""

    def prepare(
        self,
        pack: AvatarPack,
        spec: VideoSpec | None = None,
        *,
        cache_root: Path | None = None,
        progress: ProgressCallback | None = None,
    ) -> PreparedAvatar[M]:
        """Load `pack`'s material for `spec` (default: the pack's) from the cache, or derive it.

        Raises AvatarPackError on a broken pack.
        """

    def new_session(self, prepared: PreparedAvatar[M], *, sample_rate: int) -> LipSyncSession: ...

    def warm_up(self) -> None:
        """Make the first session fast (load kernels, run a pass); a no-op for engines that need none."""


def prepare_avatar(
    engine: LipSyncEngine[M],
    pack: AvatarPack,
    spec: VideoSpec,
    *,
    build: Callable[[Path, ProgressCallback], None],
    load: Callable[[Path], M],
    cache_root: Path | None,
    progress: ProgressCallback | None,
) -> PreparedAvatar[M]:
    """What every engine's `prepare` does: its material from the pack's cache, built there first if needed.

    `build(directory, report)` writes the cache files (a preview among them) and reports progress;
    `load(directory)` reads them back.
    """
    report = progress or (lambda step, fraction: None)
    cached = prepare_cached(
        pack, cache_path(pack, engine.name, engine.cache_version, spec, cache_root), lambda d: build(d, report), load
    )
    report("ready", 1.0)
    return PreparedAvatar(pack.id, spec, cached.value, cached.directory, from_cache=not cached.built)


def mono_int16(pcm: Pcm) -> Pcm:
    """`pcm` as a 1-D int16 array, or a ValueError saying what came instead."""
    samples = np.asarray(pcm)
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise ValueError(f"expected int16 mono samples of shape (n,), got {samples.dtype} {samples.shape}")
    return samples
