"""eSpeak NG speech synthesis through the library bundled in `espeakng-loader`.

The library keeps global state, so every call goes through one process-wide lock.
It reports when each phoneme starts (eSpeak's phoneme events), which articulation
measurements use as ground truth.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import espeakng_loader
import numpy as np

SAMPLE_RATE = 22050
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_CHARS_UTF8 = 1
_INITIALIZE_PHONEME_EVENTS = 1
_EVENT_LIST_TERMINATED, _EVENT_PHONEME = 0, 7
_PARAMETER_RATE, _PARAMETER_PITCH = 1, 3
DEFAULT_RATE_WPM, DEFAULT_PITCH = 175, 50


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """espeak_EVENT (speak_lib.h)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Phoneme:
    start_s: float
    name: str
    """eSpeak's phoneme mnemonic, with its stress marks (e.g. "m", "'A:", ",u-")."""


_lock = threading.Lock()
_chunks: list[np.ndarray] = []
_phonemes: list[Phoneme] = []


@_SYNTH_CALLBACK  # type: ignore[untyped-decorator]  # ctypes callback types are untyped
def _on_samples(wav: ctypes.POINTER(ctypes.c_short), num_samples: int, events: ctypes.POINTER(_Event)) -> int:  # type: ignore[valid-type]
    if num_samples > 0:
        _chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
    index = 0
    while events and events[index].type != _EVENT_LIST_TERMINATED:
        event = events[index]
        if event.type == _EVENT_PHONEME:
            _phonemes.append(Phoneme(event.audio_position / 1000, event.id.string.decode("utf-8", "replace")))
        index += 1
    return 0


@cache
def _library() -> ctypes.CDLL:
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    data_path = espeakng_loader.get_data_path().encode()
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, _INITIALIZE_PHONEME_EVENTS)
    if rate != SAMPLE_RATE:
        raise RuntimeError(f"eSpeak NG initialised at {rate} Hz, expected {SAMPLE_RATE}")
    lib.espeak_SetSynthCallback(_on_samples)
    return lib


_FALLBACK_VOICE = "en"
# BCP-47 tags (lower case) whose eSpeak voice has another name.
_VOICE_ALIASES = {
    "en-gb": "en",  # eSpeak's British English is "en"
    "zh": "cmn",
    "zh-cn": "cmn",
    "zh-sg": "cmn",
    "zh-tw": "cmn",
    "zh-hans": "cmn",
    "zh-hant": "cmn",
    "zh-hk": "yue",
    "zh-mo": "yue",
    "zh-yue": "yue",
    "no": "nb",
    "iw": "he",
    "in": "id",
    "pt-pt": "pt",
    **{f"es-{region}": "es-419" for region in ("mx", "ar", "co", "cl", "pe", "ve", "us", "uy", "ec", "gt", "cu")},
}


@dataclass(frozen=True)
class VoiceChoice:
    voice: str
    speaks_language: bool
    """False: eSpeak has no voice for the language and `voice` is the English fallback."""


@cache
def espeak_voices() -> frozenset[str]:
    """The names eSpeak NG's voices answer to, lower case ("en-us", "cmn", "ko", ...)."""
    root = Path(espeakng_loader.get_data_path()) / "lang"
    return frozenset(path.name.lower() for path in root.rglob("*") if path.is_file())


def espeak_voice_for(language: str) -> VoiceChoice:
    """The closest eSpeak voice for a BCP-47 tag: the whole tag, then shorter prefixes ("en-AU" → "en"),
    each also under its alias ("zh-CN" → "cmn", "en-GB" → "en"); English when none exists."""
    parts = language.lower().split("-")
    available = espeak_voices()
    for length in range(len(parts), 0, -1):
        tag = "-".join(parts[:length])
        for name in (tag, _VOICE_ALIASES.get(tag)):
            if name and name in available:
                return VoiceChoice(name, speaks_language=True)
    return VoiceChoice(_FALLBACK_VOICE, speaks_language=False)


def language_notice(language: str) -> str | None:
    """What to tell the room when the offline voice cannot speak `language`."""
    if espeak_voice_for(language).speaks_language:
        return None
    return f"the offline voice (eSpeak NG) has no {language!r} voice: the avatar speaks English"


def synthesize(text: str, voice: str = "en") -> np.ndarray:
    """Speak `text` with eSpeak voice `voice`; int16 mono samples at SAMPLE_RATE."""
    return synthesize_with_phonemes(text, voice)[0]


def synthesize_with_phonemes(
    text: str, voice: str = "en", *, rate_wpm: int = DEFAULT_RATE_WPM, pitch: int = DEFAULT_PITCH
) -> tuple[np.ndarray, list[Phoneme]]:
    """`synthesize`, plus when each phoneme starts in the returned samples.

    `voice` may name a variant ("en-us+f3"); `rate_wpm` (80-450) and `pitch` (0-99) are eSpeak's.
    """
    encoded = text.encode("utf-8")
    with _lock:
        lib = _library()
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"eSpeak NG has no voice {voice!r}")
        lib.espeak_SetParameter(_PARAMETER_RATE, rate_wpm, 0)
        lib.espeak_SetParameter(_PARAMETER_PITCH, pitch, 0)
        _chunks.clear()
        _phonemes.clear()
        lib.espeak_Synth(encoded, len(encoded) + 1, 0, 0, 0, _ESPEAK_CHARS_UTF8, None, None)
        samples = np.concatenate(_chunks) if _chunks else np.zeros(0, dtype=np.int16)
        phonemes = list(_phonemes)
        _chunks.clear()
        _phonemes.clear()
    return samples.astype(np.int16, copy=False), phonemes
