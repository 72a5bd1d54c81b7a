"""eSpeak NG's phoneme events: the ground truth of articulation measurements (bench/articulation.py)."""

from __future__ import annotations

from agent.offline.espeak import SAMPLE_RATE, synthesize_with_phonemes


def test_phonemes_come_in_order_within_the_audio() -> None:
    audio, phonemes = synthesize_with_phonemes("Mama bought a blue balloon.", "en-us")
    names = [p.name for p in phonemes]
    assert names[:3] == ["m", "'A:", "m"]
    assert names.count("b") == 3
    starts = [p.start_s for p in phonemes]
    assert starts == sorted(starts)
    assert starts[0] >= 0 and starts[-1] <= len(audio) / SAMPLE_RATE + 0.01


def test_korean_has_phonemes_too() -> None:
    audio, phonemes = synthesize_with_phonemes("반갑습니다", "ko")
    assert [p.name for p in phonemes][:2] == ["p", "'a"]
    assert phonemes[-1].start_s <= len(audio) / SAMPLE_RATE + 0.01
