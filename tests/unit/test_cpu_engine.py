"""The CPU engine on the default pack: lip motion follows the audio, idle stays alive, frames keep time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agent.offline.espeak import SAMPLE_RATE as ESPEAK_RATE
from agent.offline.espeak import synthesize
from livekit.plugins.musetalk import AvatarFrame, AvatarPack
from livekit.plugins.musetalk.engines.cpu import CpuEngine, CpuSession, Liveliness, PreparedPortrait
from livekit.plugins.musetalk.engines.cpu.mouth_driver import MouthDriver
from livekit.plugins.musetalk.engines.cpu.viseme_model import VisemeModel

SAMPLE_RATE = 16000
FPS = 25
FRAME_SAMPLES = SAMPLE_RATE // FPS


@pytest.fixture(scope="module")
def prepared(avatar_cache: Path, default_pack: AvatarPack) -> PreparedPortrait:
    return CpuEngine().prepare(default_pack)


def session(
    prepared: PreparedPortrait,
    *,
    head_motion_px: float = 0.0,
    blinks: bool = False,
    seed: int = 7,
    sample_rate: int = SAMPLE_RATE,
) -> CpuSession:
    engine = CpuEngine(Liveliness(seed=seed, head_motion_px=head_motion_px, blinks=blinks))
    return engine.new_session(prepared, sample_rate=sample_rate)


def speech_like(seconds: float, seed: int = 3) -> np.ndarray:
    """Syllable-like bursts: a voiced harmonic tone with a vowel-ish spectrum under a smooth envelope, with pauses."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * SAMPLE_RATE), np.float32)
    position = int(0.2 * SAMPLE_RATE)
    while position < len(out):
        length = int(rng.uniform(0.12, 0.3) * SAMPLE_RATE)
        t = np.arange(length) / SAMPLE_RATE
        f0 = rng.uniform(150, 230)
        formant = rng.uniform(300, 2500)
        tone = sum(
            np.sin(2 * np.pi * f0 * k * t) / k * np.exp(-(((f0 * k - formant) / 900) ** 2)) for k in range(1, 20)
        )
        envelope = np.sin(np.pi * t / t[-1]) ** 2 * rng.uniform(0.15, 1.0)
        burst = tone / np.abs(tone).max() * envelope * 0.5
        end = min(len(out), position + length)
        out[position:end] = burst[: end - position]
        position = end + int(rng.uniform(0.05, 0.35) * SAMPLE_RATE)
    return (out * 32767).astype(np.int16)


def region(frame: AvatarFrame, box: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = box
    return frame.image[y0:y1, x0:x1].astype(np.int16)


def drain(s: CpuSession) -> list[AvatarFrame]:
    frames = []
    while s.queued_frames():
        frames.append(s.next_frame())
    return frames


def test_frames_are_rgb_at_the_pack_size(prepared: PreparedPortrait) -> None:
    frame = session(prepared).next_frame()
    assert frame.image.shape == (prepared.spec.height, prepared.spec.width, 3)
    assert frame.image.dtype == np.uint8
    assert frame.audio is None and not frame.speaking


def test_the_mouth_moves_in_speech_and_rests_in_pauses(prepared: PreparedPortrait) -> None:
    s = session(prepared)
    closed = region(s.next_frame(), prepared.material.mouth_box)
    s.push_audio(speech_like(4.0))
    frames = drain(s)
    change = np.array([np.abs(region(f, prepared.material.mouth_box) - closed).mean() for f in frames])
    silent = np.array([not np.any(f.audio) for f in frames])
    settled = silent & np.roll(silent, 1) & np.roll(silent, 2)  # a pause's third frame on: the mouth has closed
    assert change.max() > 2.0, "the mouth never visibly moved"
    assert settled.sum() >= 10 and change[settled].max() < 0.5, "the mouth stayed open in a pause"


def test_loudness_sets_how_wide_the_mouth_opens(prepared: PreparedPortrait) -> None:
    """The same vowel, after the voice's level is known, opens wider when louder."""
    calibration = synthesize("Hello there, how are you today?", "en-us")
    vowel = synthesize("Ah.", "en-us")
    openings = []
    for gain in (1.0, 0.2):
        s = session(prepared, sample_rate=ESPEAK_RATE)
        s.push_audio(calibration)
        drain(s)
        s.push_audio((vowel * gain).astype(np.int16))
        widest = 0.0
        while s.queued_frames():
            s.next_frame()
            widest = max(widest, s.last_pose.mouth.open)
        openings.append(widest)
    loud, quiet = openings
    assert loud > 1.3 * quiet


def test_silence_keeps_the_mouth_closed_while_blinks_still_happen(prepared: PreparedPortrait) -> None:
    s = session(prepared, blinks=True)
    reference = session(prepared).next_frame()
    s.push_audio(np.zeros(3 * SAMPLE_RATE, np.int16))
    frames = drain(s) + [s.next_frame() for _ in range(100)]
    assert sum(f.speaking for f in frames) == 3 * FPS
    for frame in frames:
        assert np.array_equal(
            region(frame, prepared.material.mouth_box), region(reference, prepared.material.mouth_box)
        )
    eye_changes = [
        max(np.abs(region(f, eye.box) - region(reference, eye.box)).mean() for eye in prepared.material.eyes)
        for f in frames
    ]
    assert max(eye_changes) > 5.0, "no blink in 7 s of idle"
    assert sum(change > 0 for change in eye_changes) < len(frames) / 2, "the eyes should mostly be open"


def test_head_moves_while_idle(prepared: PreparedPortrait) -> None:
    s = session(prepared, head_motion_px=2.0)
    frames = [s.next_frame() for _ in range(50)]
    box = prepared.material.head_box
    assert max(np.abs(region(f, box) - region(frames[0], box)).mean() for f in frames) > 0.5
    corner = (slice(0, 8), slice(0, 8))  # background outside the head never moves
    assert all(np.array_equal(f.image[corner], prepared.material.base[corner]) for f in frames)


def test_frame_count_matches_audio_duration(prepared: PreparedPortrait) -> None:
    s = session(prepared)
    audio = speech_like(3.3, seed=5)
    for chunk in np.array_split(audio, 17):
        s.push_audio(chunk)
    s.end_segment()
    frames = drain(s)
    assert abs(len(frames) - 3.3 * FPS) <= 1
    assert all(f.speaking and len(f.audio) == FRAME_SAMPLES for f in frames)
    played = np.concatenate([f.audio for f in frames])
    assert np.array_equal(played[: len(audio)], audio)
    assert not played[len(audio) :].any()
    assert not s.next_frame().speaking


def test_clear_empties_the_queue_and_the_next_frame_is_idle_and_closed(prepared: PreparedPortrait) -> None:
    s = session(prepared)
    closed = region(s.next_frame(), prepared.material.mouth_box)
    s.push_audio(speech_like(2.0))
    opened = [s.next_frame() for _ in range(15)]
    assert max(np.abs(region(f, prepared.material.mouth_box) - closed).mean() for f in opened) > 2.0
    s.clear()
    assert s.queued_frames() == 0
    frame = s.next_frame()
    assert not frame.speaking and frame.audio is None
    assert s.last_pose.mouth.closed
    assert np.array_equal(region(frame, prepared.material.mouth_box), closed)


def test_hold_pauses_speech_where_it_is_and_resumes_it(prepared: PreparedPortrait) -> None:
    s = session(prepared)
    speech = speech_like(1.0)
    s.push_audio(speech)
    first = [s.next_frame() for _ in range(5)]
    s.hold(True)
    held = [s.next_frame() for _ in range(10)]
    assert all(not f.speaking and f.audio is None for f in held)
    assert s.queued_frames() == 25 - 5, "held speech is kept, not dropped"
    s.hold(False)
    rest = drain(s)
    played = np.concatenate([f.audio for f in first + rest if f.audio is not None])
    assert np.array_equal(played, speech), "after the pause the reply goes on from where it stopped"


def test_clear_releases_a_hold(prepared: PreparedPortrait) -> None:
    s = session(prepared)
    s.hold(True)
    s.clear()
    s.push_audio(speech_like(0.2))
    assert s.next_frame().speaking


def test_idle_animation_is_deterministic_per_seed(prepared: PreparedPortrait) -> None:
    def poses(seed: int) -> list[object]:
        s = session(prepared, head_motion_px=1.6, blinks=True, seed=seed)
        return [(s.next_frame(), s.last_pose)[1] for _ in range(150)]

    assert poses(1) == poses(1)
    assert poses(1) != poses(2)


def test_rejects_audio_that_is_not_int16_mono(prepared: PreparedPortrait) -> None:
    s = session(prepared)
    with pytest.raises(ValueError, match="int16 mono"):
        s.push_audio(np.zeros(640, np.float32))
    with pytest.raises(ValueError, match="int16 mono"):
        s.push_audio(np.zeros((640, 2), np.int16))


def test_closed_session_refuses_work(prepared: PreparedPortrait) -> None:
    s = session(prepared)
    s.close()
    with pytest.raises(RuntimeError, match="closed"):
        s.next_frame()


def test_the_mouth_moves_at_the_same_speed_in_seconds_at_any_frame_rate() -> None:
    """Attack and release are per 40 ms and the audio is read in 10 ms hops: at 50 fps two frames do what one did."""
    vowel = synthesize("Ah.", "en-us")[: ESPEAK_RATE // 5]  # 200 ms
    model = VisemeModel.load()
    at_25, at_50 = MouthDriver(ESPEAK_RATE, 25, model), MouthDriver(ESPEAK_RATE, 50, model)
    openings_25 = [at_25.speech_frame(chunk).open for chunk in np.split(vowel, 5)]
    openings_50 = [at_50.speech_frame(chunk).open for chunk in np.split(vowel, 10)][1::2]
    assert max(openings_25) > 0.3
    np.testing.assert_allclose(openings_50, openings_25, atol=0.05)
    closing_25 = [at_25.silent_frame().open for _ in range(2)]
    closing_50 = [at_50.silent_frame().open for _ in range(4)][1::2]
    np.testing.assert_allclose(closing_50, closing_25, atol=0.05)
