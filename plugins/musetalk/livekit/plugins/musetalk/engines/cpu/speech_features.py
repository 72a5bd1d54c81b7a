"""Speech → per-hop features the viseme model reads, calibrated to the voice as it talks.

The audio is read in 10 ms hops, whatever the frame rate. A hop's
features are its mel spectrum's shape (dB per band relative to the hop's own
level, so loudness does not matter), minus a running mean of that shape over
the voice's speech so far (voices differ in timbre: this is the per-voice
calibration, done at run time), and its level relative to the voice's recent
peak (voices differ by 10 dB and more). The model sees each hop with
CONTEXT_HOPS neighbours on each side; the future ones come from audio queued
after the frame being rendered (TTS runs ahead of playout), repeated at the
edge when none is queued yet.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

HOP_S = 0.01
WINDOW_S = 0.025
MEL_BANDS = 24
MEL_RANGE_HZ = (80.0, 7600.0)
CONTEXT_HOPS = 3
HOP_FEATURES = MEL_BANDS + 2
SILENCE_DB = -55.0  # a hop at or below this level (dBFS) is silence whatever the voice
SPEECH_BELOW_PEAK_DB = 25.0  # hops within this of the peak level calibrate the voice's timbre
VOICE_ADAPT_HOPS = 100.0  # time constant of the timbre calibration (1 s at 10 ms hops)
PEAK_DECAY_DB_PER_S = 4.0
INITIAL_PEAK_DB = -18.0


@dataclass(frozen=True)
class FrameFeatures:
    own: np.ndarray  # (hops, features) context-stacked rows of the hops centred in this frame
    ahead: np.ndarray  # (n, features) rows of the queued audio's hops after it (maybe none)
    level_db: float  # the loudest of this frame's hops, dBFS
    peak_db: float  # the voice's recent peak level, dBFS


def mel_filterbank(sample_rate: int, fft_size: int) -> np.ndarray:
    """(MEL_BANDS, fft_size // 2 + 1) triangular filters, equally spaced in mel; bands above Nyquist stay empty."""

    def mel(hz: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    low, high = mel(np.array(MEL_RANGE_HZ))
    edges_hz = 700.0 * (10 ** (np.linspace(low, high, MEL_BANDS + 2) / 2595.0) - 1.0)
    freqs = np.fft.rfftfreq(fft_size, 1.0 / sample_rate)
    bank = np.zeros((MEL_BANDS, len(freqs)), np.float32)
    for band in range(MEL_BANDS):
        left, centre, right = edges_hz[band : band + 3]
        rising = (freqs - left) / (centre - left)
        falling = (right - freqs) / (right - centre)
        bank[band] = np.clip(np.minimum(rising, falling), 0.0, None)
    return bank


class SpeechFeatures:
    """Feature rows for one voice's audio, fed one video frame at a time."""

    def __init__(self, sample_rate: int, initial_shape: np.ndarray) -> None:
        self.hop = round(HOP_S * sample_rate)
        self._window_length = round(WINDOW_S * sample_rate)
        fft_size = 1 << (self._window_length - 1).bit_length()
        self._fft_size = fft_size
        self._window = np.hanning(self._window_length).astype(np.float32)
        self._window_offsets = np.arange(self._window_length) - self._window_length // 2
        self._full_scale_power = float(self._window.sum() ** 2 / 4.0)  # a full-scale sine's, so levels are dBFS
        self._filterbank = mel_filterbank(sample_rate, fft_size)
        self._initial_shape = initial_shape.astype(np.float32)
        self._peak_decay_db = PEAK_DECAY_DB_PER_S * self.hop / sample_rate
        self._voice_shape = self._initial_shape.copy()
        self._peak_db = INITIAL_PEAK_DB
        self.reset()

    @property
    def voice_shape(self) -> np.ndarray:
        """The voice's average spectral shape so far (dB per mel band, relative to the level)."""
        return self._voice_shape.copy()

    def reset(self) -> None:
        """Forget the audio before (a new utterance after an interrupt); keep the voice's calibration."""
        self._tail = np.zeros(self._window_length, np.float32)
        self._next_centre = self.hop // 2  # where the next hop is centred, in samples from the next frame's start
        self._past: deque[np.ndarray] = deque([self._silence_row()] * CONTEXT_HOPS, maxlen=CONTEXT_HOPS)

    def frame(self, audio: np.ndarray, lookahead: np.ndarray | None = None, ahead_hops: int = 0) -> FrameFeatures:
        """The features of one frame of audio, and of up to `ahead_hops` whole hops of the look-ahead.

        Consumes `audio` (int16, one frame); `lookahead` (int16, what is queued after it) is only peeked at.
        The hops are normalised with the calibration as it stood before this frame.
        """
        ahead = np.zeros(0, np.float32) if lookahead is None else lookahead.astype(np.float32) / 32768.0
        current = audio.astype(np.float32) / 32768.0
        signal = np.concatenate([self._tail, current, ahead, np.zeros(self._window_length, np.float32)])
        own_hops = max(0, -(-(len(current) - self._next_centre) // self.hop))
        context_ahead = min(len(ahead) // self.hop, ahead_hops + CONTEXT_HOPS)
        shapes, levels = self._analyse(signal, own_hops + context_ahead)
        relative = np.maximum(levels - self._peak_db, -60.0) / 20.0
        absolute = (np.maximum(levels, -90.0) + 45.0) / 30.0
        rows = np.concatenate([(shapes - self._voice_shape) / 10.0, relative[:, None], absolute[:, None]], axis=1)
        stacked = self._stack(rows.astype(np.float32))
        for shape, level in zip(shapes[:own_hops], levels[:own_hops], strict=True):
            self._calibrate(shape, float(level))
        self._past.extend(rows[:own_hops])
        self._tail = np.concatenate([self._tail, current])[-self._window_length :]
        self._next_centre += own_hops * self.hop - len(current)
        own_level = float(levels[:own_hops].max(initial=-90.0))
        return FrameFeatures(stacked[:own_hops], stacked[own_hops:][:ahead_hops], own_level, self._peak_db)

    def _analyse(self, signal: np.ndarray, hops: int) -> tuple[np.ndarray, np.ndarray]:
        """Per hop: the mel spectrum's shape (dB relative to the hop's level) and the level (dBFS)."""
        centres = len(self._tail) + self._next_centre + np.arange(hops) * self.hop
        index = centres[:, None] + self._window_offsets[None, :]
        windows = signal[index] * self._window
        power = np.abs(np.fft.rfft(windows, n=self._fft_size, axis=1)) ** 2
        mel = power @ self._filterbank.T + 1e-10
        total = mel.sum(axis=1)
        levels = 10.0 * np.log10(total / self._full_scale_power)
        shapes = 10.0 * np.log10(mel / total[:, None])
        return shapes.astype(np.float32), levels.astype(np.float32)

    def _calibrate(self, shape: np.ndarray, level: float) -> None:
        if level <= SILENCE_DB:
            return
        self._peak_db = max(level, self._peak_db - self._peak_decay_db)
        if level > self._peak_db - SPEECH_BELOW_PEAK_DB:
            self._voice_shape += (shape - self._voice_shape) / VOICE_ADAPT_HOPS

    def _silence_row(self) -> np.ndarray:
        row = np.zeros(HOP_FEATURES, np.float32)
        row[MEL_BANDS:] = (-60.0 / 20.0, -45.0 / 30.0)
        return row

    def _stack(self, rows: np.ndarray) -> np.ndarray:
        """Each row with CONTEXT_HOPS rows either side (the past ones remembered, the future edge repeated)."""
        if not len(rows):
            return np.zeros((0, (2 * CONTEXT_HOPS + 1) * HOP_FEATURES), np.float32)
        sequence = np.concatenate([np.stack(self._past), rows, np.repeat(rows[-1:], CONTEXT_HOPS, axis=0)])
        windows = np.lib.stride_tricks.sliding_window_view(sequence, 2 * CONTEXT_HOPS + 1, axis=0)
        stacked: np.ndarray = windows[: len(rows)].transpose(0, 2, 1).reshape(len(rows), -1)
        return stacked
