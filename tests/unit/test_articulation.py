"""The CPU engine articulates, read from its rendered pixels by the packs' face-landmark model.

Ground truth is eSpeak NG's phoneme events for the same speech; the engine
hears the audio only. Scores pool the tuning and held-out utterances of each
language (tests/support/articulation_corpus.py says which is which;
bench/articulation.py reports them apart).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from agent.offline.espeak import SAMPLE_RATE, synthesize
from livekit.plugins.musetalk import load_pack
from livekit.plugins.musetalk.engines.cpu import CpuEngine, PreparedPortrait
from support.articulation import CLOSED_MARGIN, IDLE_FRAMES, Scores, measure, render, score_languages
from support.articulation_corpus import HELD_OUT, TUNING
from support.paths import REPO


@pytest.fixture(scope="module")
def engine() -> CpuEngine:
    cv2.setNumThreads(1)
    return CpuEngine()


@pytest.fixture(scope="module")
def prepared(engine: CpuEngine, tmp_path_factory: pytest.TempPathFactory) -> PreparedPortrait:
    return engine.prepare(load_pack("default", REPO / "avatars"), cache_root=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def scores(engine: CpuEngine, prepared: PreparedPortrait) -> dict[str, Scores]:
    return score_languages(engine, prepared, TUNING + HELD_OUT)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_lips_close_for_bilabials(scores: dict[str, Scores], language: str) -> None:
    result = scores[language]
    assert result.bilabials >= 40 if language == "en" else result.bilabials >= 30
    assert result.bilabial_closure_rate is not None and result.bilabial_closure_rate >= 0.9, result.summary()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_rounded_vowels_are_narrower_than_spread_ones(scores: dict[str, Scores], language: str) -> None:
    result = scores[language]
    assert min(len(result.rounded), len(result.spread)) >= 20
    assert result.round_vs_spread_auc is not None and result.round_vs_spread_auc >= 0.85, result.summary()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_open_vowels_open_wider_than_bilabials(scores: dict[str, Scores], language: str) -> None:
    result = scores[language]
    assert result.open_vs_closed_auc is not None and result.open_vs_closed_auc >= 0.95, result.summary()


def test_silence_after_speech_is_the_closed_rest_mouth(engine: CpuEngine, prepared: PreparedPortrait) -> None:
    frames, _ = render(engine, prepared, synthesize("Open your mouth wide, and say ah.", "en-us"))
    session = engine.new_session(prepared, sample_rate=SAMPLE_RATE)
    rest = [measure(np.asarray(session.next_frame().image)) for _ in range(IDLE_FRAMES)]
    threshold = float(np.median([m.aperture for m in rest if m])) + CLOSED_MARGIN
    speaking = [measure(frame) for frame in frames[IDLE_FRAMES:]]
    assert max(m.aperture for m in speaking if m) > threshold + 0.03, "the mouth never opened"
    session.push_audio(synthesize("ah", "en-us"))
    session.end_segment()
    while session.queued_frames():
        session.next_frame()
    after = [measure(np.asarray(session.next_frame().image)) for _ in range(5)]
    assert all(m is not None and m.aperture < threshold for m in after[2:]), "silence did not close the mouth"


def test_an_interrupt_returns_to_the_rest_mouth_at_once(engine: CpuEngine, prepared: PreparedPortrait) -> None:
    session = engine.new_session(prepared, sample_rate=SAMPLE_RATE)
    rest = measure(np.asarray(session.next_frame().image))
    session.push_audio(synthesize("Father saw a large car far away.", "en-us"))
    opened = max(
        (measure(np.asarray(session.next_frame().image)) for _ in range(20)), key=lambda m: m.aperture if m else 0
    )
    assert rest is not None and opened is not None and opened.aperture > rest.aperture + 0.03
    session.clear()
    after = measure(np.asarray(session.next_frame().image))
    assert after is not None and after.aperture < rest.aperture + CLOSED_MARGIN
