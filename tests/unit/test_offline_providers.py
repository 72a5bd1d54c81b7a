from __future__ import annotations

import numpy as np
from livekit.agents import llm

from agent.offline import EspeakTTS, ScriptedLLM
from agent.offline.espeak import SAMPLE_RATE, espeak_voice_for, synthesize


def test_espeak_speaks_korean_and_english() -> None:
    for text, voice in [("안녕하세요, 반갑습니다.", "ko"), ("Hello, nice to meet you.", "en")]:
        samples = synthesize(text, voice)
        assert samples.dtype == np.int16
        assert len(samples) > SAMPLE_RATE // 2
        assert np.abs(samples).max() > 5000


def test_espeak_voice_mapping() -> None:
    assert espeak_voice_for("ko-KR") == "ko"
    assert espeak_voice_for("en-US") == "en-us"
    assert espeak_voice_for("de") == "de"


async def test_espeak_tts_streams_pcm_frames() -> None:
    frames = [ev.frame async for ev in EspeakTTS(language="en").synthesize("Testing one two three.")]
    assert frames and all(f.sample_rate == SAMPLE_RATE for f in frames)
    assert sum(f.duration for f in frames) > 0.8


async def test_scripted_llm_is_deterministic_per_language() -> None:
    async def reply(language: str, text: str) -> str:
        ctx = llm.ChatContext()
        ctx.add_message(role="user", content=text)
        return (await ScriptedLLM(language=language).chat(chat_ctx=ctx).collect()).text

    assert await reply("en", "hi there") == await reply("en", "hi there")
    assert "hi there" in await reply("en-US", "hi there")
    assert "오프라인" in await reply("ko", "안녕")
