"""Paste a generated face back into its full frame through the blend mask, with torch ops on the frame's device."""

from __future__ import annotations

import torch
import torch.nn.functional as F

Box = tuple[int, int, int, int]  # x1, y1, x2, y2


def paste_face(frame: torch.Tensor, face: torch.Tensor, box: Box, mask: torch.Tensor) -> torch.Tensor:
    """The frame (H, W, 3) uint8 with `face` (3, 256, 256) in [0, 1] resized into `box`.

    `mask` (h, w, 1) in [0, 1] covers the box; pixels it leaves at 0 keep
    their exact value, so nothing outside the blend region changes.
    """
    x1, y1, x2, y2 = box
    resized = F.interpolate(face[None], size=(y2 - y1, x2 - x1), mode="bilinear", align_corners=False)
    resized = resized[0].permute(1, 2, 0) * 255.0
    region = frame[y1:y2, x1:x2].to(resized.dtype)
    blended = mask * resized + (1.0 - mask) * region
    out = frame.clone()
    out[y1:y2, x1:x2] = blended.round().clamp(0, 255).to(torch.uint8)
    return out
