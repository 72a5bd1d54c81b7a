"""The blend mask (where the generated face replaces the frame), derived from the face mesh.

It approximates MuseTalk's 'jaw' mode, which parses the face with BiSeNet:
face skin and lips, without the nose, inside the face box and below the
middle of the blend crop box (a square 1.5x the box's larger side around its
centre), softened by a Gaussian blur 0.1x the crop box wide.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..cpu.face_regions import FACE_OVAL
from .blend import Box
from .config import BLEND_BLUR_SHARE, BLEND_EXPAND, BLEND_UPPER_BOUNDARY

NOSE = (1, 2, 4, 5, 45, 48, 64, 97, 98, 115, 129, 195, 197, 219, 220, 275, 278, 294, 326, 327, 344, 358, 439, 440)


def crop_box(box: Box) -> Box:
    """MuseTalk's blend crop box: square, centred on the face box; it may extend past the frame."""
    x1, y1, x2, y2 = box
    centre_x, centre_y = (x1 + x2) // 2, (y1 + y2) // 2
    half = int(max(x2 - x1, y2 - y1) // 2 * BLEND_EXPAND)
    return centre_x - half, centre_y - half, centre_x + half, centre_y + half


def jaw_mask(points: np.ndarray, box: Box, width: int, height: int) -> np.ndarray:
    """(H, W) uint8 mask, 255 where the face is fully replaced; zero outside `box`."""
    region = np.zeros((height, width), np.uint8)
    cv2.fillPoly(region, [np.round(points[list(FACE_OVAL)]).astype(np.int32)], 255)
    cv2.fillConvexPoly(region, cv2.convexHull(np.round(points[list(NOSE)]).astype(np.int32)), 0)
    cx1, cy1, cx2, _ = crop_box(box)
    region[: max(0, cy1 + int(BLEND_UPPER_BOUNDARY * (cx2 - cx1)))] = 0
    x1, y1, x2, y2 = box
    inside = np.zeros_like(region)
    inside[y1:y2, x1:x2] = region[y1:y2, x1:x2]
    kernel = int(BLEND_BLUR_SHARE * (cx2 - cx1) // 2 * 2) + 1
    blurred = cv2.GaussianBlur(inside, (kernel, kernel), 0)
    blurred[:y1], blurred[y2:], blurred[:, :x1], blurred[:, x2:] = 0, 0, 0, 0
    return blurred
