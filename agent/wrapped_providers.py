"""Providers that stand in front of another one (a guard, a fault switch) and keep its names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from livekit.agents import APIConnectOptions, llm, tts
from livekit.agents.llm.tool_context import Tool
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr


@dataclass(frozen=True)
class ChatRequest:
    """The arguments of one `LLM.chat` call, to pass on to the wrapped LLM."""

    chat_ctx: llm.ChatContext
    tools: list[Tool]
    conn_options: APIConnectOptions
    parallel_tool_calls: NotGivenOr[bool]
    tool_choice: NotGivenOr[llm.ToolChoice]
    extra_kwargs: NotGivenOr[dict[str, Any]]

    def send_to(self, model: llm.LLM[Any]) -> llm.LLMStream:
        return model.chat(
            chat_ctx=self.chat_ctx,
            tools=self.tools,
            conn_options=self.conn_options,
            parallel_tool_calls=self.parallel_tool_calls,
            tool_choice=self.tool_choice,
            extra_kwargs=self.extra_kwargs,
        )


class _InnerNames:
    """The model and provider names of the wrapped provider."""

    inner: llm.LLM[Any] | tts.TTS[Any]

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def provider(self) -> str:
        return self.inner.provider


class WrappedLLM(_InnerNames, llm.LLM[Any]):
    """Subclasses make the stream of each request in `stream`."""

    inner: llm.LLM[Any]

    def __init__(self, inner: llm.LLM[Any]) -> None:
        super().__init__()
        self.inner = inner

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        return self.stream(
            ChatRequest(chat_ctx, tools or [], conn_options, parallel_tool_calls, tool_choice, extra_kwargs)
        )

    def stream(self, request: ChatRequest) -> llm.LLMStream:
        raise NotImplementedError


class RelayStream(llm.LLMStream):
    """Passes `request` on to the wrapped LLM and its chunks back; subclasses act first in `before`."""

    def __init__(self, wrapper: WrappedLLM, request: ChatRequest) -> None:
        super().__init__(wrapper, chat_ctx=request.chat_ctx, tools=request.tools, conn_options=request.conn_options)
        self._inner = wrapper.inner
        self._request = request

    async def _run(self) -> None:
        if not await self.before():
            return
        async with self._request.send_to(self._inner) as stream:
            async for chunk in stream:
                self._event_ch.send_nowait(chunk)

    async def before(self) -> bool:
        """Whether the request goes on to the wrapped LLM (False: the reply stays empty)."""
        return True


class WrappedTTS(_InnerNames, tts.TTS[Any]):
    """Same capabilities, rate and names as `inner`; subclasses implement `synthesize`."""

    inner: tts.TTS[Any]

    def __init__(self, inner: tts.TTS[Any]) -> None:
        super().__init__(
            capabilities=inner.capabilities, sample_rate=inner.sample_rate, num_channels=inner.num_channels
        )
        self.inner = inner
