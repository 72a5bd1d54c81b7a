"""RGB to NV12, BT.601 limited range: the colours x264's input conversion (OpenCV RGB2YUV_I420) produces."""

from __future__ import annotations

from types import ModuleType
from typing import Any


def rgb_to_nv12(rgb: Any, xp: ModuleType) -> Any:
    """Convert an (H, W, 3) uint8 RGB array to an (H * 3 / 2, W) uint8 NV12 array.

    `xp` is the array module of `rgb`: `numpy` for numpy arrays, `torch` for
    tensors (the result stays on the tensor's device). Only functions both
    modules share are used, so the numpy tests cover the GPU arithmetic.
    Chroma is taken from the top-left pixel of each 2x2 block, as OpenCV does,
    so NVENC and x264 output look the same.
    """
    height, width = rgb.shape[0], rgb.shape[1]
    rgb = xp.asarray(rgb, dtype=xp.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    r, g, b = r[::2, ::2], g[::2, ::2], b[::2, ::2]
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    interleaved_uv = xp.stack([u, v], -1).reshape(height // 2, width)
    nv12 = xp.concatenate([y, interleaved_uv])
    return xp.asarray(xp.clip(xp.round(nv12), 0, 255), dtype=xp.uint8)
