"""eSpeak NG speech synthesis through the library bundled in `espeakng-loader`.

The library keeps global state, so every call goes through one process-wide lock.
"""

from __future__ import annotations

import ctypes
import threading
from functools import cache

import espeakng_loader
import numpy as np

SAMPLE_RATE = 22050
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_CHARS_UTF8 = 1
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

_lock = threading.Lock()
_chunks: list[np.ndarray] = []


@_SYNTH_CALLBACK  # type: ignore[untyped-decorator]  # ctypes callback types are untyped
def _on_samples(wav: ctypes.POINTER(ctypes.c_short), num_samples: int, _events: ctypes.c_void_p) -> int:  # type: ignore[valid-type]
    if num_samples > 0:
        _chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
    return 0


@cache
def _library() -> ctypes.CDLL:
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    data_path = espeakng_loader.get_data_path().encode()
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, 0)
    if rate != SAMPLE_RATE:
        raise RuntimeError(f"eSpeak NG initialised at {rate} Hz, expected {SAMPLE_RATE}")
    lib.espeak_SetSynthCallback(_on_samples)
    return lib


def espeak_voice_for(language: str) -> str:
    """BCP-47 tag → eSpeak voice name ("ko-KR" → "ko", "en-US" → "en-us")."""
    tag = language.lower()
    return tag if tag in ("en-us", "en-gb") else tag.split("-")[0]


def synthesize(text: str, voice: str = "en") -> np.ndarray:
    """Speak `text` with eSpeak voice `voice`; int16 mono samples at SAMPLE_RATE."""
    encoded = text.encode("utf-8")
    with _lock:
        lib = _library()
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"eSpeak NG has no voice {voice!r}")
        _chunks.clear()
        lib.espeak_Synth(encoded, len(encoded) + 1, 0, 0, 0, _ESPEAK_CHARS_UTF8, None, None)
        samples = np.concatenate(_chunks) if _chunks else np.zeros(0, dtype=np.int16)
        _chunks.clear()
    return samples.astype(np.int16, copy=False)
