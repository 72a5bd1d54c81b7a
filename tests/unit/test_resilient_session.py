"""ResilientSession: when the engine fails mid-speech, every queued sample still plays, exactly once."""

from __future__ import annotations

import numpy as np
import pytest

from livekit.plugins.musetalk import AvatarFrame, VideoSpec
from livekit.plugins.musetalk.resilient_session import SLOW_WINDOW, ResilientSession
from support.render_faults import EngineFaults, FaultySession
from support.solid_engine import IDLE_RGB, SolidSession

SPEC = VideoSpec(width=16, height=16, fps=25)
RATE = 16000
PER_FRAME = RATE // SPEC.fps


def solid(faults: EngineFaults, fallbacks: list[str]) -> ResilientSession:
    inner = FaultySession(
        SolidSession(SPEC, {"speaking": [0, 200, 0], "idle": list(IDLE_RGB)}, sample_rate=RATE), faults
    )
    return ResilientSession(inner, SPEC, inner.next_frame().image, on_fallback=fallbacks.append)


def played(session: ResilientSession, frames: int) -> tuple[np.ndarray, list[AvatarFrame]]:
    out = [session.next_frame() for _ in range(frames)]
    audio = [f.audio for f in out if f.speaking and f.audio is not None]
    return (np.concatenate(audio) if audio else np.zeros(0, np.int16)), out


@pytest.mark.parametrize("fail_after", [0, 1, 7])
def test_the_speech_plays_on_once_the_engine_raises(fail_after: int) -> None:
    faults, fallbacks = EngineFaults(), []
    session = solid(faults, fallbacks)
    speech = np.arange(1, 10 * PER_FRAME + 301, dtype=np.int16)
    session.push_audio(speech)
    session.end_segment()
    before, _ = played(session, fail_after)
    faults.raise_in_render = True
    after, frames = played(session, 12)
    heard = np.concatenate([before, after])
    assert np.array_equal(heard[: len(speech)], speech), "every sample once, in order"
    assert not heard[len(speech) :].any(), "then only the padding of the last frame"
    assert len(fallbacks) == 1 and "failed (RuntimeError)" in fallbacks[0]
    assert np.array_equal(frames[-1].image, np.full((16, 16, 3), IDLE_RGB, np.uint8)), "the still face is at rest"
    assert not frames[-1].speaking


def test_an_interrupt_after_the_fallback_drops_the_queued_speech() -> None:
    faults, fallbacks = EngineFaults(), []
    session = solid(faults, fallbacks)
    faults.raise_in_render = True
    session.push_audio(np.ones(5 * PER_FRAME, np.int16))
    session.next_frame()
    session.clear()
    assert not session.speech_ready()
    assert not any(f.speaking for f in played(session, 3)[1])


def test_a_slow_engine_is_given_up_after_a_window_of_late_frames() -> None:
    faults, fallbacks = EngineFaults(render_delay_s=1.05 / SPEC.fps), []
    session = solid(faults, fallbacks)
    played(session, SLOW_WINDOW - 1)
    assert not session.failed
    played(session, 1)
    assert session.failed and "too slow" in fallbacks[0]
