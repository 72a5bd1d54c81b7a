"""Articulation read from rendered pixels: do the lips close for p/b/m, round for "oo", open for "a"?

eSpeak NG speaks each utterance and reports when each phoneme starts (ground
truth). An engine renders a prepared avatar from that audio alone; the
face-landmark model the packs use reads every rendered frame's lip aperture and
mouth width (both relative to the face width). Over a set of utterances:

- bilabial_closure_rate: share of p/b/m phonemes during which (±1 frame) some
  frame's aperture is below the closed threshold (rest aperture + CLOSED_MARGIN);
- round_vs_spread_auc: how well narrower mouths tell rounded-vowel frames from
  spread-vowel frames (1.0 separates them, 0.5 is chance);
- open_vs_closed_auc: how well wider apertures tell open-vowel frames from bilabial frames.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from agent.offline.espeak import SAMPLE_RATE, Phoneme, synthesize_with_phonemes
from livekit.plugins.musetalk.engines.cpu import CpuEngine, PreparedPortrait
from livekit.plugins.musetalk.engines.cpu.visemes import Viseme, espeak_viseme
from livekit.plugins.musetalk.landmarks import detect_face

from .articulation_corpus import Utterance

FPS = 25
IDLE_FRAMES = 10
CLOSED_MARGIN = 0.02
"""Aperture (share of the face width) above the rest pose's that still counts as closed lips."""
UPPER_LIP, LOWER_LIP, MOUTH_LEFT, MOUTH_RIGHT, CHEEK_LEFT, CHEEK_RIGHT = 13, 14, 61, 291, 234, 454


@dataclass
class Mouth:
    aperture: float
    width: float


@dataclass
class Scores:
    """What one set of utterances showed; merge sets with `+=`."""

    bilabials: int = 0
    closures: int = 0
    rounded: list[float] = field(default_factory=list)  # mouth width of each rounded vowel's middle frame
    spread: list[float] = field(default_factory=list)
    opened: list[float] = field(default_factory=list)  # widest aperture during each open vowel
    closed: list[float] = field(default_factory=list)  # narrowest aperture during each bilabial
    render_ms: list[float] = field(default_factory=list)

    def __iadd__(self, other: Scores) -> Scores:
        self.bilabials += other.bilabials
        self.closures += other.closures
        for name in ("rounded", "spread", "opened", "closed", "render_ms"):
            getattr(self, name).extend(getattr(other, name))
        return self

    @property
    def bilabial_closure_rate(self) -> float | None:
        return round(self.closures / self.bilabials, 3) if self.bilabials else None

    @property
    def round_vs_spread_auc(self) -> float | None:
        return auc([-w for w in self.rounded], [-w for w in self.spread])

    @property
    def open_vs_closed_auc(self) -> float | None:
        return auc(self.opened, self.closed)

    def summary(self) -> dict[str, object]:
        return {
            "bilabial_closure_rate": self.bilabial_closure_rate,
            "bilabials": self.bilabials,
            "round_vs_spread_auc": self.round_vs_spread_auc,
            "rounded_spread_phonemes": [len(self.rounded), len(self.spread)],
            "open_vs_closed_auc": self.open_vs_closed_auc,
            "open_closed_phonemes": [len(self.opened), len(self.closed)],
        }


def measure(frame: np.ndarray) -> Mouth | None:
    try:
        points = detect_face(frame).points
    except ValueError:
        return None
    face = float(np.linalg.norm(points[CHEEK_RIGHT] - points[CHEEK_LEFT]))
    aperture = float(points[LOWER_LIP, 1] - points[UPPER_LIP, 1]) / face
    width = float(np.linalg.norm(points[MOUTH_RIGHT] - points[MOUTH_LEFT])) / face
    return Mouth(max(aperture, 0.0), width)


def render(engine: CpuEngine, prepared: PreparedPortrait, audio: np.ndarray) -> tuple[list[np.ndarray], list[float]]:
    """Idle frames, then the speech frames of `audio` (all queued at once, as TTS runs ahead); and the
    render ms of each speech frame."""
    session = engine.new_session(prepared, sample_rate=SAMPLE_RATE)
    frames = [np.asarray(session.next_frame().image) for _ in range(IDLE_FRAMES)]
    session.push_audio(audio)
    session.end_segment()
    render_ms = []
    while session.queued_frames():
        started = time.perf_counter()
        frames.append(np.asarray(session.next_frame().image))
        render_ms.append((time.perf_counter() - started) * 1000)
    return frames, render_ms


def auc(positive: list[float], negative: list[float]) -> float | None:
    """P(a positive scores above a negative), ties half (Mann-Whitney)."""
    if not positive or not negative:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return round(wins / (len(positive) * len(negative)), 3)


def phoneme_frames(phonemes: list[Phoneme], index: int, total: int) -> range:
    """The speech frames a phoneme spans, ±1 frame."""
    start = phonemes[index].start_s
    end = phonemes[index + 1].start_s if index + 1 < len(phonemes) else start + 1 / FPS
    first = max(0, int(start * FPS) - 1)
    return range(first, min(total, max(first + 1, int(np.ceil(end * FPS)) + 1)))


def speak(utterance: Utterance) -> tuple[np.ndarray, list[Phoneme]]:
    return synthesize_with_phonemes(utterance.text, utterance.voice, rate_wpm=utterance.rate_wpm, pitch=utterance.pitch)


def score(
    engine: CpuEngine, prepared: PreparedPortrait, utterance: Utterance
) -> tuple[Scores, list[np.ndarray], list[Mouth | None], list[Phoneme]]:
    """The scores of one utterance, with its frames, their mouths and its phonemes (speech frames only)."""
    audio, phonemes = speak(utterance)
    frames, render_ms = render(engine, prepared, audio)
    mouths = [measure(frame) for frame in frames]
    rest = [m.aperture for m in mouths[:IDLE_FRAMES] if m is not None]
    threshold = float(np.median(rest)) + CLOSED_MARGIN
    speech = mouths[IDLE_FRAMES:]
    scores = Scores(render_ms=render_ms)
    for i, phoneme in enumerate(phonemes):
        span = [m for m in (speech[f] for f in phoneme_frames(phonemes, i, len(speech))) if m is not None]
        if not span:
            continue
        viseme = espeak_viseme(phoneme.name)
        middle = span[len(span) // 2]
        if viseme is Viseme.BILABIAL:
            scores.bilabials += 1
            scores.closures += any(m.aperture < threshold for m in span)
            scores.closed.append(min(m.aperture for m in span))
        elif viseme is Viseme.ROUNDED:
            scores.rounded.append(middle.width)
        elif viseme is Viseme.SPREAD:
            scores.spread.append(middle.width)
        elif viseme is Viseme.OPEN:
            scores.opened.append(max(m.aperture for m in span))
    return scores, frames[IDLE_FRAMES:], speech, phonemes


def score_languages(
    engine: CpuEngine, prepared: PreparedPortrait, utterances: Iterable[Utterance]
) -> dict[str, Scores]:
    by_language: dict[str, Scores] = {}
    for utterance in utterances:
        by_language.setdefault(utterance.language, Scores())
        by_language[utterance.language] += score(engine, prepared, utterance)[0]
    return by_language
