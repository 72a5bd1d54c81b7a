"""Real speech for tests, from the eSpeak NG library bundled in `espeakng-loader`.

eSpeak NG keeps one global synthesis callback per process, and the app's own
offline TTS installs its own; synthesising in a child process keeps the two
from ever stealing each other's audio.
"""

from __future__ import annotations

import ctypes
import subprocess
import sys

import numpy as np

SAMPLE_RATE = 22050
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_CHARS_UTF8 = 1


def synthesize(text: str, voice: str = "en") -> np.ndarray:
    """int16 mono samples at SAMPLE_RATE of eSpeak voice ``voice`` saying ``text``."""
    result = subprocess.run(
        [sys.executable, __file__, voice, text], capture_output=True, check=True, timeout=60
    )
    return np.frombuffer(result.stdout, dtype=np.int16)


def _speak_to_stdout(voice: str, text: str) -> None:
    import espeakng_loader

    chunks: list[bytes] = []
    callback_type = ctypes.CFUNCTYPE(
        ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
    )

    @callback_type
    def on_samples(wav: ctypes.Array[ctypes.c_short], count: int, _events: int) -> int:
        if count > 0:
            chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    rate = lib.espeak_Initialize(
        _AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0
    )
    if rate != SAMPLE_RATE:
        sys.exit(f"eSpeak NG initialised at {rate} Hz, expected {SAMPLE_RATE}")
    lib.espeak_SetSynthCallback(on_samples)
    if lib.espeak_SetVoiceByName(voice.encode()) != 0:
        sys.exit(f"eSpeak NG has no voice {voice!r}")
    encoded = text.encode()
    lib.espeak_Synth(encoded, len(encoded) + 1, 0, 0, 0, _ESPEAK_CHARS_UTF8, None, None)
    sys.stdout.buffer.write(b"".join(chunks))


if __name__ == "__main__":
    _speak_to_stdout(sys.argv[1], sys.argv[2])
