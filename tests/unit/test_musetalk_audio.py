"""MuseTalk v1.5 audio windows: frame counts, step ranges, zero padding, the streaming look-ahead, and
incremental feature computation in a session."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import WhisperFeatureExtractor

from livekit.plugins.musetalk.engines.musetalk.audio_features import (
    AudioWindow,
    frame_count,
    frame_windows,
    plan_window,
    positional_encoding,
    ready_frames,
    resample_to_16k,
    samples_needed,
    step_count,
)
from livekit.plugins.musetalk.engines.musetalk.inference import DeviceAvatar, RenderItem
from livekit.plugins.musetalk.engines.musetalk.prepare import AvatarMaterial
from livekit.plugins.musetalk.engines.musetalk.session import MuseTalkSession

LAYERS, D = 5, 4


def _labelled_states(steps: int = 1500) -> torch.Tensor:
    """(steps, layers, D) where every value names its step and layer: 1000 x step + layer + 1."""
    labels = 1000 * torch.arange(steps)[:, None] + torch.arange(LAYERS)[None, :] + 1
    return labels[..., None].expand(steps, LAYERS, D).float()


def test_frame_and_step_counts_of_a_known_length() -> None:
    samples = 40_000  # 2.5 s at 16 kHz
    assert frame_count(samples) == 62  # floor(2.5 x 25)
    assert step_count(samples) == 125  # floor(2.5 x 50)


def test_each_frame_reads_steps_2i_minus_4_to_2i_plus_5_with_zero_padding() -> None:
    samples = 40_000
    window = plan_window(0, samples, ended=True)
    assert window == AudioWindow(first_step=0, end=samples, frames=range(62), total_steps=125)
    tokens = frame_windows(_labelled_states(), window)
    assert tokens.shape == (62, 50, D)
    for frame in (0, 1, 30, 61):
        got = tokens[frame, :, 0].reshape(10, LAYERS)
        for offset in range(10):
            step = 2 * frame - 4 + offset
            expected = 1000 * step + torch.arange(LAYERS) + 1 if 0 <= step < 125 else torch.zeros(LAYERS)
            assert torch.equal(got[offset], expected.float()), (frame, step)


def test_look_ahead_is_92_5_ms_past_the_frame() -> None:
    for frame in range(5):
        assert samples_needed(frame) - 640 * (frame + 1) == 1480  # 92.5 ms at 16 kHz
    assert ready_frames(2119, ended=False) == 0
    assert ready_frames(2120, ended=False) == 1
    assert ready_frames(640 * 10 + 2120, ended=False) == 11
    assert ready_frames(640 * 10, ended=True) == 10


def test_long_utterances_use_the_newest_window_that_covers_the_frames() -> None:
    window = plan_window(1000, 60 * 16_000, ended=False)  # frame 1000 is at 40 s
    assert window is not None
    assert window.frames == range(1000, 1250)
    assert window.first_step <= 2 * 1000 - 4 and window.end - window.start <= 30 * 16_000
    tokens = frame_windows(_labelled_states(), window)
    assert tokens[0, 0, 0] == 1000 * (2 * 1000 - 4 - window.first_step) + 1


def test_positional_encoding_is_the_fixed_sinusoid() -> None:
    table = positional_encoding(8, 50)
    assert table.shape == (50, 8)
    assert torch.allclose(table[:, 0], torch.sin(torch.arange(50.0)))
    assert torch.allclose(table[:, 1], torch.cos(torch.arange(50.0)))
    assert torch.allclose(table[3, 6], torch.sin(torch.tensor(3.0) / 10000 ** (6 / 8)))


def test_resampling_is_independent_of_where_the_window_is_cut() -> None:
    pcm = (np.sin(np.arange(48_000) / 7.0) * 8000).astype(np.int16)
    whole = resample_to_16k(pcm, 48_000, 0, 16_000)
    assert np.array_equal(resample_to_16k(pcm, 48_000, 4000, 9000), whole[4000:9000])
    assert np.allclose(resample_to_16k(pcm[:16_000], 16_000, 0, 16_000), pcm[:16_000] / 32768)


class _RecordingScheduler:
    """Stands in for the model scheduler: counts encoder windows, renders the avatar frame unchanged."""

    def __init__(self) -> None:
        self.windows = 0

    def attach(self) -> None: ...

    def detach(self) -> None: ...

    def encode_audio(self, mel: np.ndarray, deadline: float) -> torch.Tensor:
        assert mel.shape == (80, 3000)
        self.windows += 1
        return torch.zeros(1500, LAYERS, D)

    def render(self, item: RenderItem, deadline: float) -> torch.Tensor:
        assert item.audio.shape == (50, D)
        return item.avatar.frames[item.frame]


def _session(scheduler: _RecordingScheduler) -> MuseTalkSession:
    material = AvatarMaterial(
        frames=np.zeros((1, 8, 8, 3), np.uint8),
        boxes=np.array([[0, 0, 8, 8]], np.int32),
        latents=np.zeros((1, 8, 32, 32), np.float32),
        masks=np.zeros((1, 8, 8), np.uint8),
    )
    avatar = DeviceAvatar.from_material(material, torch.device("cpu"), torch.float32)
    return MuseTalkSession(avatar, scheduler, WhisperFeatureExtractor(), sample_rate=16_000)  # type: ignore[arg-type]


def test_a_streamed_utterance_is_computed_incrementally_three_frames_behind_its_audio() -> None:
    scheduler = _RecordingScheduler()
    session = _session(scheduler)
    pcm = (np.random.default_rng(0).standard_normal(640 * 12) * 1000).astype(np.int16)
    shown = []
    for k in range(12):  # audio arrives one frame at a time, as in real time
        session.push_audio(pcm[640 * k : 640 * (k + 1)])
        frame = session.next_frame()
        if frame.speaking:
            shown.append(frame.audio)
    assert len(shown) == 12 - 3  # the first speech frame needs 4 frames of audio, then one per push
    assert session.queued_frames() == 3
    assert scheduler.windows == len(shown)  # one small window per newly ready frame, never the whole utterance
    session.end_segment()
    while (frame := session.next_frame()).speaking:
        shown.append(frame.audio)
    assert np.array_equal(np.concatenate(shown), pcm)
    assert session.queued_frames() == 0


def test_a_burst_is_computed_in_one_window_and_clear_drops_it() -> None:
    scheduler = _RecordingScheduler()
    session = _session(scheduler)
    session.push_audio(np.ones(16_000, np.int16))
    session.end_segment()
    session.push_audio(np.ones(1000, np.int16))  # the next utterance, still open
    assert session.queued_frames() == 25 + 1
    assert all(session.next_frame().speaking for _ in range(25))
    assert scheduler.windows == 1
    assert not session.next_frame().speaking  # 1000 samples: a whole frame but no look-ahead yet
    session.clear()
    assert session.queued_frames() == 0
    session.close()
    with pytest.raises(RuntimeError):
        session.next_frame()
