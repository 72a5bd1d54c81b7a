"""H.264 encoders for pre-encoded publishing: x264 on CPU, NVENC on GPU."""

from .base import EncodedUnit, Encoder, EncoderOptions
from .factory import EncoderKind, create_encoder
from .feedback import apply_feedback

__all__ = ["EncodedUnit", "Encoder", "EncoderKind", "EncoderOptions", "apply_feedback", "create_encoder"]
