"""The blend mask (where the generated face replaces the frame): MuseTalk's 'jaw' mode.

With the BiSeNet face parser, as MuseTalk does it: the blend crop box (a
square 1.5x the face box's larger side around its centre) is parsed; skin is
grown by a cone-shaped dilation, held back in the cheek zones by an erosion;
the nose is cut out and mouth and lips added. Without the parser, the face
mesh's oval minus the nose stands in for the parsed region. Either region is
then kept inside the face box and below the middle of the crop box and
softened by a Gaussian blur 0.1x the crop box wide.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from ...landmarks import FACE_OVAL
from .blend import Box
from .config import (
    BLEND_BLUR_SHARE,
    BLEND_EXPAND,
    BLEND_UPPER_BOUNDARY,
    CHEEK_ERODE_ITERATIONS,
    CHEEK_ERODE_KERNEL,
    CHEEK_WIDTH,
    PARSE_MOUTH_AND_LIPS,
    PARSE_NOSE,
    PARSE_SIZE,
    PARSE_SKIN,
    SKIN_DILATE_CONE_ROWS,
    SKIN_DILATE_TAIL_ROWS,
)
from .face_parsing import BiSeNet, parse_face

NOSE = (1, 2, 4, 5, 45, 48, 64, 97, 98, 115, 129, 195, 197, 219, 220, 275, 278, 294, 326, 327, 344, 358, 439, 440)


def _skin_dilation_kernel() -> np.ndarray:
    """Square, centred: empty rows, then a cone widening by one pixel per side and row, then its base width."""
    size = SKIN_DILATE_CONE_ROWS + SKIN_DILATE_TAIL_ROWS
    rows, columns = np.mgrid[:size, :size]
    first_row, widest = SKIN_DILATE_CONE_ROWS // 2, SKIN_DILATE_CONE_ROWS - 1 - SKIN_DILATE_CONE_ROWS // 2
    in_cone = np.abs(columns - size // 2) <= np.minimum(rows - first_row, widest)
    kernel: npt.NDArray[np.uint8] = in_cone.astype(np.uint8)
    return kernel


SKIN_DILATION = _skin_dilation_kernel()
CHEEK_EROSION = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, CHEEK_ERODE_KERNEL)
CHEEKS = np.abs(np.arange(PARSE_SIZE) - PARSE_SIZE // 2) >= CHEEK_WIDTH  # columns of the parsed crop


def crop_box(box: Box) -> Box:
    """MuseTalk's blend crop box: square, centred on the face box; it may extend past the frame."""
    x1, y1, x2, y2 = box
    centre_x, centre_y = (x1 + x2) // 2, (y1 + y2) // 2
    half = int(max(x2 - x1, y2 - y1) // 2 * BLEND_EXPAND)
    return centre_x - half, centre_y - half, centre_x + half, centre_y + half


def jaw_mask(points: np.ndarray, box: Box, width: int, height: int) -> np.ndarray:
    """(H, W) uint8 mask from the (468, 2) face mesh, 255 where the face is fully replaced; zero outside `box`."""
    region = np.zeros((height, width), np.uint8)
    cv2.fillPoly(region, [np.round(points[list(FACE_OVAL)]).astype(np.int32)], 255)
    cv2.fillConvexPoly(region, cv2.convexHull(np.round(points[list(NOSE)]).astype(np.int32)), 0)
    return _soften(region, box)


def parsed_jaw_mask(frame: np.ndarray, box: Box, parser: BiSeNet) -> np.ndarray:
    """(H, W) uint8 mask from parsing the (H, W, 3) RGB frame's blend crop box; zero outside `box`."""
    height, width = frame.shape[:2]
    cx1, cy1, cx2, cy2 = crop_box(box)
    padded = np.zeros((cy2 - cy1, cx2 - cx1, 3), np.uint8)  # parts of the crop box off the frame stay black
    fx1, fy1, fx2, fy2 = max(cx1, 0), max(cy1, 0), min(cx2, width), min(cy2, height)
    padded[fy1 - cy1 : fy2 - cy1, fx1 - cx1 : fx2 - cx1] = frame[fy1:fy2, fx1:fx2]
    parsed = jaw_region(parse_face(parser, padded))
    parsed = cv2.resize(parsed, (cx2 - cx1, cy2 - cy1), interpolation=cv2.INTER_NEAREST)
    region = np.zeros((height, width), np.uint8)
    region[fy1:fy2, fx1:fx2] = parsed[fy1 - cy1 : fy2 - cy1, fx1 - cx1 : fx2 - cx1]
    return _soften(region, box)


def jaw_region(classes: np.ndarray) -> np.ndarray:
    """(PARSE_SIZE, PARSE_SIZE) class map → uint8 0/255: grown skin without the nose, plus mouth and lips."""
    skin = np.where(classes == PARSE_SKIN, 255, 0).astype(np.uint8)
    grown = cv2.dilate(skin, SKIN_DILATION)
    held_back = cv2.erode(grown, CHEEK_EROSION, iterations=CHEEK_ERODE_ITERATIONS)
    face = np.where(CHEEKS, held_back, grown) > 0
    region = (face & (classes != PARSE_NOSE)) | np.isin(classes, PARSE_MOUTH_AND_LIPS)
    return np.where(region, 255, 0).astype(np.uint8)


def _soften(region: np.ndarray, box: Box) -> np.ndarray:
    """The binary (H, W) region kept inside `box` and below the crop box's upper part, then blurred."""
    cx1, cy1, cx2, _ = crop_box(box)
    region[: max(0, cy1 + int(BLEND_UPPER_BOUNDARY * (cx2 - cx1)))] = 0
    x1, y1, x2, y2 = box
    inside = np.zeros_like(region)
    inside[y1:y2, x1:x2] = region[y1:y2, x1:x2]
    kernel = int(BLEND_BLUR_SHARE * (cx2 - cx1) // 2 * 2) + 1
    blurred = cv2.GaussianBlur(inside, (kernel, kernel), 0)
    blurred[:y1], blurred[y2:], blurred[:, :x1], blurred[:, x2:] = 0, 0, 0, 0
    return blurred
