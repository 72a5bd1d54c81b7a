"""Articulation measured from rendered pixels: do the lips close for p/b/m, round for "oo", open for "a"?

    python bench/articulation.py [--pack ID] [--json OUT]

eSpeak NG speaks each sentence and reports when each phoneme starts (ground
truth). The CPU engine renders an avatar pack (`default` unless --pack names
another) from that audio alone; the face-landmark model the packs use reads
every rendered frame's lip aperture and mouth width (both relative to the face
width). Per language:

- bilabial_closure_rate: share of p/b/m phonemes during which (±1 frame) some
  frame's aperture is below the closed threshold (rest aperture + CLOSED_MARGIN);
- round_vs_spread_auc: how well narrower mouths tell rounded-vowel frames from
  spread-vowel frames (1.0 separates them, 0.5 is chance);
- open_vs_closed_auc: how well wider apertures tell open-vowel frames from bilabial frames.

Render ms/frame (512², speaking frames, this process, one thread) comes with it.
This is the baseline of issue 14's articulation work: today's engine, audio only.
"""

# ruff: noqa: E402  (the thread limits must be set before numpy and OpenCV load)

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import time
from dataclasses import dataclass

import cv2
import numpy as np
from _common import json_arg_parser, machine, print_table, summary, write_json

from agent.offline.espeak import SAMPLE_RATE, Phoneme, synthesize_with_phonemes
from livekit.plugins.musetalk import load_pack
from livekit.plugins.musetalk.engines.cpu import CpuEngine, PreparedPortrait
from livekit.plugins.musetalk.landmarks import detect_face
from support.paths import REPO

FPS = 25
IDLE_FRAMES = 25
CLOSED_MARGIN = 0.02
"""Aperture (share of the face width) above the rest pose's that still counts as closed lips."""
UPPER_LIP, LOWER_LIP, MOUTH_LEFT, MOUTH_RIGHT, CHEEK_LEFT, CHEEK_RIGHT = 13, 14, 61, 291, 234, 454

SENTENCES = {
    "en": [
        ("en-us", "Mama bought a blue balloon. We see three sheep."),
        ("en", "Bob put the map by the pool, and Sue saw a shoe."),  # "en" is British English
        ("en-us", "Pam may buy a big blue boat; Eve keeps the key."),
    ],
    "ko": [
        ("ko", "반갑습니다. 우리 엄마는 부산에 삽니다."),
        ("ko", "바다 보러 가요. 오늘 비가 옵니다."),
    ],
}
BILABIAL = {"p", "b", "m"}
ROUNDED = {"u", "U", "o", "O", "w", "oU", "o@", "O@", "0", "u@"}
SPREAD = {"i", "I", "e", "E", "eI", "i@", "I2", "e@"}
OPEN = {"a", "A", "aI", "aU", "a#", "&", "A@"}


@dataclass
class Mouth:
    aperture: float
    width: float


def base_symbol(phoneme: str) -> str:
    return phoneme.strip("',").replace(":", "")


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
    """Idle frames, then the speech frames of `audio`; and the render ms of each speech frame."""
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


def main() -> None:
    parser = json_arg_parser(__doc__)
    parser.add_argument("--pack", default="default", help="avatar pack id in avatars/ (default: default)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    engine = CpuEngine()
    prepared = engine.prepare(load_pack(args.pack, REPO / "avatars"))
    results: dict[str, dict[str, object]] = {}
    all_render_ms: list[float] = []
    for language, sentences in SENTENCES.items():
        closures, bilabials = 0, 0
        rounded, spread, opened, closed = [], [], [], []
        for voice, text in sentences:
            audio, phonemes = synthesize_with_phonemes(text, voice)
            frames, render_ms = render(engine, prepared, audio)
            all_render_ms += render_ms
            mouths = [measure(frame) for frame in frames]
            rest = [m.aperture for m in mouths[:IDLE_FRAMES] if m is not None]
            threshold = float(np.median(rest)) + CLOSED_MARGIN
            speech = mouths[IDLE_FRAMES:]
            for i, phoneme in enumerate(phonemes):
                symbol = base_symbol(phoneme.name)
                span = [m for m in (speech[f] for f in phoneme_frames(phonemes, i, len(speech))) if m is not None]
                if not span:
                    continue
                middle = span[len(span) // 2]
                if symbol in BILABIAL:
                    bilabials += 1
                    closures += any(m.aperture < threshold for m in span)
                    closed.append(min(m.aperture for m in span))
                elif symbol in ROUNDED:
                    rounded.append(-middle.width)
                elif symbol in SPREAD:
                    spread.append(-middle.width)
                if symbol in OPEN:
                    opened.append(max(m.aperture for m in span))
        results[language] = {
            "bilabial_closure_rate": round(closures / bilabials, 3) if bilabials else None,
            "bilabials": bilabials,
            "round_vs_spread_auc": auc(rounded, spread),
            "rounded_spread_frames": [len(rounded), len(spread)],
            "open_vs_closed_auc": auc(opened, closed),
            "open_closed_phonemes": [len(opened), len(closed)],
        }
    result = {
        "engine": "cpu (today's, audio only)",
        "pack": args.pack,
        "languages": results,
        "render_ms_512": summary(all_render_ms),
        "upload_to_ready_ms": None,
        "closed_margin": CLOSED_MARGIN,
        "machine": machine(),
    }
    rows = [
        tuple(
            str(r[key]) for key in ("bilabial_closure_rate", "bilabials", "round_vs_spread_auc", "open_vs_closed_auc")
        )
        for r in results.values()
    ]
    header = ("bilabial closure", "bilabials", "round vs spread AUC", "open vs closed AUC")
    print_table([(language, *row) for language, row in zip(results, rows, strict=True)], ("language", *header))
    speed = summary(all_render_ms)
    print(f"render ms/frame 512² p50 / p95: {speed['p50']} / {speed['p95']}")
    if args.json:
        write_json(args.json, result)


if __name__ == "__main__":
    main()
