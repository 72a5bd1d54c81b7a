"""Choose the encoder of one avatar video track: NVENC when it opens, x264 otherwise."""

from __future__ import annotations

from typing import Literal

from ..errors import EncoderUnavailableError
from ..log import logger
from .base import Encoder, EncoderOptions
from .nvenc import NvencEncoder
from .x264 import X264Encoder

EncoderKind = Literal["auto", "nvenc", "x264"]


def create_encoder(kind: EncoderKind, options: EncoderOptions, gpu_id: int = 0) -> tuple[Encoder, str]:
    """Open an encoder for one session and say why it was chosen.

    "auto" tries NVENC for every session, so a session refused by the driver
    (e.g. the GeForce session limit) falls back to x264 alone. "nvenc" raises
    EncoderUnavailableError instead of falling back.
    """
    encoder: Encoder
    if kind == "x264":
        encoder, reason = X264Encoder(options), "x264 was requested"
    elif kind == "nvenc":
        encoder, reason = NvencEncoder(options, gpu_id), f"NVENC was requested (GPU {gpu_id})"
    elif kind == "auto":
        try:
            encoder, reason = NvencEncoder(options, gpu_id), f"NVENC opened on GPU {gpu_id}"
        except EncoderUnavailableError as error:
            encoder, reason = X264Encoder(options), f"NVENC unavailable, using x264: {error}"
    else:
        raise ValueError(f"unknown encoder kind {kind!r}; use 'auto', 'nvenc' or 'x264'")
    logger.info("video encoder %s: %s", encoder.name, reason)
    return encoder, reason
