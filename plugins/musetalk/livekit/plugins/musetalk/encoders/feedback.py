"""Forward WebRTC's keyframe requests and rate targets to the encoder."""

from __future__ import annotations

from livekit import rtc

from .base import Encoder


def apply_feedback(encoder: Encoder, feedback: rtc.EncodedVideoSourceFeedback) -> None:
    """Apply one `rtc.EncodedVideoSource.take_feedback()` result; the encoder clamps to its bounds.

    A frame rate of 0 means WebRTC has no frame-rate target, so the rate is left as is.
    """
    if feedback.keyframe_requested:
        encoder.request_keyframe()
    rate = feedback.rate_control
    if rate is None:
        return
    encoder.set_bitrate(rate.target_bitrate_bps)
    if rate.framerate_fps > 0:
        encoder.set_fps(rate.framerate_fps)
