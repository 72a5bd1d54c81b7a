"""Where rendered frames go: pre-encoded H.264 (x264/NVENC) or raw frames the SDK encodes."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from livekit import rtc

from .encoders import EncodedUnit, Encoder, apply_feedback
from .encoders.base import host_rgb
from .metrics import ENCODE_SECONDS, KEYFRAME_REQUESTS, RATE_UPDATES

T = TypeVar("T")


class VideoSink(Protocol):
    """prepare(image) on the render thread (encode / convert), then send(prepared, delay_s) on the loop.

    The delay is how long the frame's audio still waits in the audio source's
    queue: video leaves when its audio does, so subscribers see them together
    whether or not their player re-synchronises the streams.
    """

    source: rtc.EncodedVideoSource | rtc.VideoSource

    def publish_options(self) -> rtc.TrackPublishOptions: ...

    def prepare(self, image: Any) -> Any: ...

    def send(self, prepared: Any, delay_s: float) -> None: ...

    def hurry(self, spacing_s: float) -> int:
        """Send the frames still waiting for their delay sooner: the first now, then one every `spacing_s`.
        Returns how many there were."""

    async def aclose(self) -> None: ...


class DelayedSender(Generic[T]):
    """Sends frames after their delays, always in the order they came (H.264 needs it)."""

    def __init__(self, deliver: Callable[[T], object]) -> None:
        self._deliver = deliver
        self._waiting: deque[tuple[asyncio.TimerHandle, T]] = deque()

    def send(self, item: T, delay_s: float) -> None:
        self._waiting.append((asyncio.get_running_loop().call_later(delay_s, self._deliver_next), item))

    def _deliver_next(self) -> None:
        if self._waiting:
            self._deliver(self._waiting.popleft()[1])

    def hurry(self, spacing_s: float) -> int:
        """Reschedule the waiting frames: the first now, then one every `spacing_s` (none later than it
        was due); how many there were.

        Not all at once: a burst of frames with nearly equal capture times can make the
        subscriber's WebRTC drop some, and the picture stays corrupt until the next keyframe.
        """
        loop = asyncio.get_running_loop()
        waiting = [(timer.when() - loop.time(), item) for timer, item in self._waiting]
        self.cancel()
        for index, (due_in, item) in enumerate(waiting):
            delay = min(due_in, index * spacing_s)
            self._waiting.append((loop.call_later(delay, self._deliver_next), item))
        return len(waiting)

    def cancel(self) -> None:
        """Forget every waiting frame (the source is closing)."""
        while self._waiting:
            self._waiting.popleft()[0].cancel()


class EncodedVideoSink:
    """Encodes each frame once and hands the access unit to an `rtc.EncodedVideoSource`.

    Keyframe requests (a late joiner, packet loss) and the SDK's rate targets are
    applied to the encoder before every frame.
    """

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.source = rtc.EncodedVideoSource(encoder.options.width, encoder.options.height)
        self.frames_rejected = 0
        self._sender = DelayedSender(self._submit)

    def publish_options(self) -> rtc.TrackPublishOptions:
        return rtc.TrackPublishOptions(
            source=rtc.TrackSource.SOURCE_CAMERA,
            video_codec=rtc.VideoCodec.H264,
            video_encoder=rtc.VideoEncoderBackend.ENCODER_BACKEND_PRE_ENCODED,
            simulcast=False,
            video_encoding=rtc.VideoEncoding(
                max_bitrate=self.encoder.options.max_bitrate_bps, max_framerate=self.encoder.options.fps
            ),
        )

    def prepare(self, image: Any) -> EncodedUnit:
        feedback = self.source.take_feedback()
        if feedback.keyframe_requested:
            KEYFRAME_REQUESTS.inc()
        if feedback.rate_control is not None:
            RATE_UPDATES.inc()
        apply_feedback(self.encoder, feedback)
        started = time.perf_counter()
        unit = self.encoder.encode(image)
        ENCODE_SECONDS.observe(time.perf_counter() - started)
        return unit

    def send(self, prepared: EncodedUnit, delay_s: float) -> None:
        self._sender.send(prepared, delay_s)

    def hurry(self, spacing_s: float) -> int:
        return self._sender.hurry(spacing_s)

    def _submit(self, unit: EncodedUnit) -> None:
        frame_type = rtc.EncodedFrameType.ENCODED_FRAME_KEY if unit.is_keyframe else rtc.EncodedFrameType.ENCODED_FRAME_DELTA
        accepted = self.source.capture_frame(
            rtc.EncodedVideoFrame(
                data=unit.data,
                width=self.encoder.options.width,
                height=self.encoder.options.height,
                codec=rtc.VideoCodec.H264,
                frame_type=frame_type,
                timestamp_us=time.monotonic_ns() // 1000,
            )
        )
        if not accepted:
            self.frames_rejected += 1

    async def aclose(self) -> None:
        self._sender.cancel()
        self.encoder.close()
        await self.source.aclose()


class RawVideoSink:
    """RGB frames to an `rtc.VideoSource`; the SDK's own encoder (and simulcast) takes over."""

    def __init__(self, width: int, height: int) -> None:
        self.source = rtc.VideoSource(width, height)
        self._width, self._height = width, height
        self._sender = DelayedSender(self.source.capture_frame)

    def publish_options(self) -> rtc.TrackPublishOptions:
        return rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA)

    def prepare(self, image: Any) -> rtc.VideoFrame:
        return rtc.VideoFrame(self._width, self._height, rtc.VideoBufferType.RGB24, host_rgb(image).tobytes())

    def send(self, prepared: rtc.VideoFrame, delay_s: float) -> None:
        self._sender.send(prepared, delay_s)

    def hurry(self, spacing_s: float) -> int:
        return self._sender.hurry(spacing_s)

    async def aclose(self) -> None:
        self._sender.cancel()
        await self.source.aclose()
