"""Cloud timing without the network: the offline LLM and TTS, each first answer delayed.

`STREAMING_AVATAR_SIMULATE_CLOUD` makes the offline profile wait as a cloud LLM and TTS
would: the LLM's first token `llm` seconds after the request, the TTS's first audio `tts`
seconds after each request; nothing after the first chunk is delayed. Benchmarks then show
what the cloud path costs and what preemptive generation saves. The defaults (docs/operations.md,
"Environment variables") come from published figures:

- LLM, 0.5 s: Gemini Flash's time to first token, 0.51-0.52 s measured for 1.5 / 2.0 Flash
  over the OpenAI-compatible endpoint (danielcorin.com, "Gemini uses thinking by default");
  2.5 Flash with thinking on was slower there.
- TTS, 0.25 s: ElevenLabs Flash's ~75 ms of model inference (ElevenLabs, "Latency
  optimization") plus ~175 ms assumed for the network and the streaming request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Self

from livekit.agents import APIConnectOptions, llm, tts, utils
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS

from .wrapped_providers import ChatRequest, RelayStream, WrappedLLM, WrappedTTS

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class CloudTiming:
    llm: float = 0.5
    """Seconds to the LLM's first token."""
    tts: float = 0.25
    """Seconds to the TTS's first audio, per request."""

    @classmethod
    def parse(cls, value: str) -> Self | None:
        """ "" or "off" → None; "on" → the defaults; "LLM_MS,TTS_MS" (e.g. "500,250") → those."""
        value = value.strip().lower()
        if value in ("", "off", "0"):
            return None
        if value in ("on", "1", "default"):
            return cls()
        llm_ms, sep, tts_ms = value.partition(",")
        try:
            timing = cls(llm=float(llm_ms) / 1000, tts=float(tts_ms) / 1000)
        except ValueError:
            raise ValueError('must be "off", "on" or "LLM_MS,TTS_MS" such as "500,250"') from None
        if not sep or timing.llm < 0 or timing.tts < 0:
            raise ValueError('must be "off", "on" or "LLM_MS,TTS_MS" such as "500,250"')
        return timing


class DelayedLLM(WrappedLLM):
    def __init__(self, inner: llm.LLM[Any], delay: float, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(inner)
        self.delay = delay
        self.sleep = sleep

    def stream(self, request: ChatRequest) -> llm.LLMStream:
        return _DelayedLLMStream(self, request)


class _DelayedLLMStream(RelayStream):
    def __init__(self, delayed: DelayedLLM, request: ChatRequest) -> None:
        super().__init__(delayed, request)
        self._delayed = delayed

    async def before(self) -> bool:
        await self._delayed.sleep(self._delayed.delay)
        return True


class DelayedTTS(WrappedTTS):
    def __init__(self, inner: tts.TTS[Any], delay: float, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(inner)
        self.delay = delay
        self.sleep = sleep

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _DelayedChunkedStream(tts=self, input_text=text, conn_options=conn_options)


class _DelayedChunkedStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        delayed: DelayedTTS = self._tts  # type: ignore[assignment]
        await delayed.sleep(delayed.delay)
        output_emitter.initialize(
            request_id=utils.shortuuid(),
            sample_rate=delayed.sample_rate,
            num_channels=delayed.num_channels,
            mime_type="audio/pcm",
        )
        async with delayed.inner.synthesize(self._input_text, conn_options=self._conn_options) as stream:
            async for event in stream:
                output_emitter.push(event.frame.data.tobytes())
        output_emitter.flush()
