"""Keep the voice going when the lip-sync engine fails: the face holds still, the speech plays on.

Without this, an engine that raises stops the pacer, and with it the avatar's audio: the user
hears nothing more and the agent waits for playback that never ends. An engine that falls
behind real time makes the audio stutter, because each frame's audio goes out with its frame.

`ResilientSession` wraps any engine's session and keeps its own copy of the speech queued in it.
When the engine raises, or has rendered slower than real time for `SLOW_WINDOW` frames in a
row, the session gives up on the engine for the rest of the conversation: every later frame is
the last idle frame the engine rendered (mouth at rest), carrying the queued speech as before.
`on_fallback` gets one sentence for the room.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import numpy as np

from .engines.base import LipSyncSession
from .log import logger
from .types import AvatarFrame, FrameImage, Pcm, VideoSpec

P = ParamSpec("P")
R = TypeVar("R")

SLOW_WINDOW = 50
"""Frames in a row (2 s at 25 fps) slower than the frame duration before the engine is given up."""


class ResilientSession:
    def __init__(
        self,
        inner: LipSyncSession,
        spec: VideoSpec,
        rest_image: FrameImage,
        *,
        on_fallback: Callable[[str], None] | None = None,
    ) -> None:
        """`rest_image`: what to show if the engine fails before it renders an idle frame (the pack's preview)."""
        self.sample_rate = inner.sample_rate
        self._inner = inner
        self._samples_per_frame = inner.sample_rate // spec.fps
        self._frame_s = 1 / spec.fps
        self._on_fallback = on_fallback or (lambda sentence: None)
        self._queued = np.zeros(0, np.int16)
        self._segment_open = False
        self._held = False
        self._failed = False
        self._slow_frames = 0
        self._rest_image = rest_image
        self._lock = threading.Lock()

    @property
    def failed(self) -> bool:
        return self._failed

    # The lock guards only this session's own copy of the speech: the engine's session serialises
    # itself, and holding a lock across a render would block the event loop's pushes for that long.

    def push_audio(self, pcm: Pcm) -> None:
        with self._lock:
            self._queued = np.concatenate([self._queued, pcm])
            self._segment_open = True
        self._guarded(self._inner.push_audio, pcm)

    def end_segment(self) -> None:
        with self._lock:
            partial = len(self._queued) % self._samples_per_frame
            if self._segment_open and partial:
                self._queued = np.concatenate([self._queued, np.zeros(self._samples_per_frame - partial, np.int16)])
            self._segment_open = False
        self._guarded(self._inner.end_segment)

    def speech_ready(self) -> bool:
        ready = self._guarded(self._inner.speech_ready)
        if not self._failed:
            return bool(ready)
        with self._lock:
            return not self._held and len(self._queued) >= self._samples_per_frame

    def next_frame(self) -> AvatarFrame:
        started = time.perf_counter()
        frame = self._guarded(self._inner.next_frame)
        with self._lock:
            if frame is not None:
                self._follow(frame, time.perf_counter() - started)
                return frame
            return self._still_frame()

    def queued_frames(self) -> int:
        queued = self._guarded(self._inner.queued_frames)
        if queued is not None:
            return int(queued)
        with self._lock:
            return len(self._queued) // self._samples_per_frame

    def hold(self, held: bool) -> None:
        with self._lock:
            self._held = held
        self._guarded(self._inner.hold, held)

    def clear(self) -> None:
        with self._lock:
            self._queued = np.zeros(0, np.int16)
            self._segment_open = False
            self._held = False
        self._guarded(self._inner.clear)

    def close(self) -> None:
        self._guarded(self._inner.close)

    def _follow(self, frame: AvatarFrame, render_s: float) -> None:
        if frame.speaking and frame.audio is not None:
            self._queued = self._queued[len(frame.audio) :]
        elif not frame.speaking:
            self._rest_image = frame.image
        self._slow_frames = self._slow_frames + 1 if render_s > self._frame_s else 0
        if self._slow_frames >= SLOW_WINDOW:
            self._give_up(
                f"the lip-sync engine is too slow on this machine ({render_s * 1000:.0f} ms per frame, "
                f"{self._frame_s * 1000:.0f} ms allowed); the avatar's face stays still, its voice goes on"
            )

    def _still_frame(self) -> AvatarFrame:
        if self._held or len(self._queued) < self._samples_per_frame:
            return AvatarFrame(self._rest_image, None, speaking=False)
        audio, self._queued = self._queued[: self._samples_per_frame], self._queued[self._samples_per_frame :]
        return AvatarFrame(self._rest_image, audio, speaking=True)

    def _guarded(self, call: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R | None:
        if self._failed:
            return None
        try:
            return call(*args, **kwargs)
        except Exception as e:
            logger.exception("the lip-sync engine failed; the avatar's face stays still from now on")
            self._give_up(
                f"the lip-sync engine failed ({type(e).__name__}); the avatar's face stays still, its voice goes on"
            )
            return None

    def _give_up(self, sentence: str) -> None:
        if self._failed:
            return
        self._failed = True
        self._on_fallback(sentence)
