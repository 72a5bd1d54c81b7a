"""Types every part of the plugin shares: the video's shape, a rendered frame and progress reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import torch

MIN_VIDEO_SIZE, MAX_VIDEO_SIZE, MAX_VIDEO_FPS = 64, 2048, 60
"""Bounds on the avatar video's width and height (px, even) and frame rate, from any source of settings."""

Pcm: TypeAlias = npt.NDArray[np.int16]
"""Mono 16-bit audio samples, shape (n,)."""

FrameImage: TypeAlias = "npt.NDArray[np.uint8] | torch.Tensor"
"""An RGB frame (H, W, 3): a numpy array from CPU engines, a device tensor from GPU engines (NVENC takes it as is)."""

ProgressCallback: TypeAlias = Callable[[str, float], None]
"""Called with (step description, fraction done) while a pack is prepared."""


@dataclass(frozen=True)
class VideoSpec:
    width: int = 512
    height: int = 512
    fps: int = 25


@dataclass
class AvatarFrame:
    """One video frame and the audio it lip-syncs.

    audio: the samples shown by this frame (len == sample_rate / fps), or None for an idle
        frame (nothing is being said).
    """

    image: FrameImage
    audio: Pcm | None
    speaking: bool
