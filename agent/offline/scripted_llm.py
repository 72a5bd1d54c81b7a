"""Offline LLM: deterministic scripted replies, a real `llm.LLM` for the offline profile.

It answers from the last user message with a fixed template per language, so
tests and the demo get the same reply for the same input, with no model.
`extra_sentences` appends numbered filler sentences to every answer: a long,
still deterministic reply that tests and benchmarks can interrupt mid-speech.
"""

from __future__ import annotations

from typing import Any, Never

from livekit.agents import APIConnectOptions, llm, utils
from livekit.agents.llm.tool_context import Tool
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr

REPLY_TEMPLATES: dict[str, str] = {
    "ko": "말씀하신 내용은 {heard} 입니다. 저는 오프라인 아바타입니다.",
    "en": "You said: {heard}. I am the offline avatar.",
}
EXTRA_SENTENCE_TEMPLATES: dict[str, str] = {
    "ko": "이것은 긴 대답의 {number}번째 문장입니다.",
    "en": "This is sentence {number} of a long reply.",
}
GREETINGS: dict[str, str] = {
    "ko": "안녕하세요. 무엇을 도와드릴까요?",
    "en": "Hello. How can I help you?",
}


def scripted_reply(language: str, heard: str | None, extra_sentences: int = 0) -> str:
    base = language.split("-")[0].lower()
    lang = base if base in REPLY_TEMPLATES else "en"
    if not heard:
        return GREETINGS[lang]
    answer = REPLY_TEMPLATES[lang].format(heard=heard.strip().rstrip(".!?"))
    extra = (EXTRA_SENTENCE_TEMPLATES[lang].format(number=n) for n in range(1, extra_sentences + 1))
    return " ".join([answer, *extra])


class ScriptedLLM(llm.LLM[Never]):
    def __init__(self, *, language: str = "ko", extra_sentences: int = 0) -> None:
        super().__init__()
        self._language = language
        self._extra_sentences = extra_sentences

    @property
    def model(self) -> str:
        return "scripted"

    @property
    def provider(self) -> str:
        return "offline"

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
        return _ScriptedStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)


class _ScriptedStream(llm.LLMStream):
    async def _run(self) -> None:
        user_messages = [m for m in self._chat_ctx.messages() if m.role == "user"]
        heard = user_messages[-1].text_content if user_messages else None
        scripted: ScriptedLLM = self._llm  # type: ignore[assignment]
        reply = scripted_reply(scripted._language, heard, scripted._extra_sentences)
        self._event_ch.send_nowait(
            llm.ChatChunk(id=utils.shortuuid(), delta=llm.ChoiceDelta(role="assistant", content=reply))
        )
