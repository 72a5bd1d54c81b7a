"""Prepare time: turn a portrait and its face mesh into a rig the renderer animates cheaply.

The rig holds the portrait at output size with its lips closed (a grinning
source would otherwise talk through a grin), weight maps saying how far each
pixel follows the head, the lower jaw, the upper lip, lip spreading and the
eyelids, and the mouth interior's ingredients: cavity and tongue colours taken
from the photo's own lips, and strips of the photo's upper and lower teeth.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ...caches import CorruptCacheError, read_npz
from ...landmarks import (
    CHEEK_LEFT,
    CHEEK_RIGHT,
    CHIN,
    EYE_LOWER_LIDS,
    EYE_UPPER_LIDS,
    FACE_OVAL,
    FOREHEAD,
    LOWER_INNER_LIP,
    LOWER_OUTER_LIP,
    NOSE_BASE,
    UPPER_INNER_LIP,
    UPPER_OUTER_LIP,
    FaceLandmarks,
)
from ...types import VideoSpec
from ..framing import fit_portrait
from .face_regions import box_grid, clip_box, curve_at, smoothstep

RIG_FILE = "rig.npz"
MIN_PHOTO_TEETH_GAP_PX = 3.0  # a smaller lip gap shows no usable teeth: synthesise them
UPPER_TEETH_SHARE = 0.65  # of the photo's lip gap, the part that is upper teeth
SYNTHETIC_TEETH_RGB = np.array([236.0, 226.0, 206.0], np.float32)
SYNTHETIC_TEETH_LIP_TINT = 0.3  # share of the lips' colour in synthesised teeth (they sit in the same light)
HEAD_EDGE_WEIGHT = 0.03  # the head box ends where pixels follow the head by less (0.05 px of a 1.6 px sway)
LID_FOLLOW_SPAN = 0.25  # of the eye's width: how far above the lid the skin follows it down (not the glasses' rim)
TOOTH_WIDTHS = (0.05, 0.038, 0.034, 0.03)  # of the face width: central incisor, lateral, canine, premolar


@dataclass
class EyeRig:
    box: np.ndarray  # int32 x0, y0, x1, y1
    opening: np.ndarray  # (w,) lid gap per column, px
    below_upper_lid: np.ndarray  # (h, w) y minus the upper lid's y
    lid_follow: np.ndarray  # (h, w) how much skin above the lid follows it down (1 at the lid)
    lower_lid_limit: np.ndarray  # (h, w) 1 above the lower lid, 0 below


@dataclass
class FaceRig:
    base: np.ndarray  # (H, W, 3) uint8, lips closed
    landmarks: np.ndarray  # (468, 2) float32 in output pixels
    face_width: float
    head_box: np.ndarray  # int32 x0, y0, x1, y1 of everything that can move
    head_weight: np.ndarray  # (h, w) float32, 1 on the head fading to 0 at its edge
    pivot: np.ndarray  # (2,) the neck point the head rolls about
    mouth_box: np.ndarray
    mouth_centre: np.ndarray  # (2,) x of the mouth centre, y of the lip line there
    jaw_weight: np.ndarray  # (h, w) of mouth_box: share of the jaw drop each pixel follows
    upper_lip_weight: np.ndarray  # share of the upper-lip raise
    lip_field: np.ndarray  # (h, w, 3) displacement per unit of: spread (x), pout (y), smile flattening (y)
    lip_line: np.ndarray  # (n, 2) where the closed lips meet, left→right
    lip_line_lens: np.ndarray  # (n,) jaw/upper-lip weight at the lip line
    upper_teeth: np.ndarray  # (du, mouth w, 3) float32 colours, row r = r px below the upper lip
    upper_teeth_alpha: np.ndarray  # (du, mouth w)
    lower_teeth: np.ndarray  # (dl, mouth w, 3), row r = r px above the lower lip
    lower_teeth_alpha: np.ndarray
    cavity_rgb: np.ndarray  # (3,) float32
    tongue_rgb: np.ndarray
    eyes: tuple[EyeRig, EyeRig]

    def save(self, directory: Path) -> None:
        arrays: dict[str, Any] = {f.name: np.asarray(getattr(self, f.name)) for f in fields(self) if f.name != "eyes"}
        for index, eye in enumerate(self.eyes):
            arrays |= {f"eye{index}_{f.name}": getattr(eye, f.name) for f in fields(EyeRig)}
        np.savez(directory / RIG_FILE, **arrays)

    @classmethod
    def load(cls, directory: Path) -> FaceRig:
        """Raises CorruptCacheError (from read_npz) when the file is damaged or incomplete."""
        # Any: the arrays fill the dataclass by name; face_width comes back as a 0-d array, made a float below.
        arrays: dict[str, Any] = read_npz(directory / RIG_FILE)
        try:
            first, second = (EyeRig(**{f.name: arrays.pop(f"eye{i}_{f.name}") for f in fields(EyeRig)}) for i in (0, 1))
            rig = cls(**arrays, eyes=(first, second))
        except (KeyError, TypeError) as exc:
            raise CorruptCacheError(f"{RIG_FILE} misses or has unknown arrays: {exc}") from exc
        rig.face_width = float(rig.face_width)
        return rig


def build_rig(image: np.ndarray, landmarks: FaceLandmarks, spec: VideoSpec) -> FaceRig:
    photo, points = fit_portrait(image, landmarks, spec)
    height, width = photo.shape[:2]
    face_width = float(np.linalg.norm(points[CHEEK_RIGHT] - points[CHEEK_LEFT]))
    face_height = float(points[CHIN, 1] - points[FOREHEAD, 1])
    upper_inner, lower_inner = points[UPPER_INNER_LIP], points[LOWER_INNER_LIP]
    lip_line = (upper_inner + lower_inner) / 2
    centre_x = float((points[UPPER_INNER_LIP[0], 0] + points[UPPER_INNER_LIP[-1], 0]) / 2)
    half_width = float(abs(points[UPPER_INNER_LIP[-1], 0] - points[UPPER_INNER_LIP[0], 0]) / 2)
    centre = np.array([centre_x, curve_at(np.array([centre_x]), lip_line)[0]], np.float32)
    nose_y, chin_y = float(points[NOSE_BASE, 1]), float(points[CHIN, 1])

    mouth_box = np.array(
        clip_box(
            (
                centre_x - 2.3 * half_width,
                nose_y - 0.02 * face_height,
                centre_x + 2.3 * half_width,
                chin_y + 0.32 * face_height,
            ),
            width,
            height,
        ),
        np.int32,
    )
    xs, ys = box_grid(tuple(mouth_box))
    line_y = curve_at(xs[0], lip_line)[None, :]
    u = (xs - centre_x) / half_width
    lens = opening_profile(u)
    above = ys <= line_y
    upper_span, lower_span = centre[1] - nose_y, chin_y - centre[1]

    jaw_ramp = smoothstep((ys - line_y) / (0.9 * lower_span))
    beside_mouth = np.exp(-((np.maximum(np.abs(u) - 1.0, 0.0) / 0.7) ** 2))
    under_chin_fade = 1.0 - smoothstep((ys - chin_y) / (0.3 * face_height))
    jaw_weight = np.where(above, 0.0, (lens + (1.0 - lens) * jaw_ramp * beside_mouth) * under_chin_fade)
    upper_lip_weight = np.where(above, lens * (1.0 - smoothstep((line_y - ys) / upper_span)), 0.0)
    box_window = _edge_window(xs.shape, margin=max(2, round(0.25 * half_width)))
    jaw_weight *= box_window
    upper_lip_weight *= box_window
    envelope = np.exp(-((u / 1.5) ** 2) - (((ys - centre[1]) / half_width) ** 2)) * box_window
    lip_field = np.stack(
        [(xs - centre_x) * envelope, (ys - centre[1]) * envelope, (centre[1] - line_y) * envelope], axis=-1
    )

    lip_rgb = _lip_colour(photo, points)
    base = _close_lips(photo, mouth_box, xs, ys, upper_inner, lower_inner, line_y, (upper_span, lower_span), lip_rgb)
    upper_teeth, upper_alpha, lower_teeth, lower_alpha = _teeth_strips(
        photo, xs[0], upper_inner, lower_inner, lens[0], face_width, centre_x, lip_rgb
    )
    head_box, head_weight = _head_region(points, face_width, width, height, mouth_box)
    line_lens = opening_profile((lip_line[:, 0] - centre_x) / half_width)
    first_eye, second_eye = (
        _eye_rig(points, upper, lower, width, height)
        for upper, lower in zip(EYE_UPPER_LIDS, EYE_LOWER_LIDS, strict=True)
    )
    return FaceRig(
        base=base,
        landmarks=points,
        face_width=face_width,
        head_box=head_box,
        head_weight=head_weight,
        pivot=np.array([centre_x, chin_y + 0.35 * face_height], np.float32),
        mouth_box=mouth_box,
        mouth_centre=centre,
        jaw_weight=jaw_weight.astype(np.float32),
        upper_lip_weight=upper_lip_weight.astype(np.float32),
        lip_field=lip_field.astype(np.float32),
        lip_line=lip_line.astype(np.float32),
        lip_line_lens=line_lens.astype(np.float32),
        upper_teeth=upper_teeth,
        upper_teeth_alpha=upper_alpha,
        lower_teeth=lower_teeth,
        lower_teeth_alpha=lower_alpha,
        cavity_rgb=(lip_rgb * 0.28).astype(np.float32),
        tongue_rgb=(0.55 * lip_rgb + 0.45 * np.array([185.0, 92.0, 96.0])).astype(np.float32) * 0.95,
        eyes=(first_eye, second_eye),
    )


def opening_profile(u: np.ndarray) -> np.ndarray:
    """How far the lips part across the mouth: 1 at the centre (u=0), 0 at the corners (|u|=1)."""
    profile: np.ndarray = np.clip(1.0 - u * u, 0.0, 1.0) ** 0.85
    return profile


def _close_lips(
    photo: np.ndarray,
    mouth_box: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    upper_inner: np.ndarray,
    lower_inner: np.ndarray,
    line_y: np.ndarray,
    spans: tuple[float, float],
    lip_rgb: np.ndarray,
) -> np.ndarray:
    """Bring the lips together on their middle line, then shade the line where they meet.

    The upper lip moves down and the lower lip up by half the gap each (plus a
    pixel of overlap, so no sliver of teeth survives); the two halves are
    rendered separately and joined with an anti-aliased seam.
    """
    gap = np.maximum(curve_at(xs[0], lower_inner) - curve_at(xs[0], upper_inner), 0.0)[None, :]
    travel = gap / 2 + np.minimum(gap / 2, 1.0)
    upper_span, lower_span = spans
    upper_down = travel * (1.0 - smoothstep((line_y - ys) / upper_span))
    lower_up = travel * (1.0 - smoothstep((ys - line_y) / lower_span))
    upper_half = cv2.remap(photo, xs, (ys - upper_down).astype(np.float32), cv2.INTER_LINEAR)
    lower_half = cv2.remap(photo, xs, (ys + lower_up).astype(np.float32), cv2.INTER_LINEAR)
    below_line = np.clip(ys - line_y + 0.5, 0.0, 1.0)[..., None]
    mouth = upper_half + (lower_half.astype(np.float32) - upper_half) * below_line

    x0, y0, x1, y1 = mouth_box
    seam = np.zeros(mouth.shape[:2], np.float32)
    corners_to_corners = np.round((upper_inner - [x0, y0]) * 16).astype(np.int32)
    corners_to_corners[:, 1] = np.round((curve_at(upper_inner[:, 0], (upper_inner + lower_inner) / 2) - y0) * 16)
    cv2.polylines(seam, [corners_to_corners], False, 0.45, 1, cv2.LINE_AA, shift=4)
    mouth += (lip_rgb * 0.5 - mouth) * seam[..., None]
    closed = photo.copy()
    closed[y0:y1, x0:x1] = np.clip(mouth, 0, 255).astype(np.uint8)
    return closed


def _teeth_strips(
    photo: np.ndarray,
    columns: np.ndarray,
    upper_inner: np.ndarray,
    lower_inner: np.ndarray,
    lens: np.ndarray,
    face_width: float,
    centre_x: float,
    lip_rgb: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The photo's teeth as strips hanging from the upper lip and standing on the lower lip.

    A photo with closed lips shows no teeth; then rows are synthesised (`_synthetic_teeth`).
    """
    upper_y, lower_y = curve_at(columns, upper_inner), curve_at(columns, lower_inner)
    gap = np.maximum(lower_y - upper_y, 0.0)
    if gap.max() < MIN_PHOTO_TEETH_GAP_PX:
        colour = SYNTHETIC_TEETH_RGB + SYNTHETIC_TEETH_LIP_TINT * (lip_rgb - SYNTHETIC_TEETH_RGB)
        return _synthetic_teeth(columns - centre_x, lens, face_width, colour)

    def strip(start_y: np.ndarray, step: float, share: float) -> tuple[np.ndarray, np.ndarray]:
        depth = int(np.ceil(gap.max() * share)) + 2
        rows = np.arange(depth, dtype=np.float32)[:, None]
        map_x = np.broadcast_to(columns[None, :], (depth, len(columns))).astype(np.float32)
        map_y = (start_y[None, :] + step * rows).astype(np.float32)
        colours = cv2.remap(photo, map_x, map_y, cv2.INTER_LINEAR).astype(np.float32)
        return colours, np.clip(share * gap[None, :] - rows, 0.0, 1.0).astype(np.float32)

    upper, upper_alpha = strip(upper_y + 1.0, 1.0, UPPER_TEETH_SHARE)
    lower, lower_alpha = strip(lower_y - 2.0, -1.0, 1.0 - UPPER_TEETH_SHARE)
    return upper, upper_alpha, lower, lower_alpha


def _synthetic_teeth(
    offsets: np.ndarray, lens: np.ndarray, face_width: float, colour: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Upper and lower rows of separate teeth, by column offset from the mouth's centre.

    Each tooth is a little shorter at its sides (rounded tips) and parted from the next by a
    soft dark seam; the rows darken under the lips and towards the corners, and fade out there.
    """
    edges = np.cumsum((0.0, *TOOTH_WIDTHS, *(TOOTH_WIDTHS[-1:] * 4))) * face_width
    distance = np.abs(offsets)
    tooth = np.clip(np.searchsorted(edges, distance) - 1, 0, len(edges) - 2)
    within = (distance - edges[tooth]) / (edges[tooth + 1] - edges[tooth])  # 0..1 across each tooth
    seam = 1.0 - 0.18 * np.exp(-(((np.minimum(within, 1.0 - within)) * (edges[tooth + 1] - edges[tooth]) / 0.8) ** 2))
    tip = 1.0 - 0.25 * (2.0 * within - 1.0) ** 4
    corner_shade = 0.55 + 0.45 * np.sqrt(lens)

    def row(depth: int, top_shade: float) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(depth, dtype=np.float32)[:, None]
        length = depth * tip * (0.75 + 0.25 * np.sqrt(lens))
        shade = (top_shade + (1.0 - top_shade) * smoothstep(rows / (0.5 * depth))) * seam * corner_shade
        colours = colour * shade[..., None]
        alpha = np.clip((length[None, :] - rows) / 1.5, 0.0, 1.0) * smoothstep(lens / 0.35)[None, :]
        return colours.astype(np.float32), (alpha * 0.95).astype(np.float32)

    upper, upper_alpha = row(max(3, round(0.05 * face_width)), 0.75)
    lower, lower_alpha = row(max(2, round(0.028 * face_width)), 0.6)
    return upper, upper_alpha, lower, lower_alpha * 0.6


def _edge_window(shape: tuple[int, ...], margin: int) -> np.ndarray:
    """1 inside, easing to 0 at the border of a box: fields must vanish where the box ends."""
    height, width = shape[:2]
    rows = smoothstep(np.minimum(np.arange(height), np.arange(height)[::-1]) / margin)
    cols = smoothstep(np.minimum(np.arange(width), np.arange(width)[::-1]) / margin)
    return np.outer(rows, cols).astype(np.float32)


def _lip_colour(photo: np.ndarray, points: np.ndarray) -> np.ndarray:
    lips = np.zeros(photo.shape[:2], np.uint8)
    outer = np.concatenate([points[UPPER_OUTER_LIP], points[LOWER_OUTER_LIP][::-1]])
    inner = np.concatenate([points[UPPER_INNER_LIP], points[LOWER_INNER_LIP][::-1]])
    cv2.fillPoly(lips, [np.round(outer).astype(np.int32)], 255)
    cv2.fillPoly(lips, [np.round(inner).astype(np.int32)], 0)
    return np.array(cv2.mean(photo, mask=lips)[:3], np.float32)


def _head_region(
    points: np.ndarray, face_width: float, width: int, height: int, mouth_box: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The head (face oval grown to take in hair and ears), feathered so motion fades out at its edge."""
    oval = points[FACE_OVAL]
    (cx, cy), (half_w, half_h) = oval.mean(axis=0), (oval.max(axis=0) - oval.min(axis=0)) / 2
    mask: np.ndarray = np.zeros((height, width), np.float32)
    axes = (round(half_w * 1.25), round(half_h * 1.3))
    cv2.ellipse(mask, (round(cx), round(cy - 0.12 * half_h)), axes, 0, 0, 360, 1.0, -1)
    sigma = 0.12 * face_width
    mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    rows, cols = np.nonzero(mask > HEAD_EDGE_WEIGHT)
    x0, y0, x1, y1 = mouth_box
    head_box = np.array(
        clip_box(
            (min(cols.min(), x0), min(rows.min(), y0), max(cols.max() + 1, x1), max(rows.max() + 1, y1)), width, height
        ),
        np.int32,
    )
    hx0, hy0, hx1, hy1 = head_box
    return head_box, mask[hy0:hy1, hx0:hx1].copy()


def _eye_rig(points: np.ndarray, upper_ids: list[int], lower_ids: list[int], width: int, height: int) -> EyeRig:
    upper, lower = points[upper_ids], points[lower_ids]
    eye_width = float(np.ptp(upper[:, 0]))
    box = np.array(
        clip_box(
            (
                upper[:, 0].min() - 0.15 * eye_width,
                upper[:, 1].min() - 0.7 * eye_width,
                upper[:, 0].max() + 0.15 * eye_width,
                lower[:, 1].max() + 2,
            ),
            width,
            height,
        ),
        np.int32,
    )
    xs, ys = box_grid(tuple(box))
    upper_y, lower_y = curve_at(xs[0], upper)[None, :], curve_at(xs[0], lower)[None, :]
    below_upper_lid = ys - upper_y
    return EyeRig(
        box=box,
        opening=np.maximum(lower_y - upper_y, 0.0)[0].astype(np.float32),
        below_upper_lid=below_upper_lid.astype(np.float32),
        lid_follow=(1.0 - smoothstep(-below_upper_lid / (LID_FOLLOW_SPAN * eye_width))).astype(np.float32),
        lower_lid_limit=np.clip(lower_y + 0.5 - ys, 0.0, 1.0).astype(np.float32),
    )
