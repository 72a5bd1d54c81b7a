"""MuseTalk v1.5's face box, computed from the packaged 468-point face mesh instead of DWPose's 68 points.

MuseTalk's rule on the 68-point layout: with r the y of point 29 (on the
nose bridge) and d = (max landmark y) - r, the box spans the landmarks' x
range and runs from r - d down to the lowest landmark; v1.5 then adds 10
pixels below. MESH_68 maps each 68-point position to the face-mesh vertex at
the same anatomical place.
"""

from __future__ import annotations

import numpy as np

from .blend import Box
from .config import BOX_EXTRA_MARGIN

JAW_68 = (162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389)
BROWS_68 = (70, 63, 105, 66, 107, 336, 296, 334, 293, 300)
NOSE_68 = (168, 197, 5, 4, 75, 97, 2, 326, 305)
EYES_68 = (33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380)
MOUTH_68 = (61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181, 78, 82, 13, 312, 308, 317, 14, 87)
MESH_68 = np.array(JAW_68 + BROWS_68 + NOSE_68 + EYES_68 + MOUTH_68)
REFERENCE_68 = 29


def face_box(points: np.ndarray, width: int, height: int, extra_margin: int = BOX_EXTRA_MARGIN) -> Box | None:
    """The box (x1, y1, x2, y2) in pixels of a (W, H) frame from its (468, 2) mesh, or None if degenerate."""
    landmarks = points[MESH_68]
    reference_y = landmarks[REFERENCE_68, 1]
    bottom = landmarks[:, 1].max()
    x1 = int(np.clip(landmarks[:, 0].min(), 0, width))
    x2 = int(np.clip(landmarks[:, 0].max(), 0, width))
    y1 = int(np.clip(reference_y - (bottom - reference_y), 0, height))
    y2 = int(np.clip(bottom + extra_margin, 0, height))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    return x1, y1, x2, y2
