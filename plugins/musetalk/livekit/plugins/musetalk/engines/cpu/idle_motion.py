"""What keeps a still portrait alive: blinks and slight head motion, deterministic per seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLINK_PROFILE = (0.45, 1.0, 1.0, 0.7, 0.35, 0.1)  # eyelid closure per frame at 25 fps
BLINK_GAP_SECONDS = (1.8, 6.0)
DOUBLE_BLINK_CHANCE = 0.12


@dataclass(frozen=True)
class HeadPose:
    """Small rigid head motion: pixels of shift and degrees of roll about the neck."""

    dx: float = 0.0
    dy: float = 0.0
    roll_degrees: float = 0.0


class BlinkSchedule:
    """Eyelid closure (0 open .. 1 closed) per frame, with randomised intervals."""

    def __init__(self, fps: int, seed: int) -> None:
        self._rng = np.random.default_rng(seed)
        self._fps = fps
        self._profile = _resample(BLINK_PROFILE, fps)
        self._frames_to_next = self._gap_frames()
        self._blink_frame = -1

    def next(self) -> float:
        if self._blink_frame >= 0:
            closure = self._profile[self._blink_frame]
            self._blink_frame += 1
            if self._blink_frame == len(self._profile):
                self._blink_frame = -1
                double = self._rng.random() < DOUBLE_BLINK_CHANCE
                self._frames_to_next = 2 if double else self._gap_frames()
            return float(closure)
        self._frames_to_next -= 1
        if self._frames_to_next <= 0:
            self._blink_frame = 0
        return 0.0

    def _gap_frames(self) -> int:
        return max(1, round(self._rng.uniform(*BLINK_GAP_SECONDS) * self._fps))


class HeadMotion:
    """Slow sway (sums of incommensurate sines) plus a small nod that follows speech loudness."""

    def __init__(self, fps: int, seed: int, amplitude_px: float) -> None:
        rng = np.random.default_rng(seed + 1)
        self._fps = fps
        self._amplitude = amplitude_px
        self._frequencies = rng.uniform(0.07, 0.45, size=(3, 3))  # (dof, component) in Hz
        self._phases = rng.uniform(0.0, 2 * np.pi, size=(3, 3))
        self._weights = np.array([0.55, 0.3, 0.15])
        self._nod = 0.0

    def pose(self, frame_index: int, loudness: float) -> HeadPose:
        t = frame_index / self._fps
        sway = (np.sin(2 * np.pi * self._frequencies * t + self._phases) @ self._weights) * self._amplitude
        self._nod += 0.25 * (loudness - self._nod)
        return HeadPose(
            dx=float(sway[0]),
            dy=float(sway[1] * 0.6 + self._nod * self._amplitude * 0.8),
            roll_degrees=float(sway[2] * 0.5),
        )


def _resample(profile: tuple[float, ...], fps: int) -> np.ndarray:
    """The 25 fps blink profile stretched to `fps` (a blink lasts the same time at any rate)."""
    count = max(2, round(len(profile) * fps / 25))
    return np.interp(np.linspace(0, len(profile) - 1, count), np.arange(len(profile)), profile)
