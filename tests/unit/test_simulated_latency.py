"""STREAMING_AVATAR_SIMULATE_CLOUD: the offline providers' first answers wait exactly as long as it says."""

from __future__ import annotations

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import llm

from agent.offline import EspeakTTS, ScriptedLLM
from agent.simulated_latency import CloudTiming, DelayedLLM, DelayedTTS


class Clock:
    """A sleep that records what it was asked to wait and what had happened before, and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.events: list[str] = []

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.events.append(f"slept {seconds}")


@pytest.mark.parametrize(
    ("value", "timing"),
    [
        ("", None),
        ("off", None),
        ("on", CloudTiming(0.5, 0.25)),
        ("500,250", CloudTiming(0.5, 0.25)),
        ("0,80", CloudTiming(0, 0.08)),
    ],
)
def test_parse(value: str, timing: CloudTiming | None) -> None:
    assert CloudTiming.parse(value) == timing


@pytest.mark.parametrize("value", ["500", "fast", "-1,20", "1,x"])
def test_parse_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="LLM_MS,TTS_MS"):
        CloudTiming.parse(value)


async def test_llm_waits_once_before_its_first_token() -> None:
    clock = Clock()
    delayed = DelayedLLM(ScriptedLLM(language="en"), 0.4, sleep=clock.sleep)
    chat = llm.ChatContext()
    chat.add_message(role="user", content="Hello there")

    async with delayed.chat(chat_ctx=chat) as stream:
        async for chunk in stream:
            clock.events.append("token" if chunk.delta and chunk.delta.content else "other")
    async with ScriptedLLM(language="en").chat(chat_ctx=chat) as plain:
        plain_tokens = sum(1 for chunk in [c async for c in plain] if chunk.delta and chunk.delta.content)

    assert clock.waits == [0.4]
    assert clock.events[0] == "slept 0.4"
    assert clock.events.count("token") == plain_tokens > 0


async def test_tts_waits_before_each_requests_first_audio_and_keeps_it() -> None:
    clock = Clock()
    inner = EspeakTTS(language="en")
    delayed = DelayedTTS(inner, 0.25, sleep=clock.sleep)

    async def pcm(tts: EspeakTTS | DelayedTTS, text: str) -> np.ndarray:
        async with tts.synthesize(text) as stream:
            frames = [event.frame async for event in stream]
        clock.events.append("audio")
        return np.frombuffer(rtc.combine_audio_frames(frames).data, np.int16)

    first = await pcm(delayed, "Good morning.")
    second = await pcm(delayed, "How are you?")

    assert clock.waits == [0.25, 0.25]
    assert clock.events == ["slept 0.25", "audio", "slept 0.25", "audio"]
    assert delayed.sample_rate == inner.sample_rate
    for delayed_pcm, text in [(first, "Good morning."), (second, "How are you?")]:
        plain = await pcm(inner, text)
        # The same speech (eSpeak NG's length varies by a few ms from call to call).
        assert abs(len(delayed_pcm) - len(plain)) < 0.05 * len(plain)
        assert np.abs(delayed_pcm).max() > 5000
