"""Whether the user's words so far end a sentence: an end-of-turn detector for AgentSession.

The session asks it once a transcript arrives after the VAD's end of speech; an unfinished
phrase ("I would like to book a table for") makes the session wait `max_delay` for more,
anything else ends the turn after `min_delay`. It reads the transcript's last word and
punctuation, so it needs no model and answers in microseconds.

Why not LiveKit's audio detector (`livekit.agents.inference.TurnDetector`, v1-mini, local):
on the speech our tests and benches can make (eSpeak NG, two voices, 10 phrases) it gave
finished sentences 0.11-0.40 and unfinished ones 0.10-0.41 against its English threshold of
0.36, i.e. it could not tell them apart on synthetic prosody, and took ~100 ms a prediction on
this 2-core machine under load. On real voices it may do better; it can be swapped in through
`TURN_HANDLING` (agent/turn_taking.py).
"""

from __future__ import annotations

import re

from livekit.agents import llm
from livekit.agents.language import LanguageCode

FINISHED = 0.95
UNFINISHED = 0.05
THRESHOLD = 0.5

_ENGLISH_NEVER_LAST = """
    a an the my your his her our their its these those
    of and or but because if than whether although though unless between
    i we they he she it's i'm um uh er erm very really
"""
"""Words a sentence does not end on, even when Whisper hears a question ("What is the difference between?")."""
_ENGLISH_RARELY_LAST = """
    to for in on at with from by about into onto over under as this that
    so when while until is are was were am be been being have has had do does did
    will would can could should must may might just think guess mean want need wondering
"""
"""Words a statement does not end on, though a question may ("What are you looking for?")."""
_ENGLISH_NEVER = frozenset(_ENGLISH_NEVER_LAST.split())
_ENGLISH_OPEN = _ENGLISH_NEVER | frozenset(_ENGLISH_RARELY_LAST.split())
_KOREAN_FINAL_SYLLABLES = frozenset("요다까죠네")
_KOREAN_OPEN_SUFFIXES = (
    "는데",
    "지만",
    "고",
    "서",
    "면",
    "은",
    "는",
    "을",
    "를",
    "에",
    "에서",
    "의",
    "와",
    "과",
    "로",
    "랑",
)
_OPEN_PUNCTUATION = ("...", "…", ",", "-", ":", ";")
_WORD = re.compile(r"[\w']+", re.UNICODE)


def sounds_finished(text: str, language: str) -> bool:
    """False when `text` stops on an unfinished phrase in `language` (en or ko; other languages: True)."""
    text = text.strip()
    words = _WORD.findall(text.lower())
    if not words:
        return True
    last = words[-1]
    asked = text.endswith(("?", "!", "？", "！"))
    if language == "en" and last in _ENGLISH_NEVER:
        return False
    if asked:
        return True
    if text.endswith(_OPEN_PUNCTUATION):
        return False
    if language == "ko":
        return last[-1] in _KOREAN_FINAL_SYLLABLES or not last.endswith(_KOREAN_OPEN_SUFFIXES)
    if language == "en":
        return last not in _ENGLISH_OPEN
    return True


class UnfinishedPhraseDetector:
    """LiveKit Agents' end-of-turn detector interface (`turn_detection=`), over the last user message."""

    languages = frozenset({"en", "ko"})

    def __init__(self, language: str) -> None:
        self._language = LanguageCode(language).language

    @property
    def model(self) -> str:
        return "unfinished-phrase"

    @property
    def provider(self) -> str:
        return "streaming-avatar"

    async def unlikely_threshold(self, language: LanguageCode | None) -> float | None:
        return THRESHOLD

    async def supports_language(self, language: LanguageCode | None) -> bool:
        return self._language_of(language) in self.languages

    async def predict_end_of_turn(
        self,
        chat_ctx: llm.ChatContext,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (LiveKit's detector interface)
    ) -> float:
        user_texts = [item.text_content for item in chat_ctx.messages() if item.role == "user" and item.text_content]
        if not user_texts:
            return FINISHED
        return FINISHED if sounds_finished(user_texts[-1], self._language) else UNFINISHED

    def _language_of(self, detected: LanguageCode | None) -> str:
        return detected.language if detected else self._language
