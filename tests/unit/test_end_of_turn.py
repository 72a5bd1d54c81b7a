"""The end-of-turn detector: an unfinished phrase waits for more, anything else ends the turn."""

from __future__ import annotations

import pytest
from livekit.agents import llm
from livekit.agents.language import LanguageCode

from agent.end_of_turn import THRESHOLD, UnfinishedPhraseDetector, sounds_finished

# What Whisper base made of eSpeak NG's phrases (two voices), cut where a speaker pauses.
FINISHED_EN = [
    "What is the weather like in Paris today?",
    "Please remind me to call my mother on Sunday.",
    "Thank you very much.",
    "Tell me a joke.",
    "What are you looking for?",
    "Hello there",
]
UNFINISHED_EN = [
    "I would like to book a table for.",
    "Can you tell me about the",
    "my favorite color is",
    "I think",
    "So yesterday I went to the...",
    "I was wondering if",
    "Let us meet at the station and...",
    "The weather today is, um,",
    "What is the difference between a?",
    "What is the difference between?",
]


@pytest.mark.parametrize("text", FINISHED_EN)
def test_finished_english(text: str) -> None:
    assert sounds_finished(text, "en")


@pytest.mark.parametrize("text", UNFINISHED_EN)
def test_unfinished_english(text: str) -> None:
    assert not sounds_finished(text, "en")


@pytest.mark.parametrize(
    ("text", "finished"),
    [("내일 날씨가 어때요?", True), ("감사합니다", True), ("저는 어제 학교에", False), ("그래서 친구를 만나고", False)],
)
def test_korean(text: str, finished: bool) -> None:
    assert sounds_finished(text, "ko") is finished


def test_other_languages_are_never_held() -> None:
    assert sounds_finished("Ich möchte einen Tisch für", "de")


async def test_detector_reads_the_last_user_message() -> None:
    detector = UnfinishedPhraseDetector("en-US")
    chat = llm.ChatContext()
    chat.add_message(role="user", content="I would like to book a table for")

    assert await detector.predict_end_of_turn(chat) < THRESHOLD
    chat.add_message(role="assistant", content="Go on.")
    chat.add_message(role="user", content="two people tomorrow at eight.")
    assert await detector.predict_end_of_turn(chat) > THRESHOLD
    assert await detector.unlikely_threshold(LanguageCode("en")) == THRESHOLD
    assert await detector.supports_language(LanguageCode("ko")) and await detector.supports_language(None)
    assert not await detector.supports_language(LanguageCode("de"))
