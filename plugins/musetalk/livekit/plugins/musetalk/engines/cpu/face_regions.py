"""The small geometric helpers the rig is built from."""

from __future__ import annotations

import numpy as np


def smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    eased: np.ndarray = t * t * (3.0 - 2.0 * t)
    return eased


def curve_at(xs: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """y of a left→right polyline (n, 2) at each x, held constant beyond its ends."""
    order = np.argsort(curve[:, 0])
    ys: np.ndarray = np.interp(xs, curve[order, 0], curve[order, 1])
    return ys


def clip_box(box: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return (
        int(np.clip(np.floor(x0), 0, width)),
        int(np.clip(np.floor(y0), 0, height)),
        int(np.clip(np.ceil(x1), 0, width)),
        int(np.clip(np.ceil(y1), 0, height)),
    )


def box_grid(box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Absolute pixel coordinates (float32) of every pixel in `box`, as two (h, w) arrays."""
    x0, y0, x1, y1 = box
    xs, ys = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
    return xs, ys
