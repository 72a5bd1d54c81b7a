"""One avatar driven by one audio stream: audio queue in, one frame per 1/fps seconds out."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

from ...types import AvatarFrame, Pcm, VideoSpec
from ..base import mono_int16
from .idle_motion import BlinkSchedule, HeadMotion
from .mouth_driver import MouthDriver
from .renderer import FacePose, Renderer
from .rig import FaceRig
from .viseme_model import VisemeModel

LOOKAHEAD_FRAMES = 2  # of queued audio the mouth reads past the frame it renders


@dataclass(frozen=True)
class Liveliness:
    """Idle animation settings. `head_motion_px` is the sway amplitude at 512 px wide (scaled with size)."""

    seed: int = 0
    head_motion_px: float = 1.6
    blinks: bool = True


class CpuSession:
    def __init__(
        self, rig: FaceRig, spec: VideoSpec, *, sample_rate: int, liveliness: Liveliness, visemes: VisemeModel
    ) -> None:
        if sample_rate % spec.fps:
            raise ValueError(
                f"sample_rate {sample_rate} Hz is not a whole number of samples per frame at {spec.fps} fps"
            )
        self.sample_rate = sample_rate
        self.samples_per_frame = sample_rate // spec.fps
        self.last_pose = FacePose()
        self._renderer = Renderer(rig)
        self._mouth = MouthDriver(sample_rate, spec.fps, visemes)
        self._blinks = BlinkSchedule(spec.fps, liveliness.seed) if liveliness.blinks else None
        self._head = HeadMotion(spec.fps, liveliness.seed, liveliness.head_motion_px * spec.width / 512)
        self._queue: deque[Pcm] = deque()
        self._queued_samples = 0
        self._frame_index = 0
        self._lock = threading.Lock()
        self._held = False
        self._closed = False

    def push_audio(self, pcm: Pcm) -> None:
        samples = mono_int16(pcm)
        with self._lock:
            self._ensure_open()
            if len(samples):
                self._queue.append(samples.copy())
                self._queued_samples += len(samples)

    def end_segment(self) -> None:
        with self._lock:
            partial = self._queued_samples % self.samples_per_frame
            if partial:
                padding = self.samples_per_frame - partial
                self._queue.append(np.zeros(padding, np.int16))
                self._queued_samples += padding

    def next_frame(self) -> AvatarFrame:
        with self._lock:
            self._ensure_open()
            audio = None if self._held else self._take_frame_audio()
            lookahead = self._peek(LOOKAHEAD_FRAMES * self.samples_per_frame) if audio is not None else None
        mouth = self._mouth.speech_frame(audio, lookahead) if audio is not None else self._mouth.silent_frame()
        blink = self._blinks.next() if self._blinks else 0.0
        pose = FacePose(mouth=mouth, blink=blink, head=self._head.pose(self._frame_index, mouth.open))
        self._frame_index += 1
        self.last_pose = pose
        return AvatarFrame(image=self._renderer.render(pose), audio=audio, speaking=audio is not None)

    def speech_ready(self) -> bool:
        with self._lock:
            return not self._held and self._queued_samples >= self.samples_per_frame

    def queued_frames(self) -> int:
        with self._lock:
            return self._queued_samples // self.samples_per_frame

    def hold(self, held: bool) -> None:
        with self._lock:
            self._held = held

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._queued_samples = 0
            self._held = False
            self._mouth.reset()

    def close(self) -> None:
        self.clear()
        self._closed = True

    def _ensure_open(self) -> None:
        if self._closed:
            raise RuntimeError("this lip-sync session is closed")

    def _peek(self, count: int) -> Pcm | None:
        """Up to `count` queued samples, left in the queue."""
        parts, needed = [], count
        for chunk in self._queue:
            if not needed:
                break
            parts.append(chunk[:needed])
            needed -= len(parts[-1])
        return np.concatenate(parts) if parts else None

    def _take_frame_audio(self) -> Pcm | None:
        if self._queued_samples < self.samples_per_frame:
            return None
        parts, needed = [], self.samples_per_frame
        while needed:
            head = self._queue[0]
            if len(head) <= needed:
                parts.append(self._queue.popleft())
                needed -= len(head)
            else:
                parts.append(head[:needed])
                self._queue[0] = head[needed:]
                needed = 0
        self._queued_samples -= self.samples_per_frame
        return np.concatenate(parts)
