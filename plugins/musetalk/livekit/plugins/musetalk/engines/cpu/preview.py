"""A preview of a prepared rig: the regions found, and the face in a few sample poses."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .mouth_shape import MouthShape
from .renderer import FacePose, Renderer
from .rig import FaceRig

SAMPLE_POSES: dict[str, FacePose] = {
    "closed": FacePose(),
    "half open": FacePose(MouthShape(open=0.5, wide=0.2)),
    "wide open": FacePose(MouthShape(open=1.0, wide=0.5)),
    "rounded": FacePose(MouthShape(open=0.6, round=1.0)),
    "spread": FacePose(MouthShape(open=0.3, wide=1.0)),
    "blink": FacePose(blink=1.0),
}


def annotated_regions(rig: FaceRig) -> np.ndarray:
    image = rig.base.copy()
    for x, y in np.round(rig.landmarks).astype(int):
        cv2.circle(image, (x, y), 1, (0, 255, 120), -1)
    boxes = [(rig.head_box, (255, 200, 0)), (rig.mouth_box, (255, 80, 80))]
    boxes += [(eye.box, (80, 160, 255)) for eye in rig.eyes]
    for (x0, y0, x1, y1), colour in boxes:
        cv2.rectangle(image, (int(x0), int(y0)), (int(x1) - 1, int(y1) - 1), colour, 1)
    cv2.polylines(image, [np.round(rig.lip_line).astype(np.int32)], False, (255, 0, 255), 1, cv2.LINE_AA)
    return image


def sample_sheet(rig: FaceRig, columns: int = 3) -> np.ndarray:
    """The face, cropped around the mouth and eyes, in each of SAMPLE_POSES."""
    renderer = Renderer(rig)
    x0, y0, x1, y1 = rig.head_box
    tiles = []
    for name, pose in SAMPLE_POSES.items():
        tile = np.ascontiguousarray(renderer.render(pose)[y0:y1, x0:x1])
        cv2.putText(tile, name, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 0), 1, cv2.LINE_AA)
        tiles.append(tile)
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)


def write_preview(rig: FaceRig, path: Path) -> None:
    regions = annotated_regions(rig)
    sheet = sample_sheet(rig)
    scale = regions.shape[0] / sheet.shape[0]
    sheet = cv2.resize(sheet, (round(sheet.shape[1] * scale), regions.shape[0]), interpolation=cv2.INTER_AREA)
    Image.fromarray(np.hstack([regions, sheet])).save(path)
