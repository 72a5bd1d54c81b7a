"""Transcribing a short utterance without paying for Whisper's 30 s window.

faster-whisper pads every call to 30 s of audio (3000 mel frames), so a 2 s question
costs as much encoder work as 30 s of speech: ~1.3 s on one core of a small CPU for
Whisper base. CTranslate2's encoder takes shorter inputs, so here the utterance is
padded with silence to a shorter window (the encoder uses the first positions of its
position table), encoded once and decoded the way Whisper does: greedy or beam search
at temperature 0, then sampling at the next temperatures while the text looks like a
loop (compression ratio) or the decoder was unsure (average log-probability).

Windows much shorter than the utterance plus a second or two of silence make Whisper
cut the last word or repeat itself; the caller keeps a margin (see ``window_seconds``).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import ctranslate2
import numpy as np
import numpy.typing as npt

from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer

SAMPLE_RATE = 16000
HOP = 160
FULL_WINDOW_S = 30.0
MIN_TRAILING_SILENCE_S = 2.0
COMPRESSION_RATIO_THRESHOLD = 2.4
LOGPROB_THRESHOLD = -1.0
TOKENS_PER_SECOND = 12
"""A cap on decoded tokens per second of audio: fast speech is ~5; nothing else stops a decoder stuck in a loop."""


@dataclass(frozen=True)
class WindowResult:
    text: str
    language: str
    avg_logprob: float
    no_speech_prob: float


def window_seconds(duration: float, min_window: float) -> float | None:
    """The encoder window for `duration` seconds of speech: at least `min_window` and two seconds past the
    speech, in whole seconds; None when that is not shorter than Whisper's own 30 s window."""
    window = max(min_window, math.ceil(duration + MIN_TRAILING_SILENCE_S))
    return float(window) if window < FULL_WINDOW_S else None


def transcribe_window(
    model: WhisperModel,
    audio: npt.NDArray[np.float32],
    *,
    window: float,
    language: str | None,
    beam_size: int,
    temperatures: tuple[float, ...],
    initial_prompt: str | None,
    max_new_tokens: int | None = None,
) -> WindowResult:
    """`audio`: 16 kHz mono float32, shorter than `window` seconds."""
    samples = int(window * SAMPLE_RATE)
    padded = np.zeros(samples, dtype=np.float32)
    padded[: len(audio)] = audio[:samples]
    features = model.feature_extractor(padded)[:, : samples // HOP]
    encoded = model.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])))

    if language is None:
        ranked = model.model.detect_language(encoded)[0]
        language = ranked[0][0][2:-2]  # "<|en|>" → "en"
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language)
    prompt = [tokenizer.sot_prev, *tokenizer.encode(" " + initial_prompt.strip())] if initial_prompt else []
    prompt += [*tokenizer.sot_sequence, tokenizer.no_timestamps]
    new_tokens = int(len(audio) / SAMPLE_RATE * TOKENS_PER_SECOND) + 8
    max_length = min(model.max_length, len(prompt) + min(new_tokens, max_new_tokens or new_tokens))

    result = WindowResult("", language, -math.inf, 1.0)
    for temperature in temperatures:
        sampling = {"beam_size": 1, "sampling_topk": 0, "sampling_temperature": temperature}
        generated = model.model.generate(
            encoded,
            [prompt],
            max_length=max_length,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=[-1],
            **(sampling if temperature > 0 else {"beam_size": beam_size}),
        )[0]
        tokens = generated.sequences_ids[0]
        text = tokenizer.decode(tokens).strip()
        # CTranslate2's score is the log-probability per token; Whisper averages over the tokens plus end of text.
        avg_logprob = generated.scores[0] * len(tokens) / (len(tokens) + 1)
        result = WindowResult(text, language, avg_logprob, generated.no_speech_prob)
        if _compression_ratio(text) <= COMPRESSION_RATIO_THRESHOLD and result.avg_logprob >= LOGPROB_THRESHOLD:
            break
    return result


def _compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0
