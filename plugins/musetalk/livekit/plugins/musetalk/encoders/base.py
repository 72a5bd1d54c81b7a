"""What every H.264 encoder of the avatar video offers the publisher."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

Frame = Any
"""An (H, W, 3) uint8 RGB image: a numpy array, or a CUDA torch tensor for NVENC."""


@dataclass(frozen=True)
class EncoderOptions:
    """Opening parameters and the bounds that on-the-fly changes are clamped to.

    The defaults suit a 512x512 talking head: ~1.2 Mbps looks clean, and the
    2.5 Mbps ceiling is what x264 opens its CBR rate control at (it can lower
    its bitrate later, never raise it above the opening rate).
    """

    width: int
    height: int
    fps: float = 25.0
    bitrate_bps: int = 1_200_000
    min_bitrate_bps: int = 100_000
    max_bitrate_bps: int = 2_500_000
    min_fps: float = 5.0
    max_fps: float = 30.0
    keyframe_interval_s: float = 2.0
    rate_buffer_s: float = 0.5
    """Rate-control (VBV) buffer in seconds at the ceiling bitrate: small keeps frame sizes even."""

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0 or self.width % 2 or self.height % 2:
            raise ValueError(f"frame size must be positive and even for 4:2:0 video, got {self.width}x{self.height}")
        if not self.min_bitrate_bps <= self.bitrate_bps <= self.max_bitrate_bps:
            raise ValueError(
                f"bitrate_bps={self.bitrate_bps} must lie within "
                f"[{self.min_bitrate_bps}, {self.max_bitrate_bps}] (min_bitrate_bps, max_bitrate_bps)"
            )
        if not 0 < self.min_fps <= self.fps <= self.max_fps:
            raise ValueError(f"fps={self.fps} must lie within [{self.min_fps}, {self.max_fps}] (min_fps, max_fps)")
        if self.keyframe_interval_s <= 0 or self.rate_buffer_s <= 0:
            raise ValueError(
                f"keyframe_interval_s and rate_buffer_s must be positive, "
                f"got {self.keyframe_interval_s} and {self.rate_buffer_s}"
            )

    @property
    def keyframe_interval_frames(self) -> int:
        return max(1, round(self.keyframe_interval_s * self.fps))

    @property
    def rate_buffer_bits(self) -> int:
        return round(self.max_bitrate_bps * self.rate_buffer_s)

    def clamp_bitrate(self, bps: int) -> int:
        return min(max(int(bps), self.min_bitrate_bps), self.max_bitrate_bps)

    def clamp_fps(self, fps: float) -> float:
        return min(max(float(fps), self.min_fps), self.max_fps)


@dataclass(frozen=True)
class EncodedUnit:
    """One H.264 access unit in Annex-B form (start codes, SPS+PPS in-band on keyframes)."""

    data: bytes
    is_keyframe: bool
    frame_index: int


class Encoder(Protocol):
    """One encoder per published video track; not thread-safe.

    `encode` has no delay: the unit for frame t is returned by the call that
    takes frame t.
    """

    @property
    def name(self) -> str: ...

    @property
    def options(self) -> EncoderOptions: ...

    @property
    def bitrate_bps(self) -> int:
        """The current target bitrate."""
        ...

    @property
    def fps(self) -> float:
        """The rate the caller feeds frames at; the caller skips frames to honour it."""
        ...

    def encode(self, frame: Frame) -> EncodedUnit: ...

    def request_keyframe(self) -> None:
        """Make the next encoded frame an IDR with SPS and PPS in-band."""
        ...

    def set_bitrate(self, bps: int) -> int:
        """Retarget the bitrate, clamped to the options' bounds; returns the value applied."""
        ...

    def set_fps(self, fps: float) -> float:
        """Declare a new feeding rate, clamped to the options' bounds; returns the value applied."""
        ...

    def close(self) -> None: ...


def host_rgb(frame: Frame) -> np.ndarray:
    """A frame as a host (H, W, 3) uint8 array; a GPU tensor (MuseTalk without NVENC) is copied down."""
    if isinstance(frame, np.ndarray):
        return frame
    return np.asarray(frame.cpu())


class EncoderState:
    """What every encoder keeps: its options, the rate it encodes at now, and the frame count."""

    name: str

    def __init__(self, options: EncoderOptions) -> None:
        self._options = options
        self._bitrate_bps = options.bitrate_bps
        self._fps = options.fps
        self._frame_index = 0

    @property
    def options(self) -> EncoderOptions:
        return self._options

    @property
    def bitrate_bps(self) -> int:
        return self._bitrate_bps

    @property
    def fps(self) -> float:
        return self._fps
