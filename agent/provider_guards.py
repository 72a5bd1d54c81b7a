"""What the session does when a provider fails: a deadline for the LLM, and a notice to the room.

The framework retries a failing provider and, after the retries, reports an unrecoverable error
and goes back to listening (it closes the session after several such errors in a row). Two gaps
are closed here: an LLM that never answers would leave the agent "thinking" for good, and an
empty reply would be silence with no reason given, so `GuardedLLM` turns both into errors; and
`report_provider_errors` tells the room each time a turn is lost, in words without the provider's
own message (which may carry request details).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

from livekit.agents import AgentSession, APIError, APITimeoutError, llm, stt, tts
from livekit.agents.voice.events import ErrorEvent

from .room_notices import NoticeBoard
from .wrapped_providers import ChatRequest, WrappedLLM

logger = logging.getLogger("streaming-avatar")

FAILED_PART = {"llm_error": "the language model", "tts_error": "the voice (TTS)", "stt_error": "speech recognition"}


class GuardedLLM(WrappedLLM):
    """`inner`, whose reply must start within `first_chunk_timeout` s and must not be empty."""

    def __init__(self, inner: llm.LLM[Any], *, first_chunk_timeout: float) -> None:
        super().__init__(inner)
        self.first_chunk_timeout = first_chunk_timeout

    def stream(self, request: ChatRequest) -> llm.LLMStream:
        return _GuardedStream(self, request)


class _GuardedStream(llm.LLMStream):
    def __init__(self, guard: GuardedLLM, request: ChatRequest) -> None:
        # `inner` retries on its own; a second round of retries here would multiply the wait
        once = dataclasses.replace(request.conn_options, max_retry=0)
        super().__init__(guard, chat_ctx=request.chat_ctx, tools=request.tools, conn_options=once)
        self._timeout = guard.first_chunk_timeout
        self._inner = request.send_to(guard.inner)

    async def _run(self) -> None:
        async with self._inner as stream:
            chunks = aiter(stream)
            try:
                async with asyncio.timeout(self._timeout):
                    first = await anext(chunks)
            except StopAsyncIteration:
                raise APIError("the language model returned an empty reply", retryable=False) from None
            except TimeoutError:
                raise APITimeoutError(f"the language model did not answer within {self._timeout:g} s") from None
            self._event_ch.send_nowait(first)
            async for chunk in chunks:
                self._event_ch.send_nowait(chunk)


def report_provider_errors(session: AgentSession[Any], notices: NoticeBoard) -> None:
    """Post a notice for every turn a provider failure cost (not for errors a retry recovered)."""

    def on_error(event: ErrorEvent) -> None:
        error = event.error
        if not isinstance(error, llm.LLMError | stt.STTError | tts.TTSError) or error.recoverable:
            return
        part = FAILED_PART[error.type]
        reason = type(error.error).__name__
        logger.warning("%s failed (%s); the turn is lost", part, reason)
        notices.post(f"{part} failed ({reason}); that reply is lost, please say it again")

    session.on("error", on_error)
