"""Framing a portrait for the output video: shared by every engine that starts from a photo."""

from __future__ import annotations

import cv2
import numpy as np

from ..landmarks import FaceLandmarks
from ..types import VideoSpec


def fit_portrait(image: np.ndarray, landmarks: FaceLandmarks, spec: VideoSpec) -> tuple[np.ndarray, np.ndarray]:
    """Crop the portrait to the output aspect around the face, scale it to the output size.

    Returns the fitted image and the mesh moved into its pixels.
    """
    height, width = image.shape[:2]
    aspect = spec.width / spec.height
    crop_w, crop_h = (width, width / aspect) if width / height < aspect else (height * aspect, height)
    x0, y0, x1, y1 = landmarks.box
    left = float(np.clip((x0 + x1) / 2 - crop_w / 2, 0, width - crop_w))
    top = float(np.clip((y0 + y1) / 2 - crop_h / 2, 0, height - crop_h))
    scale = spec.width / crop_w
    to_output = np.array([[scale, 0, -left * scale], [0, scale, -top * scale]], np.float32)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    fitted = cv2.warpAffine(image, to_output, (spec.width, spec.height), flags=interpolation)
    points = (landmarks.points - [left, top]) * scale
    return fitted, points.astype(np.float32)
