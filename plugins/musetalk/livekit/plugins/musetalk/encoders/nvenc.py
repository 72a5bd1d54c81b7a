"""Hardware H.264 on an NVIDIA GPU through PyNvVideoCodec, fed from GPU memory.

NOT RUN ON A GPU YET: it was written on a machine without an NVIDIA driver.
Only the colour arithmetic (nv12.py) and the error mapping are tested there;
the lines marked "GPU only" follow PyNvVideoCodec 2.2.4's documented API.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import EncoderUnavailableError
from ..log import logger
from .base import EncodedUnit, EncoderOptions, EncoderState, Frame
from .nv12 import rgb_to_nv12

FORCE_IDR_WITH_SPS_PPS = 0x2 | 0x4
"""NV_ENC_PIC_FLAG_FORCEIDR | NV_ENC_PIC_FLAG_OUTPUT_SPSPPS (nvEncodeAPI.h)."""

IDR_PICTURE_TYPE = 3
"""NV_ENC_PIC_TYPE_IDR, as reported in each output's "picture_type"."""


def open_nvenc_session(options: EncoderOptions, gpu_id: int) -> Any:
    """Open one NVENC session. GPU only; raises whatever PyNvVideoCodec or the driver raises."""
    import PyNvVideoCodec as nvc

    return nvc.CreateEncoder(
        options.width,
        options.height,
        "NV12",
        False,  # usecpuinputbuffer: frames come from CUDA memory
        gpu_id=gpu_id,
        codec="h264",
        preset="P2",
        tuning_info="ultra_low_latency",
        rc="cbr",
        bitrate=options.bitrate_bps,
        maxbitrate=options.max_bitrate_bps,
        vbvbufsize=options.rate_buffer_bits,
        fps=round(options.fps),
        gop=options.keyframe_interval_frames,
        idrperiod=options.keyframe_interval_frames,
        bf=0,
        repeatspspps=1,
    )


class NvencEncoder(EncoderState):
    """One NVENC session per published track (NVENC sessions cannot be shared between streams)."""

    name = "nvenc"

    def __init__(self, options: EncoderOptions, gpu_id: int = 0) -> None:
        super().__init__(options)
        self._gpu_id = gpu_id
        self._keyframe_requested = True
        self._session: Any = _open_session(options, gpu_id)
        self._require_zero_delay()

    def encode(self, frame: Frame) -> EncodedUnit:
        session = self._require_open()
        expected_shape = (self._options.height, self._options.width, 3)
        if tuple(frame.shape) != expected_shape:
            raise ValueError(f"NVENC expects an RGB frame of shape {expected_shape}, got {tuple(frame.shape)}")
        flags = FORCE_IDR_WITH_SPS_PPS if self._keyframe_requested else 0
        outputs = session.Encode(_nv12_on_gpu(frame, self._gpu_id), flags)  # GPU only
        if len(outputs) != 1:
            raise RuntimeError(f"NVENC returned {len(outputs)} access units for one frame; expected exactly one")
        self._keyframe_requested = False
        unit = EncodedUnit(
            data=bytes(outputs[0]["data"]),
            is_keyframe=outputs[0]["picture_type"] == IDR_PICTURE_TYPE,
            frame_index=self._frame_index,
        )
        self._frame_index += 1
        return unit

    def request_keyframe(self) -> None:
        self._keyframe_requested = True

    def set_bitrate(self, bps: int) -> int:
        self._reconfigure(self._options.clamp_bitrate(bps), self._fps)
        return self._bitrate_bps

    def set_fps(self, fps: float) -> float:
        self._reconfigure(self._bitrate_bps, self._options.clamp_fps(fps))
        return self._fps

    def close(self) -> None:
        if self._session is not None:
            self._session.EndEncode()  # GPU only
            self._session = None

    def _reconfigure(self, bitrate_bps: int, fps: float) -> None:
        """Apply new rate targets; on refusal keep the old ones and say so."""
        session = self._require_open()
        params = session.GetEncodeReconfigureParams()  # GPU only
        frame_rate = Fraction(fps).limit_denominator(1001)
        params.averageBitrate = bitrate_bps
        params.maxBitRate = bitrate_bps
        params.frameRateNum = frame_rate.numerator
        params.frameRateDen = frame_rate.denominator
        if not session.Reconfigure(params):
            logger.warning(
                "NVENC refused to change rate to %d bps at %.1f fps; keeping %d bps at %.1f fps",
                bitrate_bps,
                fps,
                self._bitrate_bps,
                self._fps,
            )
            return
        self._bitrate_bps, self._fps = bitrate_bps, fps

    def _require_zero_delay(self) -> None:
        """Encode a black frame: a build that holds frames back would add latency to every frame."""
        black = np.zeros((self._options.height, self._options.width, 3), dtype=np.uint8)
        try:
            outputs = self._require_open().Encode(_nv12_on_gpu(black, self._gpu_id))  # GPU only
        except ImportError as error:
            self.close()
            raise EncoderUnavailableError(
                f"NVENC input needs torch ({error}); install livekit-plugins-musetalk[gpu]"
            ) from error
        if not outputs:
            self.close()
            raise EncoderUnavailableError(
                "this PyNvVideoCodec build holds frames back (encoder output delay), which adds latency "
                "to every frame of a live stream; use the x264 encoder"
            )

    def _require_open(self) -> Any:
        if self._session is None:
            raise RuntimeError("the NVENC encoder is closed; create a new one")
        return self._session


def _open_session(options: EncoderOptions, gpu_id: int) -> Any:
    try:
        return open_nvenc_session(options, gpu_id)
    except ImportError as error:
        raise EncoderUnavailableError(
            f"NVENC needs PyNvVideoCodec ({error}); install livekit-plugins-musetalk[gpu]"
        ) from error
    except Exception as error:  # PyNvVideoCodec raises RuntimeError and its own exception types
        raise EncoderUnavailableError(_explain_open_failure(error)) from error


def _explain_open_failure(error: Exception) -> str:
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if "nvEncOpenEncodeSessionEx" in str(error):
        return (
            f"the NVIDIA driver refused a new NVENC session ({detail}); most often the limit on "
            "concurrent encode sessions of GeForce drivers: end other encoders or use x264"
        )
    return (
        f"NVENC cannot be opened ({detail}); check the NVIDIA driver with nvidia-smi, and in a "
        "container set NVIDIA_DRIVER_CAPABILITIES to include 'video'"
    )


def _nv12_on_gpu(frame: Frame, gpu_id: int) -> Any:
    """GPU only: a numpy frame is uploaded, a CUDA tensor is converted where it is."""
    import torch

    return rgb_to_nv12(torch.as_tensor(frame, device=f"cuda:{gpu_id}"), torch)
