"""Offline TTS: eSpeak NG as a LiveKit Agents `tts.TTS` (no key, no network)."""

from __future__ import annotations

import asyncio
from typing import Never

from livekit.agents import APIConnectOptions, tts, utils
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS

from .espeak import SAMPLE_RATE, espeak_voice_for, synthesize


class EspeakTTS(tts.TTS[Never]):
    def __init__(self, *, language: str = "ko", voice: str | None = None) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=SAMPLE_RATE,
            num_channels=1,
        )
        self._voice = voice or espeak_voice_for(language).voice

    @property
    def model(self) -> str:
        return "espeak-ng"

    @property
    def provider(self) -> str:
        return "offline"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _EspeakStream(tts=self, input_text=text, conn_options=conn_options)


class _EspeakStream(tts.ChunkedStream):
    def __init__(self, *, tts: EspeakTTS, input_text: str, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._voice = tts._voice

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        samples = await asyncio.to_thread(synthesize, self._input_text, self._voice)
        output_emitter.initialize(
            request_id=utils.shortuuid(),
            sample_rate=SAMPLE_RATE,
            num_channels=1,
            mime_type="audio/pcm",
        )
        output_emitter.push(samples.tobytes())
        output_emitter.flush()
