"""Whisper encoder hidden states → MuseTalk v1.5's per-video-frame audio windows, computed incrementally.

MuseTalk stacks whisper-tiny's 5 hidden states (embeddings + 4 layers, the
last layer-normed) at 50 Hz, zero-pads 4 steps before and 12 after the
utterance, and gives frame i the 10 steps 2i-4 .. 2i+5 ([40i-80, 40i+120) ms)
flattened (step, layer) into 50 tokens, plus a sinusoidal positional encoding.

Streaming: step j depends on audio up to 320 j + 520 samples (the mel window and
the conv front end), so frame i can be computed once 640 i + 2120 samples of
its utterance are queued: 92.5 ms past the end of the frame's own audio. At the
end of an utterance the missing right context is zeros, as MuseTalk pads it.
Each computation takes the newest 30 s window that covers the frames due
(transformers' encoder only accepts 30 s), so an utterance shorter than 30 s
is always encoded from its start, as MuseTalk does offline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from .config import (
    FPS,
    RECEPTIVE_RIGHT_SAMPLES,
    SAMPLE_RATE,
    STEPS_PER_FRAME,
    WHISPER_STEP_SAMPLES,
    WHISPER_WINDOW_STEPS,
    WINDOW_FIRST_STEP,
    WINDOW_STEPS,
)

SAMPLES_PER_FRAME = SAMPLE_RATE // FPS
MAX_FRAMES_PER_WINDOW = 250
"""Frames computed by one encoder call at most (10 s): their steps must fit in one 30 s window."""


def positional_encoding(d_model: int, max_len: int) -> torch.Tensor:
    """Fixed sinusoids (sin on even, cos on odd dimensions, base 10000), shape (max_len, d_model)."""
    position = torch.arange(max_len, dtype=torch.float32)[:, None]
    frequencies = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    table = torch.zeros(max_len, d_model)
    table[:, 0::2] = torch.sin(position * frequencies)
    table[:, 1::2] = torch.cos(position * frequencies)
    return table


def frame_count(num_samples: int) -> int:
    """Video frames of an utterance of `num_samples` 16 kHz samples: floor(duration x 25)."""
    return num_samples // SAMPLES_PER_FRAME


def step_count(num_samples: int) -> int:
    """Whisper steps MuseTalk keeps for an utterance: floor(duration x 50)."""
    return num_samples // WHISPER_STEP_SAMPLES


def window_steps(frame: int) -> range:
    """The whisper steps frame `frame` reads (negative or past-the-end steps are zeros)."""
    first = STEPS_PER_FRAME * frame + WINDOW_FIRST_STEP
    return range(first, first + WINDOW_STEPS)


def samples_needed(frame: int) -> int:
    """16 kHz samples of its utterance that must be known before frame `frame` can be computed."""
    return window_steps(frame)[-1] * WHISPER_STEP_SAMPLES + RECEPTIVE_RIGHT_SAMPLES


def ready_frames(available: int, ended: bool) -> int:
    """Frames of an utterance whose features can be computed from `available` 16 kHz samples."""
    if ended:
        return frame_count(available)
    return max(0, min(frame_count(available), (available - samples_needed(0)) // SAMPLES_PER_FRAME + 1))


@dataclass(frozen=True)
class AudioWindow:
    """One encoder input: utterance samples [first_step x 320, end) and the frames it yields."""

    first_step: int
    end: int
    frames: range
    total_steps: int | None  # the utterance's step count once it has ended

    @property
    def start(self) -> int:
        return self.first_step * WHISPER_STEP_SAMPLES


def plan_window(first_frame: int, available: int, ended: bool) -> AudioWindow | None:
    """The window computing frames from `first_frame` on, or None while none of them is ready."""
    last = min(ready_frames(available, ended), first_frame + MAX_FRAMES_PER_WINDOW)
    if last <= first_frame:
        return None
    end = min(available, max(0, window_steps(first_frame)[0]) * WHISPER_STEP_SAMPLES + 30 * SAMPLE_RATE)
    first_step = max(0, -(-end // WHISPER_STEP_SAMPLES) - WHISPER_WINDOW_STEPS)
    return AudioWindow(first_step, end, range(first_frame, last), step_count(available) if ended else None)


def stack_hidden_states(hidden_states: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Encoder hidden states (embeddings + every layer), each (B, steps, D) → (B, steps, layers, D)."""
    return torch.stack(hidden_states, dim=2)


def frame_windows(hidden: torch.Tensor, window: AudioWindow) -> torch.Tensor:
    """Per-frame tokens (F, 50, D) of `window.frames` from one window's stacked states (steps, layers, D)."""
    frames = torch.tensor(window.frames, device=hidden.device)
    offsets = torch.arange(WINDOW_FIRST_STEP, WINDOW_FIRST_STEP + WINDOW_STEPS, device=hidden.device)
    steps = STEPS_PER_FRAME * frames[:, None] + offsets
    local = steps - window.first_step
    valid = (steps >= 0) & (local < hidden.shape[0])
    if window.total_steps is not None:
        valid &= steps < window.total_steps
    if bool((local[valid] < 0).any()):
        raise ValueError("the window starts after a step its frames need")
    gathered = hidden[local.clamp(0, hidden.shape[0] - 1)] * valid[..., None, None].to(hidden.dtype)
    return gathered.flatten(1, 2)


def resample_to_16k(pcm: np.ndarray, sample_rate: int, start: int, end: int) -> np.ndarray:
    """16 kHz float32 samples [start, end) of int16 audio at `sample_rate`.

    Positions are absolute, so windows cut from a growing buffer agree where
    they overlap. Linear interpolation after a box low-pass when downsampling:
    plenty for whisper's 80 mel bands up to 8 kHz.
    """
    signal: npt.NDArray[np.float32] = pcm.astype(np.float32) / 32768.0
    if sample_rate == SAMPLE_RATE:
        return signal[start:end]
    ratio = sample_rate / SAMPLE_RATE
    width = round(ratio)
    if width > 1:
        signal = np.convolve(signal, np.full(width, 1.0 / width, np.float32), mode="same")
    positions = np.arange(start, end, dtype=np.float64) * ratio
    return np.interp(positions, np.arange(len(signal)), signal).astype(np.float32)


def available_16k(num_samples: int, sample_rate: int) -> int:
    return num_samples * SAMPLE_RATE // sample_rate
