"""Per frame: one remap of the head region, then the mouth interior painted into the lip gap.

Every motion is a displacement field built from the rig's precomputed weight
maps scaled by this frame's pose: the head rolls and shifts (fading out at the
head's edge), the lower jaw drops, the upper lip lifts, the lips spread or
round, the upper eyelids slide down. The jaw and upper-lip fields part at the
lip line, and the gap that opens there is filled with the mouth interior:
dark cavity, tongue, and the photo's teeth moving with their jaw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .face_regions import box_grid, smoothstep
from .idle_motion import HeadPose
from .mouth_shape import CLOSED, MouthShape
from .rig import EyeRig, FaceRig, opening_profile

# Motion amplitudes as fractions of the face width (so they hold at any output size).
JAW_DROP = 0.14
UPPER_LIP_RAISE = 0.02
# Relative lip spread (positive) / narrowing (negative) and vertical pout.
SPREAD_PER_WIDE = 0.15
NARROW_PER_ROUND = 0.42
POUT_PER_ROUND = 0.3
ROUND_OPENING = 0.45  # share of the mouth's width the opening loses when fully rounded (an "o", not a slot)
TEETH_HIDDEN_PER_ROUND = 0.8  # rounded lips cover the teeth
FLATTEN_PER_ROUND = 0.8  # share of the smile's corner lift undone when rounding
MIN_VISIBLE_GAP_PX = 0.3


@dataclass(frozen=True)
class FacePose:
    mouth: MouthShape = CLOSED
    blink: float = 0.0
    head: HeadPose = field(default_factory=HeadPose)


@dataclass(frozen=True)
class _Slice:
    """A sub-box of the head box, as array slices into head-box-sized arrays."""

    rows: slice
    cols: slice

    @classmethod
    def inside(cls, box: np.ndarray, outer: np.ndarray) -> _Slice:
        return cls(slice(box[1] - outer[1], box[3] - outer[1]), slice(box[0] - outer[0], box[2] - outer[0]))


class Renderer:
    def __init__(self, rig: FaceRig) -> None:
        self._rig = rig
        head_box = rig.head_box
        self._grid_x, self._grid_y = box_grid(tuple(head_box))
        self._head_x = rig.head_weight * (self._grid_x - rig.pivot[0])
        self._head_y = rig.head_weight * (self._grid_y - rig.pivot[1])
        # Reused every frame: fresh arrays this size would page-fault on every allocation.
        self._map_x, self._map_y = np.empty_like(self._grid_x), np.empty_like(self._grid_y)
        self._head_pixels = np.empty((*self._grid_x.shape, 3), np.uint8)
        self._mouth = _Slice.inside(rig.mouth_box, head_box)
        self._eyes = [(_Slice.inside(eye.box, head_box), eye) for eye in rig.eyes]
        line_px = np.round(rig.lip_line).astype(np.int32)
        self._line_head_weight = rig.head_weight[line_px[:, 1] - head_box[1], line_px[:, 0] - head_box[0]]
        self._line_lip_field = rig.lip_field[line_px[:, 1] - rig.mouth_box[1], line_px[:, 0] - rig.mouth_box[0]]
        half_width = max(float(np.ptp(rig.lip_line[:, 0])) / 2, 1.0)
        self._line_u = (rig.lip_line[:, 0] - rig.mouth_centre[0]) / half_width

    @property
    def size(self) -> tuple[int, int]:
        height, width = self._rig.base.shape[:2]
        return width, height

    def render(self, pose: FacePose) -> np.ndarray:
        rig = self._rig
        roll = np.sin(np.radians(pose.head.roll_degrees))
        # Each pixel samples the portrait at (grid - displacement); the head's displacement comes first.
        map_x, map_y = self._map_x, self._map_y
        cv2.addWeighted(self._head_y, roll, rig.head_weight, -pose.head.dx, 0.0, dst=map_x)
        cv2.addWeighted(self._head_x, -roll, rig.head_weight, -pose.head.dy, 0.0, dst=map_y)
        map_x += self._grid_x
        map_y += self._grid_y
        jaw, lift, spread, pout, flatten = self._mouth_motion(pose.mouth)
        if not pose.mouth.closed:
            m = self._mouth
            map_x[m.rows, m.cols] -= spread * rig.lip_field[..., 0]
            map_y[m.rows, m.cols] -= (
                jaw * rig.jaw_weight
                - lift * rig.upper_lip_weight
                + pout * rig.lip_field[..., 1]
                + flatten * rig.lip_field[..., 2]
            )
        if pose.blink > 0.0:
            for eye_slice, eye in self._eyes:
                map_y[eye_slice.rows, eye_slice.cols] -= _eyelid_drop(eye, pose.blink)
        cv2.remap(rig.base, map_x, map_y, cv2.INTER_LINEAR, dst=self._head_pixels, borderMode=cv2.BORDER_REPLICATE)
        frame = self._around_head(self._head_pixels)
        if jaw + lift > MIN_VISIBLE_GAP_PX:
            self._paint_mouth_interior(frame, pose.head, pose.mouth.round, jaw, lift, spread, pout, flatten)
        return frame

    def _around_head(self, head: np.ndarray) -> np.ndarray:
        """A new frame: the portrait with `head` in the head box (each pixel written once)."""
        base = self._rig.base
        x0, y0, x1, y1 = self._rig.head_box
        frame = np.empty_like(base)
        frame[:y0] = base[:y0]
        frame[y1:] = base[y1:]
        frame[y0:y1, :x0] = base[y0:y1, :x0]
        frame[y0:y1, x1:] = base[y0:y1, x1:]
        frame[y0:y1, x0:x1] = head
        return frame

    def _mouth_motion(self, mouth: MouthShape) -> tuple[float, float, float, float, float]:
        """Pixels of jaw drop and upper-lip lift; relative lip spread, pout and smile flattening."""
        face_width = self._rig.face_width
        return (
            mouth.open * JAW_DROP * face_width * (1.0 - 0.3 * mouth.round),
            mouth.open * UPPER_LIP_RAISE * face_width,
            SPREAD_PER_WIDE * mouth.wide - NARROW_PER_ROUND * mouth.round,
            POUT_PER_ROUND * mouth.round * min(1.0, 0.4 + mouth.open),
            FLATTEN_PER_ROUND * mouth.round - FLATTEN_PER_ROUND * 0.3 * mouth.wide,
        )

    def _paint_mouth_interior(
        self,
        frame: np.ndarray,
        head: HeadPose,
        round_: float,
        jaw: float,
        lift: float,
        spread: float,
        pout: float,
        flatten: float,
    ) -> None:
        rig = self._rig
        line = rig.lip_line
        roll = np.sin(np.radians(head.roll_degrees))
        relative = line - rig.pivot
        shift = self._line_head_weight[:, None] * np.stack(
            [-roll * relative[:, 1] + head.dx, roll * relative[:, 0] + head.dy], axis=1
        )
        moved = line + shift + self._line_lip_field[:, :2] * [spread, pout]
        moved[:, 1] += self._line_lip_field[:, 2] * flatten
        lens = opening_profile(self._line_u / (1.0 - ROUND_OPENING * round_)) if round_ > 0 else rig.lip_line_lens
        top = moved - np.outer(lens * lift, [0.0, 1.0])
        bottom = moved + np.outer(lens * jaw, [0.0, 1.0])
        outline = np.concatenate([top, bottom[::-1]])

        height, width = frame.shape[:2]
        x0, y0 = np.maximum(np.floor(outline.min(axis=0)).astype(int) - 1, 0)
        x1, y1 = np.minimum(np.ceil(outline.max(axis=0)).astype(int) + 2, [width, height])
        if x1 <= x0 or y1 <= y0:
            return
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(mask, [np.round((outline - [x0, y0]) * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
        coverage = (mask.astype(np.float32) / 255.0)[..., None]

        columns = np.arange(x0, x1, dtype=np.float32)
        rows = np.arange(y0, y1, dtype=np.float32)[:, None]
        top_y = np.interp(columns, top[:, 0], top[:, 1])[None, :]
        bottom_y = np.interp(columns, bottom[:, 0], bottom[:, 1])[None, :]
        depth = np.clip((rows - top_y) / np.maximum(bottom_y - top_y, 1e-3), 0.0, 1.0)[..., None]
        across = np.abs(columns - moved[len(moved) // 2, 0]) / max(np.ptp(moved[:, 0]) / 2, 1.0)
        tongue_share = (
            smoothstep((depth - 0.3) / 0.45)
            * np.clip(1.2 - across, 0.0, 1.0)[None, :, None]
            * min(1.0, jaw / (0.05 * rig.face_width))
        )
        interior = rig.cavity_rgb * (0.7 + 0.8 * depth)
        interior += (rig.tongue_rgb - interior) * tongue_share

        strip_columns = np.interp(columns, moved[:, 0], line[:, 0]) - rig.mouth_box[0]
        strip_columns = np.clip(np.round(strip_columns).astype(np.int32), 0, rig.upper_teeth.shape[1] - 1)
        for strip, alpha, row_in_strip in (
            (rig.upper_teeth, rig.upper_teeth_alpha, rows - top_y),
            (rig.lower_teeth, rig.lower_teeth_alpha, bottom_y - 1.0 - rows),
        ):
            index = np.round(row_in_strip).astype(np.int32)
            inside = (index >= 0) & (index < len(strip))
            index = np.clip(index, 0, len(strip) - 1)
            cols = np.broadcast_to(strip_columns, index.shape)
            teeth_alpha = (alpha[index, cols] * inside * (1.0 - TEETH_HIDDEN_PER_ROUND * round_))[..., None]
            interior += (strip[index, cols] - interior) * teeth_alpha

        patch = frame[y0:y1, x0:x1].astype(np.float32)
        patch += (interior - patch) * coverage
        frame[y0:y1, x0:x1] = np.clip(patch, 0, 255).astype(np.uint8)


def _eyelid_drop(eye: EyeRig, blink: float) -> np.ndarray:
    """Downward displacement that slides the upper lid (and the skin above it) over the unchanged eye."""
    lid_travel = (blink * eye.opening)[None, :]
    covered = np.clip(lid_travel - eye.below_upper_lid + 0.5, 0.0, 1.0)
    drop: np.ndarray = lid_travel * eye.lid_follow * covered * eye.lower_lid_limit
    return drop
