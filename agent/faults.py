"""Provider faults injected on purpose, for the reliability tests and benchmark.

When `STREAMING_AVATAR_FAULTS_FILE` is set, the first provider of each kind (LLM, TTS) is
wrapped so that every call reads that JSON file, e.g. `{"llm": "hang", "tts": "garbage"}`, and
misbehaves as it says; a missing or empty file means no fault. The providers underneath are the
real ones, so everything around them (retries, fallback adapters, the session, the avatar) runs
as it does in production. Never set it on a production worker.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from livekit import rtc
from livekit.agents import APIConnectionError, APIConnectOptions, llm, tts, utils
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS
from pydantic import BaseModel, ConfigDict, ValidationError

from .wrapped_providers import ChatRequest, RelayStream, WrappedLLM, WrappedTTS

logger = logging.getLogger("streaming-avatar")

LlmFault = Literal["raise", "hang", "empty"]
TtsFault = Literal["raise", "raise-mid-utterance", "garbage", "wrong-rate", "empty"]


class Faults(BaseModel):
    """What the providers do wrong right now (None: behave)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    llm: LlmFault | None = None
    tts: TtsFault | None = None


@dataclass(frozen=True)
class FaultSwitch:
    path: Path

    def read(self) -> Faults:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return Faults()
        if not text.strip():
            return Faults()
        try:
            return Faults.model_validate(json.loads(text))
        except (ValueError, ValidationError) as e:
            logger.warning("ignoring the faults file %s: %s", self.path, e)
            return Faults()


class FaultyLLM(WrappedLLM):
    def __init__(self, inner: llm.LLM[Any], switch: FaultSwitch) -> None:
        super().__init__(inner)
        self.switch = switch

    def stream(self, request: ChatRequest) -> llm.LLMStream:
        return _FaultyLLMStream(self, request)


class _FaultyLLMStream(RelayStream):
    def __init__(self, faulty: FaultyLLM, request: ChatRequest) -> None:
        super().__init__(faulty, request)
        self._switch = faulty.switch

    async def before(self) -> bool:
        fault = self._switch.read().llm
        if fault == "raise":
            raise APIConnectionError("injected fault: the language model is unreachable")
        if fault == "hang":
            await asyncio.Event().wait()
        return fault != "empty"


class FaultyTTS(WrappedTTS):
    def __init__(self, inner: tts.TTS[Any], switch: FaultSwitch) -> None:
        super().__init__(inner)
        self.switch = switch

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _FaultyChunkedStream(tts=self, input_text=text, conn_options=conn_options)


class _FaultyChunkedStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        faulty: FaultyTTS = self._tts  # type: ignore[assignment]
        fault = faulty.switch.read().tts
        if fault == "raise":
            raise APIConnectionError("injected fault: the TTS is unreachable")
        async with faulty.inner.synthesize(self._input_text, conn_options=self._conn_options) as stream:
            frames = [event.frame async for event in stream]
        speech = rtc.combine_audio_frames(frames) if frames else None
        pcm = np.frombuffer(speech.data, np.int16) if speech is not None else np.zeros(0, np.int16)
        rate = faulty.sample_rate // 2 if fault == "wrong-rate" else faulty.sample_rate
        output_emitter.initialize(
            request_id=utils.shortuuid(), sample_rate=rate, num_channels=faulty.num_channels, mime_type="audio/pcm"
        )
        if fault == "empty":
            pass
        elif fault == "garbage":
            output_emitter.push(_float_garbage(len(pcm)).tobytes())
        elif fault == "raise-mid-utterance":
            output_emitter.push(pcm[: len(pcm) // 2].tobytes())
            raise APIConnectionError("injected fault: the TTS failed mid-utterance")
        else:
            output_emitter.push(pcm.tobytes())
        output_emitter.flush()


def _float_garbage(samples: int) -> np.ndarray:
    """What a provider sending float samples, NaNs among them, where 16-bit PCM was agreed looks like."""
    noise = np.random.default_rng(0).uniform(-1, 1, samples).astype(np.float32)
    noise[::7] = np.nan
    return noise
