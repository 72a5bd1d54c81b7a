"""The lip-sync engine seam: every engine (CPU, MuseTalk) implements these protocols.

An engine turns a prepared avatar pack plus a stream of speech PCM into video
frames, one per 1/fps seconds of audio. The session hands out each frame
together with the exact audio it shows, so the publisher can put both on one
media clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class VideoSpec:
    width: int = 512
    height: int = 512
    fps: int = 25


MIN_VIDEO_SIZE, MAX_VIDEO_SIZE, MAX_VIDEO_FPS = 64, 2048, 60
"""Bounds on the avatar video's width and height (px, even) and frame rate, from any source of settings."""


@dataclass
class AvatarFrame:
    """One video frame and the audio it lip-syncs.

    image: RGB uint8 array (H, W, 3) for CPU engines; GPU engines may hand out
        a device tensor the matching encoder accepts.
    audio: int16 mono samples shown by this frame (len == sample_rate / fps),
        or None for an idle frame (nothing is being said).
    """

    image: Any
    audio: np.ndarray | None
    speaking: bool


def mono_int16(pcm: np.ndarray) -> np.ndarray:
    """`pcm` as a 1-D int16 array, or a ValueError saying what came instead."""
    samples = np.asarray(pcm)
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise ValueError(f"expected int16 mono samples of shape (n,), got {samples.dtype} {samples.shape}")
    return samples


class LipSyncSession(Protocol):
    """Per-participant state of one avatar being driven by one audio stream."""

    sample_rate: int

    def push_audio(self, pcm: np.ndarray) -> None:
        """Queue int16 mono speech samples at `sample_rate`."""

    def end_segment(self) -> None:
        """The current utterance ended: pad its last partial frame with silence."""

    def next_frame(self) -> AvatarFrame:
        """Render the next frame: speech if a frame's worth of audio is queued, else idle."""

    def queued_frames(self) -> int:
        """Whole frames of speech audio waiting to be rendered."""

    def hold(self, held: bool) -> None:
        """Pause (True) or resume (False): while held, frames are idle and queued speech waits."""

    def clear(self) -> None:
        """Interrupt: drop queued audio (and any hold); the next frame is idle with the mouth closed."""

    def close(self) -> None: ...


class LipSyncEngine(Protocol):
    """Loads once per process; prepares packs; creates sessions."""

    name: str
    version: str

    def prepare(self, pack: Any, spec: VideoSpec) -> Any:
        """Derive (or load from cache) everything needed to animate `pack` at `spec`."""

    def new_session(self, prepared: Any, *, sample_rate: int) -> LipSyncSession: ...
