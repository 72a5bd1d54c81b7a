"""Audio → mouth shape, one 1/fps-second frame at a time.

Loudness relative to the speaker's recent peak level opens the jaw (TTS
voices differ by 10 dB and more, so syllables, not the overall level, drive
it); the spectrum shapes the lips: energy low in the
spectrum (rounded vowels like "oo", "o") rounds them, a strong 1-3 kHz band
(spread vowels like "ee", "eh") widens them, and hiss above 3 kHz (fricatives
"s", "f") keeps the mouth nearly closed. Targets are smoothed with a fast
attack and a slower release, as real articulators move.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REFERENCE_FPS = 25  # the per-frame constants below are per 40 ms frame; other rates scale them
SILENCE_DBFS = -50.0  # at or below: mouth target closed, whatever the speaker's level
OPENING_RANGE_DB = 20.0  # the jaw opens from (peak - this) up to the peak level
PEAK_DECAY_DB = 0.15  # per frame: how fast the remembered peak level sinks (~4 dB/s at 25 fps)
INITIAL_PEAK_DBFS = -18.0
ATTACK = 0.7  # fraction of the way to a larger target covered per frame
RELEASE = 0.6  # ... to a smaller target
SNAP_CLOSED = 0.03  # openness below this renders as closed


@dataclass(frozen=True)
class MouthShape:
    """open: jaw opening 0..1; wide: lip spread 0..1; round: lip rounding 0..1."""

    open: float = 0.0
    wide: float = 0.0
    round: float = 0.0

    @property
    def closed(self) -> bool:
        return self.open == 0.0


CLOSED = MouthShape()


@dataclass(frozen=True)
class SpectralFeatures:
    dbfs: float
    low_share: float  # share of 100-900 Hz in 100-8000 Hz energy
    mid_share: float  # 900-3000 Hz
    high_share: float  # 3000-8000 Hz


def analyse_frame(samples: np.ndarray, sample_rate: int) -> SpectralFeatures:
    """Loudness and band shares of one frame of int16 mono audio."""
    signal = samples.astype(np.float32) / 32768.0
    rms = float(np.sqrt(np.mean(signal * signal) + 1e-12))
    dbfs = float(20.0 * np.log10(rms))
    power = np.abs(np.fft.rfft(signal * np.hanning(len(signal)))) ** 2
    freqs = np.fft.rfftfreq(len(signal), 1.0 / sample_rate)
    low, mid, high = (float(power[(freqs >= lo) & (freqs < hi)].sum()) for lo, hi in _BANDS)
    total = low + mid + high + 1e-12
    return SpectralFeatures(dbfs, low / total, mid / total, high / total)


_BANDS = ((100.0, 900.0), (900.0, 3000.0), (3000.0, 8000.0))


def target_shape(features: SpectralFeatures, peak_dbfs: float) -> MouthShape:
    loudness = np.clip((features.dbfs - peak_dbfs + OPENING_RANGE_DB) / OPENING_RANGE_DB, 0.0, 1.0)
    if features.dbfs <= SILENCE_DBFS or loudness == 0.0:
        return CLOSED
    voiced = 1.0 - features.high_share
    opening = loudness * (0.35 + 0.65 * voiced)
    round_ = np.clip((features.low_share - 0.75) / 0.2, 0.0, 1.0) * voiced
    wide = np.clip((features.mid_share - 0.2) / 0.35, 0.0, 1.0) * (1.0 - round_)
    return MouthShape(open=float(opening), wide=float(wide), round=float(round_))


class MouthDriver:
    """Turns consecutive audio frames into smoothed mouth shapes."""

    def __init__(self, sample_rate: int, fps: int = REFERENCE_FPS) -> None:
        self._sample_rate = sample_rate
        self._shape = CLOSED
        self._peak_dbfs = INITIAL_PEAK_DBFS
        # The same speed in seconds at any frame rate: n frames at `fps` cover what one 40 ms frame does.
        frames_per_reference = fps / REFERENCE_FPS
        self._attack = 1.0 - (1.0 - ATTACK) ** (1.0 / frames_per_reference)
        self._release = 1.0 - (1.0 - RELEASE) ** (1.0 / frames_per_reference)
        self._peak_decay_db = PEAK_DECAY_DB / frames_per_reference

    def speech_frame(self, samples: np.ndarray) -> MouthShape:
        features = analyse_frame(samples, self._sample_rate)
        if features.dbfs > SILENCE_DBFS:
            self._peak_dbfs = max(features.dbfs, self._peak_dbfs - self._peak_decay_db)
        return self._follow(target_shape(features, self._peak_dbfs))

    def silent_frame(self) -> MouthShape:
        return self._follow(CLOSED)

    def reset(self) -> None:
        self._shape = CLOSED

    def _follow(self, target: MouthShape) -> MouthShape:
        previous = self._shape
        rate = self._attack if target.open > previous.open else self._release
        opening = previous.open + rate * (target.open - previous.open)
        if opening < SNAP_CLOSED and target.open < SNAP_CLOSED:
            self._shape = CLOSED
        else:
            self._shape = MouthShape(
                open=opening,
                wide=previous.wide + rate * (target.wide - previous.wide),
                round=previous.round + rate * (target.round - previous.round),
            )
        return self._shape
