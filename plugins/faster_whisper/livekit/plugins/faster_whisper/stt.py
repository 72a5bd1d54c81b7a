"""Speech-to-text on a local faster-whisper model.

Whisper transcribes whole utterances. Without a VAD this STT does not stream,
and AgentSession wraps it in ``stt.StreamAdapter`` with the session's VAD, which
transcribes after the VAD reports the end of speech. Given a VAD it streams
itself and transcribes during the end-of-speech silence instead (see
early_stream.py), so the reply does not wait for Whisper::

    from livekit.plugins import faster_whisper, silero

    vad = silero.VAD.load()
    session = AgentSession(vad=vad, stt=faster_whisper.STT(vad=vad), ...)
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Never

import numpy as np
import numpy.typing as npt
from livekit import rtc
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectOptions,
    APIError,
    LanguageCode,
    stt,
    utils,
)
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.utils import is_given
from livekit.agents.vad import VAD

from faster_whisper import WhisperModel
from faster_whisper.tokenizer import _LANGUAGE_CODES

from .early_stream import EarlyTranscriptionStream
from .log import logger
from .models import DEFAULT_MODEL, Device, ModelNotFoundError, load_model
from .short_window import LOGPROB_THRESHOLD, transcribe_window, window_seconds

SAMPLE_RATE = 16000
WHISPER_LANGUAGES: frozenset[str] = frozenset(_LANGUAGE_CODES)
# ISO codes whose Whisper token differs from what LanguageCode normalises to.
_WHISPER_ALIASES = {"jv": "jw", "iw": "he", "nb": "no", "fil": "tl"}
DEFAULT_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
DEFAULT_EARLY_TRANSCRIPTION_AFTER = 0.2
DEFAULT_ENCODER_WINDOW = 8.0


def whisper_language(language: str | None) -> str | None:
    """BCP-47 tag → Whisper language code ("en-US" → "en"); None means detect."""
    if language is None:
        return None
    base = LanguageCode(language).language
    code = _WHISPER_ALIASES.get(base, base)
    if code not in WHISPER_LANGUAGES:
        raise ValueError(f"Whisper does not support language {language!r}")
    return code


@dataclass
class STTOptions:
    model: str = DEFAULT_MODEL
    """Model size or Hub id ("small", "large-v3", "org/repo") or a local model directory."""
    device: Device = "auto"
    compute_type: str = "default"
    """CTranslate2 compute type: "default", "int8", "int8_float16", "float16", ..."""
    language: str | None = None
    """Whisper language code; None detects the language of every utterance."""
    beam_size: int = 5
    temperature: tuple[float, ...] = DEFAULT_TEMPERATURES
    """Temperatures tried in turn when a decode looks like a hallucination."""
    condition_on_previous_text: bool = False
    """Utterances are transcribed independently; conditioning lets one bad turn poison the next."""
    no_speech_threshold: float | None = 0.6
    max_new_tokens: int | None = None
    initial_prompt: str | None = None
    vad_filter: bool = False
    """faster-whisper's own VAD; off because the StreamAdapter's VAD already cut the audio."""
    encoder_window: float | None = DEFAULT_ENCODER_WINDOW
    """Seconds of audio the encoder sees at least (see short_window.py); None: Whisper's 30 s window, decoded
    by faster-whisper. An utterance of 28 s or more always gets the 30 s window."""


class STT(stt.STT[Never]):
    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        device: Device = "auto",
        compute_type: str = "default",
        language: str | None = None,
        beam_size: int = 5,
        temperature: float | Sequence[float] = DEFAULT_TEMPERATURES,
        condition_on_previous_text: bool = False,
        no_speech_threshold: float | None = 0.6,
        max_new_tokens: int | None = None,
        initial_prompt: str | None = None,
        vad_filter: bool = False,
        vad: VAD | None = None,
        early_transcription_after: float = DEFAULT_EARLY_TRANSCRIPTION_AFTER,
        encoder_window: float | None = DEFAULT_ENCODER_WINDOW,
    ) -> None:
        """Create a faster-whisper STT.

        The model is loaded on first use (or by ``prewarm()`` / ``load_model()``)
        and shared with every other STT using the same model, device and compute
        type. ``language`` is a BCP-47 tag ("ko", "en-US"); None detects it.
        With ``vad`` the STT streams, and starts transcribing once the user has
        been silent for ``early_transcription_after`` seconds (keep it below the
        VAD's ``min_silence_duration``). ``encoder_window`` shortens Whisper's 30 s
        window for short utterances (on a CPU a 2 s question then costs about a
        quarter of the time); None keeps the full window.
        """
        super().__init__(capabilities=stt.STTCapabilities(streaming=vad is not None, interim_results=False))
        self._vad = vad
        self._early_transcription_after = early_transcription_after
        self._opts = STTOptions(
            model=model,
            device=device,
            compute_type=compute_type,
            language=whisper_language(language),
            beam_size=beam_size,
            temperature=((float(temperature),) if isinstance(temperature, (int, float)) else tuple(temperature)),
            condition_on_previous_text=condition_on_previous_text,
            no_speech_threshold=no_speech_threshold,
            max_new_tokens=max_new_tokens,
            initial_prompt=initial_prompt,
            vad_filter=vad_filter,
            encoder_window=encoder_window,
        )

    @property
    def options(self) -> STTOptions:
        return replace(self._opts)

    @property
    def model(self) -> str:
        return self._opts.model

    @property
    def provider(self) -> str:
        return "faster-whisper"

    def update_options(self, *, language: NotGivenOr[str | None] = NOT_GIVEN) -> None:
        if is_given(language):
            self._opts.language = whisper_language(language)

    def prewarm(self) -> None:
        """Start loading the model in the background; AgentSession calls this on start."""
        threading.Thread(target=self._load_quietly, name="faster_whisper.prewarm", daemon=True).start()

    def _load_quietly(self) -> None:
        try:
            load_model(self._opts.model, device=self._opts.device, compute_type=self._opts.compute_type)
        except ModelNotFoundError as e:
            logger.error("cannot prewarm faster-whisper: %s", e)

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.RecognizeStream:
        if self._vad is None:
            raise NotImplementedError(
                "faster_whisper.STT streams only with a VAD: pass vad=, or wrap it in stt.StreamAdapter"
            )
        return EarlyTranscriptionStream(
            self,
            vad=self._vad,
            early_after=self._early_transcription_after,
            language=language,
            conn_options=conn_options,
        )

    async def _recognize_impl(
        self,
        buffer: utils.AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.SpeechEvent:
        opts = replace(self._opts)
        if is_given(language):
            opts.language = whisper_language(language)
        return await asyncio.to_thread(self._transcribe, buffer, opts)

    def _transcribe(self, buffer: utils.AudioBuffer, opts: STTOptions) -> stt.SpeechEvent:
        model = load_model(opts.model, device=opts.device, compute_type=opts.compute_type)
        audio = to_whisper_audio(buffer)
        duration = len(audio) / SAMPLE_RATE
        window = window_seconds(duration, opts.encoder_window) if opts.encoder_window else None
        try:
            data = (
                _transcribe_window(model, audio, window, opts)
                if window is not None
                else _transcribe_full(model, audio, opts)
            )
        except Exception as e:
            raise APIError(f"faster-whisper transcription failed: {e}", retryable=False) from e
        return stt.SpeechEvent(type=stt.SpeechEventType.FINAL_TRANSCRIPT, alternatives=[data])


def _transcribe_window(
    model: WhisperModel, audio: npt.NDArray[np.float32], window: float, opts: STTOptions
) -> stt.SpeechData:
    result = transcribe_window(
        model,
        audio,
        window=window,
        language=opts.language,
        beam_size=opts.beam_size,
        temperatures=opts.temperature,
        initial_prompt=opts.initial_prompt,
        max_new_tokens=opts.max_new_tokens,
    )
    duration = len(audio) / SAMPLE_RATE
    silent = (
        opts.no_speech_threshold is not None
        and result.no_speech_prob > opts.no_speech_threshold
        and result.avg_logprob < LOGPROB_THRESHOLD
    )
    return stt.SpeechData(
        language=LanguageCode(result.language),
        text="" if silent else result.text,
        end_time=duration,
        confidence=min(1.0, math.exp(result.avg_logprob)),
    )


def _transcribe_full(model: WhisperModel, audio: npt.NDArray[np.float32], opts: STTOptions) -> stt.SpeechData:
    segment_iter, info = model.transcribe(
        audio,
        language=opts.language,
        beam_size=opts.beam_size,
        temperature=list(opts.temperature),
        condition_on_previous_text=opts.condition_on_previous_text,
        no_speech_threshold=opts.no_speech_threshold,
        max_new_tokens=opts.max_new_tokens,
        initial_prompt=opts.initial_prompt,
        vad_filter=opts.vad_filter,
        without_timestamps=True,
    )
    segments = list(segment_iter)
    duration = len(audio) / SAMPLE_RATE
    if not segments:
        return stt.SpeechData(language=LanguageCode(info.language), text="", end_time=duration)
    logprob = sum(s.avg_logprob for s in segments) / len(segments)
    return stt.SpeechData(
        language=LanguageCode(info.language),
        text="".join(s.text for s in segments).strip(),
        start_time=segments[0].start,
        end_time=min(segments[-1].end, duration),
        confidence=min(1.0, math.exp(logprob)),
    )


def to_whisper_audio(buffer: utils.AudioBuffer) -> npt.NDArray[np.float32]:
    """Any AudioFrame(s) → 16 kHz mono float32 in [-1, 1], as Whisper expects."""
    if isinstance(buffer, list) and not buffer:
        return np.zeros(0, dtype=np.float32)
    frame = utils.merge_frames(buffer)
    samples = np.frombuffer(frame.data, dtype=np.int16).reshape(-1, frame.num_channels)
    mono: npt.NDArray[np.int16] = samples.mean(axis=1).round().astype(np.int16)
    if frame.sample_rate != SAMPLE_RATE and len(mono):
        resampler = rtc.AudioResampler(frame.sample_rate, SAMPLE_RATE, quality=rtc.AudioResamplerQuality.HIGH)
        source = rtc.AudioFrame(mono.tobytes(), frame.sample_rate, 1, len(mono))
        out = [*resampler.push(source), *resampler.flush()]
        mono = np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in out])
    return mono.astype(np.float32) / 32768.0
