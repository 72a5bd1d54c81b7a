"""The H.264 encoders: one access unit per frame, IDRs on request, rate control, picture quality, selection."""

from __future__ import annotations

import ctypes.util
import re
from collections.abc import Iterator

import av
import cv2
import numpy as np
import pytest
from livekit import rtc

from livekit.plugins.musetalk import EncoderUnavailableError
from livekit.plugins.musetalk.encoders import nvenc
from livekit.plugins.musetalk.encoders.base import EncodedUnit, EncoderOptions
from livekit.plugins.musetalk.encoders.factory import create_encoder
from livekit.plugins.musetalk.encoders.feedback import apply_feedback
from livekit.plugins.musetalk.encoders.nv12 import rgb_to_nv12
from livekit.plugins.musetalk.encoders.x264 import X264Encoder
from support.pictures import moving_frames, natural_image

SIZE = 512
FPS = 25
SPS, PPS, IDR_SLICE, NON_IDR_SLICE = 7, 8, 5, 1


def natural_frames(count: int, size: int = SIZE) -> Iterator[np.ndarray]:
    return moving_frames(natural_image(size, size), count)


def nal_types(access_unit: bytes) -> list[int]:
    """NAL unit types of an Annex-B byte stream (3-byte start codes also match 4-byte ones)."""
    return [access_unit[match.end()] & 0x1F for match in re.finditer(b"\x00\x00\x01", access_unit)]


def encode_all(encoder: X264Encoder, frames: Iterator[np.ndarray]) -> list[EncodedUnit]:
    return [encoder.encode(frame) for frame in frames]


def psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    mse = np.mean((reference.astype(np.float64) - decoded.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / mse))


def new_x264(**overrides: float) -> X264Encoder:
    return X264Encoder(EncoderOptions(width=SIZE, height=SIZE, **overrides))  # type: ignore[arg-type]


def test_each_frame_yields_its_own_access_unit_at_once() -> None:
    encoder = new_x264()
    decoder = av.CodecContext.create("h264", "r")
    for index, frame in enumerate(natural_frames(40)):
        unit = encoder.encode(frame)
        assert unit.frame_index == index
        assert unit.data.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01"))
        assert len(decoder.decode(av.Packet(unit.data))) == 1, f"frame {index} did not decode on its own arrival"


def test_idr_units_carry_sps_and_pps_and_others_do_not() -> None:
    units = encode_all(new_x264(keyframe_interval_s=2.0), natural_frames(120))
    keyframe_indices = [unit.frame_index for unit in units if unit.is_keyframe]
    assert keyframe_indices == [0, 50, 100]
    for unit in units:
        types = set(nal_types(unit.data))
        if unit.is_keyframe:
            assert {SPS, PPS, IDR_SLICE} <= types
        else:
            assert NON_IDR_SLICE in types and not types & {SPS, PPS, IDR_SLICE}


def test_forced_idr_lands_on_exactly_the_requested_frame() -> None:
    encoder = new_x264()
    units = []
    for index, frame in enumerate(natural_frames(30)):
        if index == 17:
            encoder.request_keyframe()
        units.append(encoder.encode(frame))
    assert [unit.frame_index for unit in units if unit.is_keyframe] == [0, 17]
    assert {SPS, PPS, IDR_SLICE} <= set(nal_types(units[17].data))


def bits_per_second_after_settling(encoder: X264Encoder, frames: list[np.ndarray], fps: float) -> float:
    """Encode `frames` and measure the rate over the part after the first second."""
    units = encode_all(encoder, iter(frames))
    settled = units[round(fps) :]
    return sum(len(unit.data) for unit in settled) * 8 * fps / len(settled)


def test_bitrate_change_takes_effect_on_the_fly() -> None:
    frames = list(natural_frames(3 * FPS))
    encoder = new_x264()
    assert encoder.set_bitrate(300_000) == 300_000
    low = bits_per_second_after_settling(encoder, frames, FPS)
    assert encoder.set_bitrate(2_000_000) == 2_000_000
    high = bits_per_second_after_settling(encoder, frames, FPS)
    assert low == pytest.approx(300_000, rel=0.35)
    assert high == pytest.approx(2_000_000, rel=0.35)


def test_lower_feeding_rate_keeps_the_bitrate_per_second() -> None:
    frames = list(natural_frames(6 * FPS))[::2]  # 6 s fed at 12.5 fps
    encoder = new_x264()
    encoder.set_bitrate(600_000)
    assert encoder.set_fps(12.5) == 12.5
    assert bits_per_second_after_settling(encoder, frames, 12.5) == pytest.approx(600_000, rel=0.35)


def test_bitrate_and_fps_are_clamped_to_the_options_bounds() -> None:
    encoder = new_x264()
    options = encoder.options
    assert encoder.set_bitrate(10) == options.min_bitrate_bps
    assert encoder.set_bitrate(100_000_000) == options.max_bitrate_bps
    assert encoder.set_fps(1) == options.min_fps
    assert encoder.set_fps(240) == options.max_fps


def test_decoded_stream_is_close_to_the_input_at_the_default_bitrate() -> None:
    encoder = new_x264()
    decoder = av.CodecContext.create("h264", "r")
    frames = list(natural_frames(2 * FPS))
    scores = []
    for frame in frames:
        (decoded,) = decoder.decode(av.Packet(encoder.encode(frame).data))
        scores.append(psnr(frame, decoded.to_ndarray(format="rgb24")))
    assert min(scores) >= 30.0, f"PSNR per frame: {[round(score, 1) for score in scores]}"


def test_rgb_to_nv12_matches_opencv_bt601() -> None:
    noise = np.random.default_rng(1).integers(0, 256, (96, 128, 3), dtype=np.uint8)
    for rgb in (natural_image(SIZE, SIZE), natural_image(720, 720), noise):
        height, width = rgb.shape[:2]
        i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
        u = i420[height : height * 5 // 4].reshape(height // 2, width // 2)
        v = i420[height * 5 // 4 :].reshape(height // 2, width // 2)
        reference = np.concatenate([i420[:height], np.stack([u, v], axis=-1).reshape(height // 2, width)])
        nv12 = rgb_to_nv12(rgb, np)
        assert nv12.dtype == np.uint8 and nv12.shape == (height * 3 // 2, width)
        assert np.abs(nv12.astype(np.int16) - reference).max() <= 1


def test_auto_falls_back_to_x264_when_the_nvidia_driver_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    def open_without_driver(options: EncoderOptions, gpu_id: int) -> None:
        raise RuntimeError("Failed to load NVENC library: libnvidia-encode.so.1: cannot open shared object file")

    monkeypatch.setattr(nvenc, "open_nvenc_session", open_without_driver)
    encoder, reason = create_encoder("auto", EncoderOptions(width=SIZE, height=SIZE))
    assert encoder.name == "x264"
    assert "NVENC unavailable" in reason and "libnvidia-encode" in reason


@pytest.mark.skipif(ctypes.util.find_library("nvidia-encode") is not None, reason="this machine has an NVENC driver")
def test_auto_without_a_gpu_picks_x264_and_explicit_nvenc_fails() -> None:
    options = EncoderOptions(width=SIZE, height=SIZE)
    encoder, reason = create_encoder("auto", options)
    assert encoder.name == "x264"
    assert "NVENC unavailable" in reason
    with pytest.raises(EncoderUnavailableError, match="NVENC"):
        create_encoder("nvenc", options)


def open_beyond_session_limit(options: EncoderOptions, gpu_id: int) -> None:
    """What NVIDIA's NvEncoder raises when the driver refuses one more session (NV_ENC_ERR_OUT_OF_MEMORY)."""
    raise RuntimeError(
        "NvEncoder : m_nvenc.nvEncOpenEncodeSessionEx(&encodeSessionExParams, &hEncoder) returned error 10"
    )


def test_session_limit_falls_back_to_x264_under_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nvenc, "open_nvenc_session", open_beyond_session_limit)
    encoder, reason = create_encoder("auto", EncoderOptions(width=SIZE, height=SIZE))
    assert encoder.name == "x264"
    assert "concurrent encode sessions" in reason
    assert encoder.encode(next(natural_frames(1))).is_keyframe


def test_session_limit_is_an_error_when_nvenc_is_requested(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nvenc, "open_nvenc_session", open_beyond_session_limit)
    with pytest.raises(EncoderUnavailableError, match="refused a new NVENC session"):
        create_encoder("nvenc", EncoderOptions(width=SIZE, height=SIZE))


async def test_feedback_from_a_fresh_source_changes_nothing() -> None:
    source = rtc.EncodedVideoSource(SIZE, SIZE)
    encoder = new_x264()
    frames = natural_frames(2)
    encoder.encode(next(frames))
    apply_feedback(encoder, source.take_feedback())
    assert not encoder.encode(next(frames)).is_keyframe
    assert (encoder.bitrate_bps, encoder.fps) == (encoder.options.bitrate_bps, encoder.options.fps)
    await source.aclose()


def test_feedback_keyframe_request_makes_the_next_frame_an_idr() -> None:
    encoder = new_x264()
    frames = natural_frames(3)
    encoder.encode(next(frames))
    apply_feedback(encoder, rtc.EncodedVideoSourceFeedback(keyframe_requested=True, rate_control=None))
    assert encoder.encode(next(frames)).is_keyframe
    assert not encoder.encode(next(frames)).is_keyframe


def test_feedback_bitrate_is_applied_within_bounds_and_the_frame_rate_left_to_the_clock() -> None:
    encoder = new_x264()
    rate = rtc.EncodedRateControl(target_bitrate_bps=800_000, framerate_fps=15.0)
    apply_feedback(encoder, rtc.EncodedVideoSourceFeedback(keyframe_requested=False, rate_control=rate))
    assert (encoder.bitrate_bps, encoder.fps) == (800_000, encoder.options.fps)

    too_much = rtc.EncodedRateControl(target_bitrate_bps=50_000_000, framerate_fps=0.0)
    apply_feedback(encoder, rtc.EncodedVideoSourceFeedback(keyframe_requested=False, rate_control=too_much))
    assert encoder.bitrate_bps == encoder.options.max_bitrate_bps


def test_options_reject_sizes_4_2_0_cannot_hold() -> None:
    with pytest.raises(ValueError, match="even"):
        EncoderOptions(width=511, height=512)
