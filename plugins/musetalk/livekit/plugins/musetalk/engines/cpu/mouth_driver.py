"""Audio → mouth shape, one 1/fps-second frame at a time, from the audio alone (any TTS).

The viseme model reads each 10 ms hop and says how likely each viseme is; the
frame's target is the blend of the visemes' shapes, its opening scaled by
loudness (relative to the voice's recent peak). Bilabials (p b m) close the
lips outright, and early: the audio queued after this frame is read too, so
the lips start closing before the /m/ is heard (coarticulation). Targets are
followed with a fast attack and a slower release, as real articulators move;
a bilabial closure seals the lips within the frame, as lips do.
"""

from __future__ import annotations

import numpy as np

from .mouth_shape import CLOSED, MouthShape
from .speech_features import SILENCE_DB, SpeechFeatures
from .viseme_model import VisemeModel
from .visemes import TARGET_SHAPES, Viseme

REFERENCE_FPS = 25  # the per-frame rates below are per 40 ms frame; other frame rates scale them
OPENING_RANGE_DB = 20.0  # the jaw opens from (peak - this) up to the peak level
ATTACK = 0.7  # fraction of the way to a larger target covered per frame
RELEASE = 0.6  # ... to a smaller target
CLOSING = 0.9  # ... to a bilabial closure
SNAP_CLOSED = 0.03  # openness below this renders as closed
ANTICIPATION = 0.5  # how far the lips close ahead of a bilabial heard in the next hops
ANTICIPATION_HOPS = 2
SEAL = 0.75  # closure from which the lips meet outright (they seal, they do not hover a pixel apart)
CLOSURE_EVIDENCE = (0.3, 0.6)  # bilabial probability from which the lips start to close, and are shut

_SHAPES = np.array([[s.open, s.wide, s.round] for s in (TARGET_SHAPES[v] for v in Viseme)], np.float32)


class MouthDriver:
    """Turns consecutive audio frames into smoothed mouth shapes."""

    def __init__(self, sample_rate: int, fps: int, model: VisemeModel) -> None:
        self._model = model
        self._features = SpeechFeatures(sample_rate, model.voice_shape)
        self._shape = CLOSED
        # The same speed in seconds at any frame rate: n frames at `fps` cover what one 40 ms frame does.
        frames_per_reference = fps / REFERENCE_FPS
        self._attack, self._release, self._closing = (
            1.0 - (1.0 - rate) ** (1.0 / frames_per_reference) for rate in (ATTACK, RELEASE, CLOSING)
        )

    def speech_frame(self, samples: np.ndarray, lookahead: np.ndarray | None = None) -> MouthShape:
        """The shape for one frame of int16 mono speech; `lookahead` is the audio queued after it, if any."""
        features = self._features.frame(samples, lookahead, ahead_hops=ANTICIPATION_HOPS)
        if not len(features.own):
            return self._shape
        if features.level_db <= SILENCE_DB:
            return self._follow(CLOSED, closure=0.0)
        probabilities = self._model.probabilities(np.concatenate([features.own, features.ahead]))
        now, soon = probabilities[: len(features.own)], probabilities[len(features.own) :]
        closure = _closure(now[:, Viseme.BILABIAL])
        if len(soon):
            closure = max(closure, ANTICIPATION * _closure(soon[:, Viseme.BILABIAL]))
        opening, wide, round_ = now.mean(axis=0) @ _SHAPES
        loudness = float(np.clip((features.level_db - features.peak_db + OPENING_RANGE_DB) / OPENING_RANGE_DB, 0, 1))
        if closure >= SEAL:
            return self._seal()
        target = MouthShape(open=opening * (0.4 + 0.6 * loudness) * (1.0 - closure), wide=wide, round=round_)
        return self._follow(target, closure)

    def _seal(self) -> MouthShape:
        """Lips pressed together: closed at once, the lip shape kept for the release."""
        self._shape = MouthShape(open=0.0, wide=self._shape.wide, round=self._shape.round)
        return self._shape

    def silent_frame(self) -> MouthShape:
        return self._follow(CLOSED, closure=0.0)

    def reset(self) -> None:
        """Back to rest at once (an interrupt); the voice's calibration is kept."""
        self._shape = CLOSED
        self._features.reset()

    def _follow(self, target: MouthShape, closure: float) -> MouthShape:
        previous = self._shape
        rate = self._attack if target.open > previous.open else self._release
        open_rate = rate + (self._closing - rate) * closure if target.open < previous.open else rate
        opening = previous.open + open_rate * (target.open - previous.open)
        if opening < SNAP_CLOSED and target.open < SNAP_CLOSED:
            self._shape = CLOSED
        else:
            self._shape = MouthShape(
                open=opening,
                wide=previous.wide + rate * (target.wide - previous.wide),
                round=previous.round + rate * (target.round - previous.round),
            )
        return self._shape


def _closure(bilabial: np.ndarray) -> float:
    """How far to close the lips for these hops' bilabial probabilities: a closure is two hops (20 ms)
    of bilabial; a single hop is a blip the lips do not follow."""
    evidence = float(np.max((bilabial[:-1] + bilabial[1:]) / 2)) if len(bilabial) > 1 else float(bilabial[0])
    low, high = CLOSURE_EVIDENCE
    return float(np.clip((evidence - low) / (high - low), 0.0, 1.0))
