"""Software H.264 on the CPU: libx264 through PyAV, tuned for WebRTC."""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np
from av.video.codeccontext import VideoCodecContext
from av.video.frame import PictureType

from .base import EncodedUnit, EncoderOptions, EncoderState, host_rgb


class X264Encoder(EncoderState):
    """libx264, preset ultrafast, tune zerolatency, constrained baseline, one slice, no B-frames.

    Rate control is CBR opened at `options.max_bitrate_bps`: libx264 can lower
    its bitrate on the fly but never raise it above the rate it was opened at.
    """

    name = "x264"

    def __init__(self, options: EncoderOptions) -> None:
        super().__init__(options)
        self._codec: VideoCodecContext | None = _open_codec(options)
        self._keyframe_requested = False
        self._apply_rate()

    def encode(self, frame: np.ndarray) -> EncodedUnit:
        codec = self._require_open()
        frame = host_rgb(frame)
        expected_shape = (self._options.height, self._options.width, 3)
        if frame.shape != expected_shape or frame.dtype != np.uint8:
            raise ValueError(
                f"x264 expects a uint8 RGB array of shape {expected_shape}, got {frame.dtype} {frame.shape}"
            )
        # cv2 converts several times faster than PyAV's swscale (docs/architecture.md); both are BT.601 limited range.
        i420 = np.asarray(cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420), dtype=np.uint8)  # uint8 in, uint8 out: no copy
        yuv = av.VideoFrame.from_ndarray(i420, format="yuv420p")
        yuv.pts = self._frame_index
        if self._keyframe_requested:
            yuv.pict_type = PictureType.I
        packets = codec.encode(yuv)
        if len(packets) != 1:
            raise RuntimeError(f"libx264 returned {len(packets)} packets for one frame; expected exactly one")
        self._keyframe_requested = False
        unit = EncodedUnit(data=bytes(packets[0]), is_keyframe=packets[0].is_keyframe, frame_index=self._frame_index)
        self._frame_index += 1
        return unit

    def request_keyframe(self) -> None:
        self._keyframe_requested = True

    def set_bitrate(self, bps: int) -> int:
        self._bitrate_bps = self._options.clamp_bitrate(bps)
        self._apply_rate()
        return self._bitrate_bps

    def set_fps(self, fps: float) -> float:
        self._fps = self._options.clamp_fps(fps)
        self._apply_rate()
        return self._fps

    def close(self) -> None:
        self._codec = None

    def _apply_rate(self) -> None:
        """Give libx264 the per-frame budget that meets the target at the current feeding rate.

        libx264 runs constant frame rate at the opening fps and budgets
        bit_rate / opening fps per frame, so feeding fewer frames needs a
        proportionally higher nominal bit_rate (capped at the opening ceiling).
        """
        nominal = round(self._bitrate_bps * self._options.fps / self._fps)
        self._require_open().bit_rate = min(nominal, self._options.max_bitrate_bps)

    def _require_open(self) -> VideoCodecContext:
        if self._codec is None:
            raise RuntimeError("the x264 encoder is closed; create a new one")
        return self._codec


def _open_codec(options: EncoderOptions) -> VideoCodecContext:
    codec = av.CodecContext.create("libx264", "w")
    frame_rate = Fraction(options.fps).limit_denominator(1001)
    codec.width = options.width
    codec.height = options.height
    codec.pix_fmt = "yuv420p"
    codec.framerate = frame_rate
    codec.time_base = 1 / frame_rate
    codec.gop_size = options.keyframe_interval_frames
    codec.max_b_frames = 0
    codec.thread_count = 1
    codec.bit_rate = options.max_bitrate_bps
    codec.options = {
        "preset": "ultrafast",
        "tune": "zerolatency",
        "profile": "baseline",
        "maxrate": str(options.max_bitrate_bps),
        "bufsize": str(options.rate_buffer_bits),
    }
    codec.open()
    return codec
