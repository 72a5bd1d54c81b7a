"""Where rendered frames go: pre-encoded H.264 (x264/NVENC) or raw frames the SDK encodes.

NVENC note (not run on a GPU yet): frames are encoded on the sink's sender thread, not the
render thread; PyNvVideoCodec takes the CUDA tensor from whichever thread calls encode.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from livekit import rtc

from .encoders import Encoder, apply_feedback
from .encoders.base import EncodedUnit, host_rgb
from .log import logger
from .metrics import ENCODE_SECONDS, FRAMES_DROPPED, KEYFRAME_REQUESTS, RATE_UPDATES

T = TypeVar("T")

MAX_ENCODER_REPLACEMENTS = 3
"""Encoders opened in place of failed ones per session; after that a failing encoder stops the video."""


SPEECH_FRAME, IDLE_FRAME = b"\x01", b"\x00"
FRAME_METADATA_FEATURES = [
    rtc.FrameMetadataFeature.FMF_FRAME_ID,
    rtc.FrameMetadataFeature.FMF_USER_TIMESTAMP,
    rtc.FrameMetadataFeature.FMF_USER_DATA,
]


def avatar_frame_metadata(number: int, speaking: bool, audio_plays_at: float) -> rtc.FrameMetadata:
    """What each avatar video frame carries to subscribers (docs/room-protocol.md): its number on the
    media clock, the wall-clock time (µs) its audio starts playing at the sender, and whether it shows speech."""
    return rtc.FrameMetadata(
        frame_id=number, user_timestamp=round(audio_plays_at * 1e6), user_data=SPEECH_FRAME if speaking else IDLE_FRAME
    )


class VideoSink(Protocol):
    """send(image, delay_s) from the pacer; the sink converts or encodes the frame and hands it to
    its source on its own thread once the delay has passed.

    The delay is how long the frame's audio still waits in the audio source's
    queue: video leaves when its audio does, so subscribers see them together
    whether or not their player re-synchronises the streams. Frames are encoded only
    when they go out, so those still waiting can be dropped when their audio is.
    """

    @property
    def source(self) -> rtc.EncodedVideoSource | rtc.VideoSource: ...

    def publish_options(self) -> rtc.TrackPublishOptions: ...

    def send(self, image: Any, delay_s: float, metadata: rtc.FrameMetadata) -> None: ...

    def drop_waiting(self) -> int:
        """Forget the frames not sent yet (their audio was dropped); how many there were."""

    async def aclose(self) -> None: ...


class DelayedSender(Generic[T]):
    """Delivers items on its own thread once their delays have passed, in the order they came.

    The delivery work (encoding, the SDK's capture call) runs here, off the event loop,
    and only for frames that are really sent. Items are expected with non-decreasing due
    times (the pacer spaces them); one due earlier than the item before it waits for it.
    At most `max_waiting` wait (normally a few: the audio queue's worth); if delivery falls
    further behind, the oldest are dropped unsent and counted.
    """

    def __init__(self, deliver: Callable[[T], object], name: str = "avatar-video", max_waiting: int = 25) -> None:
        self._deliver = deliver
        self._max_waiting = max_waiting
        self._waiting: deque[tuple[float, T]] = deque()
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def send(self, item: T, delay_s: float) -> None:
        with self._wake:
            self._waiting.append((time.perf_counter() + delay_s, item))
            if len(self._waiting) > self._max_waiting:
                self._waiting.popleft()
                FRAMES_DROPPED.labels(reason="sender_behind").inc()
            self._wake.notify()

    def drop_waiting(self) -> int:
        with self._wake:
            dropped = len(self._waiting)
            self._waiting.clear()
            return dropped

    def close(self) -> None:
        """Forget every waiting item and stop the thread (after the delivery under way, if any)."""
        with self._wake:
            self._closed = True
            self._waiting.clear()
            self._wake.notify()
        self._thread.join()

    def _run(self) -> None:
        failures = 0
        while (item := self._next_due()) is not None:
            try:
                self._deliver(item[0])
            except Exception:
                # The first failure with its traceback, then a count now and then: 25 a second would flood the log.
                failures += 1
                if failures == 1:
                    logger.exception("an avatar video frame could not be sent; the video stalls while this lasts")
                elif failures % 250 == 0:
                    logger.error("%d avatar video frames could not be sent so far", failures)

    def _next_due(self) -> tuple[T] | None:
        with self._wake:
            while not self._closed:
                if not self._waiting:
                    self._wake.wait()
                    continue
                due_in = self._waiting[0][0] - time.perf_counter()
                if due_in <= 0:
                    return (self._waiting.popleft()[1],)
                self._wake.wait(due_in)
            return None


class SenderThreadSink:
    """What both sinks share: frames wait in a DelayedSender and `_deliver` hands each to the source
    on the sender's thread when it is due."""

    def __init__(self) -> None:
        self._sender: DelayedSender[tuple[Any, rtc.FrameMetadata]] = DelayedSender(self._deliver_due)

    def send(self, image: Any, delay_s: float, metadata: rtc.FrameMetadata) -> None:
        self._sender.send((image, metadata), delay_s)

    def drop_waiting(self) -> int:
        return self._sender.drop_waiting()

    def _deliver_due(self, frame: tuple[Any, rtc.FrameMetadata]) -> None:
        self._deliver(*frame)

    def _deliver(self, image: Any, metadata: rtc.FrameMetadata) -> None:
        raise NotImplementedError


class EncodedVideoSink(SenderThreadSink):
    """Encodes each frame as it goes out and hands the access unit to an `rtc.EncodedVideoSource`.

    Keyframe requests (a late joiner, packet loss) and the SDK's rate targets are
    applied to the encoder before every frame.
    """

    def __init__(
        self,
        encoder: Encoder,
        *,
        replacement: Callable[[], Encoder] | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        """`replacement` opens a new encoder when this one fails mid-session (at most
        MAX_ENCODER_REPLACEMENTS times); `on_notice` gets a sentence for the room, on the sender thread."""
        self.encoder = encoder
        self.source = rtc.EncodedVideoSource(encoder.options.width, encoder.options.height)
        self.frames_rejected = 0
        self.frames_sent = 0
        self.replacements = 0
        self._keyframe_requests = 0
        self._replacement = replacement
        self._on_notice = on_notice or (lambda sentence: None)
        super().__init__()

    def publish_options(self) -> rtc.TrackPublishOptions:
        return rtc.TrackPublishOptions(
            source=rtc.TrackSource.SOURCE_CAMERA,
            video_codec=rtc.VideoCodec.H264,
            video_encoder=rtc.VideoEncoderBackend.ENCODER_BACKEND_PRE_ENCODED,
            simulcast=False,
            video_encoding=rtc.VideoEncoding(
                max_bitrate=self.encoder.options.max_bitrate_bps, max_framerate=self.encoder.options.fps
            ),
            frame_metadata_features=FRAME_METADATA_FEATURES,
        )

    def _deliver(self, image: Any, metadata: rtc.FrameMetadata) -> None:
        feedback = self.source.take_feedback()
        if feedback.keyframe_requested:
            KEYFRAME_REQUESTS.inc()
            self._keyframe_requests += 1
            if self._keyframe_requests <= 3:  # the first ones: a subscriber's first picture waits for them
                extra = {"number": self._keyframe_requests, "frames_sent": self.frames_sent}
                logger.info("keyframe request", extra=extra)
        if feedback.rate_control is not None:
            RATE_UPDATES.inc()
        apply_feedback(self.encoder, feedback)
        started = time.perf_counter()
        try:
            unit = self.encoder.encode(image)
        except Exception as e:
            unit = self._encode_with_replacement(image, e)
        ENCODE_SECONDS.observe(time.perf_counter() - started)
        frame_type = (
            rtc.EncodedFrameType.ENCODED_FRAME_KEY if unit.is_keyframe else rtc.EncodedFrameType.ENCODED_FRAME_DELTA
        )
        accepted = self.source.capture_frame(
            rtc.EncodedVideoFrame(
                data=unit.data,
                width=self.encoder.options.width,
                height=self.encoder.options.height,
                codec=rtc.VideoCodec.H264,
                frame_type=frame_type,
                timestamp_us=time.monotonic_ns() // 1000,
                metadata=metadata,
            )
        )
        self.frames_sent += 1
        if not accepted:
            self.frames_rejected += 1

    def _encode_with_replacement(self, image: Any, error: Exception) -> EncodedUnit:
        """Encode `image` with a new encoder in place of the failed one (whose error is re-raised when
        no more replacements are allowed: the video then stalls, the voice goes on)."""
        failed = self.encoder.name
        if self._replacement is None or self.replacements >= MAX_ENCODER_REPLACEMENTS:
            if self.replacements == MAX_ENCODER_REPLACEMENTS:
                self.replacements += 1
                self._on_notice(f"the avatar's video encoder keeps failing ({type(error).__name__}); the video stops")
            raise error
        logger.error("the video encoder %s failed; opening another", failed, exc_info=error)
        with contextlib.suppress(Exception):
            self.encoder.close()
        self.encoder = self._replacement()
        self.replacements += 1
        self._on_notice(
            f"the avatar's video encoder {failed} failed ({type(error).__name__}); continuing with {self.encoder.name}"
        )
        return self.encoder.encode(image)

    async def aclose(self) -> None:
        self._sender.close()
        self.encoder.close()
        await self.source.aclose()


class RawVideoSink(SenderThreadSink):
    """RGB frames to an `rtc.VideoSource`; the SDK's own encoder (and simulcast) takes over."""

    def __init__(self, width: int, height: int) -> None:
        self.source = rtc.VideoSource(width, height)
        self._width, self._height = width, height
        super().__init__()

    def publish_options(self) -> rtc.TrackPublishOptions:
        return rtc.TrackPublishOptions(
            source=rtc.TrackSource.SOURCE_CAMERA, frame_metadata_features=FRAME_METADATA_FEATURES
        )

    def _deliver(self, image: Any, metadata: rtc.FrameMetadata) -> None:
        self.source.capture_frame(
            rtc.VideoFrame(self._width, self._height, rtc.VideoBufferType.RGB24, host_rgb(image).tobytes()),
            metadata=metadata,
        )

    async def aclose(self) -> None:
        self._sender.close()
        await self.source.aclose()
