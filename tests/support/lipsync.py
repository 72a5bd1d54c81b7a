"""Measure lip-sync from what a subscriber received: mouth motion vs audio energy."""

from __future__ import annotations

import numpy as np

from livekit.plugins.musetalk import load_pack
from livekit.plugins.musetalk.engines.cpu import CpuEngine

from .rooms import AUDIO_RATE, ReceivedMedia

FRAME_S = 0.04
Box = tuple[int, int, int, int]


def default_mouth_box() -> Box:
    """The default pack's mouth region in output pixels, from the CPU engine's prepared rig."""
    x0, y0, x1, y1 = (int(v) for v in CpuEngine().prepare(load_pack("default")).material.mouth_box)
    return x0, y0, x1, y1


def closed_mouth(frames: list[np.ndarray], box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.median([f[y0:y1, x0:x1].astype(np.float32) for f in frames], axis=0)


def mouth_change(media: ReceivedMedia, box: Box, closed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(arrival times, mean |mouth − closed mouth|) per received frame."""
    x0, y0, x1, y1 = box
    times = np.array([t for t, _, _ in media.video])
    change = np.array([np.abs(img[y0:y1, x0:x1].astype(np.float32) - closed).mean() for _, _, img in media.video])
    return times, change


def idle_again_below(idle: np.ndarray, speaking: np.ndarray) -> float:
    """The mouth change under which the mouth is back at rest: a quarter of the way from idle to speaking.

    Idle is not zero: the head's micro-motion moves the mouth box's pixels too, more on a textured face
    (wrinkles) than a smooth one, so "closed again" is measured from the portrait's own idle level.
    """
    return float(idle.mean() + 0.25 * (speaking.mean() - idle.mean()))


def audio_envelope(media: ReceivedMedia, window_s: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """(time each window finished arriving, RMS) over the received audio, `window_s` windows."""
    per_window = int(AUDIO_RATE * window_s)
    times, rms = [], []
    for arrival, chunk in media.audio:
        samples = chunk.astype(np.float32)
        count = len(samples) // per_window
        for i in range(count):
            window = samples[i * per_window : (i + 1) * per_window]
            times.append(arrival - (count - 1 - i) * window_s)
            rms.append(float(np.sqrt(np.mean(window**2))))
    return np.array(times), np.array(rms)


def energy_at(env_times: np.ndarray, env: np.ndarray, times: np.ndarray, span_s: float = FRAME_S) -> np.ndarray:
    """Mean audio envelope over the `span_s` before each of `times`."""
    out = np.zeros(len(times))
    for i, t in enumerate(times):
        mask = (env_times > t - span_s) & (env_times <= t)
        out[i] = env[mask].mean() if mask.any() else 0.0
    return out


def best_lagged_correlation(a: np.ndarray, b: np.ndarray, max_lag: int) -> float:
    best = -1.0
    for lag in range(-max_lag, max_lag + 1):
        x, y = (a[lag:], b[: len(b) - lag]) if lag >= 0 else (a[:lag], b[-lag:])
        if len(x) > 10 and x.std() > 0 and y.std() > 0:
            best = max(best, float(np.corrcoef(x, y)[0, 1]))
    return best
