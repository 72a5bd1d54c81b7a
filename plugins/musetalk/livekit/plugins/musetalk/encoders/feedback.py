"""Forward WebRTC's keyframe requests and rate targets to the encoder."""

from __future__ import annotations

from livekit import rtc

from .base import Encoder


def apply_feedback(encoder: Encoder, feedback: rtc.EncodedVideoSourceFeedback) -> None:
    """Apply one `rtc.EncodedVideoSource.take_feedback()` result; the encoder clamps to its bounds.

    Only the bitrate is taken. WebRTC's `framerate_fps` is its measurement of the
    rate we feed it; obeying it by sending fewer frames lowers the next
    measurement, and the stream spirals down to a few frames per second (seen at
    a subscriber on a loaded machine). The media clock sets the frame rate.
    """
    if feedback.keyframe_requested:
        encoder.request_keyframe()
    if feedback.rate_control is not None:
        encoder.set_bitrate(feedback.rate_control.target_bitrate_bps)
