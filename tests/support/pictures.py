"""Pictures to encode: the default avatar portrait swaying slightly, as a talking head does (encoder tests and
bench/encode.py)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import cv2
import numpy as np

from .paths import AVATARS

PORTRAIT = AVATARS / "default" / "portrait.png"


def natural_image(width: int, height: int) -> np.ndarray:
    """The default avatar portrait as RGB at the given size, or a generated stand-in."""
    if PORTRAIT.exists():
        bgr = cv2.imread(str(PORTRAIT), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"{PORTRAIT} is not a readable image")
        return cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (width, height), interpolation=cv2.INTER_AREA)
    return textured_portrait(width, height)


def textured_portrait(width: int, height: int) -> np.ndarray:
    """A face-like picture with smooth shading, sharp edges and fine texture, like a photo."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:height, 0:width] / max(width, height)
    image = np.stack([90 + 80 * rows, 110 + 40 * cols, 150 - 60 * rows], axis=-1)
    cv2.ellipse(image, (width // 2, height // 2), (width // 4, height // 3), 0, 0, 360, (205, 160, 135), -1)
    for eye_x in (width * 2 // 5, width * 3 // 5):
        cv2.circle(image, (eye_x, height * 2 // 5), width // 30, (50, 35, 30), -1)
    cv2.ellipse(image, (width // 2, height * 3 // 5), (width // 12, height // 40), 0, 0, 360, (150, 60, 60), -1)
    grain = cv2.GaussianBlur(rng.normal(0, 6, (height, width)), (0, 0), 0.8)
    image += grain[..., None]
    return np.clip(image, 0, 255).astype(np.uint8)


def moving_frames(image: np.ndarray, count: int) -> Iterator[np.ndarray]:
    """`count` frames of `image` swaying by a few pixels and a fraction of a degree, as a talking head does."""
    height, width = image.shape[:2]
    for index in range(count):
        phase = 2 * math.pi * index / 50
        motion = cv2.getRotationMatrix2D((width / 2, height / 2), 0.6 * math.sin(phase), 1.0)
        motion[:, 2] += (3 * math.sin(phase), 2 * math.cos(phase * 0.7))
        yield cv2.warpAffine(image, motion, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
