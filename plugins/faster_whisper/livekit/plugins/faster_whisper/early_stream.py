"""Streaming recognition that transcribes during the VAD's end-of-speech silence.

Whisper needs the whole utterance, so a plain ``stt.StreamAdapter`` starts
transcribing only when the VAD reports the end of speech, after
``min_silence_duration`` of silence, and the reply waits for the whole
transcription on top of that. This stream starts transcribing once the user has
been quiet for ``early_after`` seconds, while the VAD is still waiting, and
hands that result over at the end of speech. If the user speaks again before
the VAD ends the speech, the early result is dropped and the whole utterance is
transcribed at the end, as the adapter would.

An early result that is ready while the VAD still waits is sent at once as a
preflight transcript, so AgentSession's preemptive generation can start the
reply; it is confirmed by the final transcript at the end of speech, or replaced
when the user went on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable
from typing import TYPE_CHECKING

from livekit import rtc
from livekit.agents import APIConnectOptions, APIError, stt, utils
from livekit.agents.types import NotGivenOr
from livekit.agents.vad import VAD, VADEvent, VADEventType

from .log import logger

if TYPE_CHECKING:
    from .stt import STT


class EarlyTranscriptionStream(stt.RecognizeStream):
    def __init__(
        self,
        stt_: STT,
        *,
        vad: VAD,
        early_after: float,
        language: NotGivenOr[str],
        conn_options: APIConnectOptions,
    ) -> None:
        super().__init__(stt=stt_, conn_options=conn_options)
        self._whisper = stt_
        self._vad = vad
        self._early_after = early_after
        self._language = language
        self._early: asyncio.Task[stt.SpeechEvent] | None = None

    async def _metrics_monitor_task(self, event_aiter: AsyncIterable[stt.SpeechEvent]) -> None:
        # recognize() reports its own STT metrics; counting the stream's events too would double them.
        async for _ in event_aiter:
            pass

    async def _run(self) -> None:
        vad_stream = self._vad.stream()

        async def forward_input() -> None:
            async for item in self._input_ch:
                if isinstance(item, self._FlushSentinel):
                    vad_stream.flush()
                else:
                    vad_stream.push_frame(item)
            vad_stream.end_input()

        async def recognize() -> None:
            speech: list[rtc.AudioFrame] = []
            async for event in vad_stream:
                if event.type == VADEventType.START_OF_SPEECH:
                    self._drop_early()
                    speech = list(event.frames)
                    self._event_ch.send_nowait(stt.SpeechEvent(type=stt.SpeechEventType.START_OF_SPEECH))
                elif event.type == VADEventType.INFERENCE_DONE and event.speaking:
                    speech.extend(event.frames)
                    self._follow_silence(event.raw_accumulated_silence, speech)
                elif event.type == VADEventType.END_OF_SPEECH:
                    await self._end_of_speech(event)

        tasks = [asyncio.create_task(forward_input()), asyncio.create_task(recognize())]
        try:
            await asyncio.gather(*tasks)
        finally:
            self._drop_early()
            await utils.aio.cancel_and_wait(*tasks)
            await vad_stream.aclose()

    def _follow_silence(self, silence: float, speech: list[rtc.AudioFrame]) -> None:
        if silence == 0.0:
            self._drop_early()
        elif self._early is None and silence >= self._early_after:
            self._early = asyncio.create_task(self._transcribe(list(speech)))
            self._early.add_done_callback(self._send_preflight)

    def _send_preflight(self, early: asyncio.Task[stt.SpeechEvent]) -> None:
        if early is not self._early or early.cancelled() or early.exception() is not None:
            return
        alternatives = early.result().alternatives
        if alternatives and alternatives[0].text:
            self._event_ch.send_nowait(
                stt.SpeechEvent(type=stt.SpeechEventType.PREFLIGHT_TRANSCRIPT, alternatives=[alternatives[0]])
            )

    async def _end_of_speech(self, event: VADEvent) -> None:
        speech_end_time = time.time() - event.silence_duration - event.inference_duration
        self._event_ch.send_nowait(
            stt.SpeechEvent(type=stt.SpeechEventType.END_OF_SPEECH, speech_end_time=speech_end_time)
        )
        early, self._early = self._early, None
        result: stt.SpeechEvent | None = None
        if early is not None:
            try:
                result = await early
            except APIError as e:
                logger.warning("early transcription failed, transcribing again: %s", e)
        if result is None:
            result = await self._transcribe(event.frames)
        if result.alternatives and result.alternatives[0].text:
            self._event_ch.send_nowait(
                stt.SpeechEvent(
                    type=stt.SpeechEventType.FINAL_TRANSCRIPT,
                    alternatives=[result.alternatives[0]],
                    speech_end_time=speech_end_time,
                )
            )

    async def _transcribe(self, frames: list[rtc.AudioFrame]) -> stt.SpeechEvent:
        return await self._whisper.recognize(utils.merge_frames(frames), language=self._language)

    def _drop_early(self) -> None:
        if self._early is not None:
            self._early.cancel()
            self._early = None
