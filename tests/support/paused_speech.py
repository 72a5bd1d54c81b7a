"""Utterances that pause mid-sentence after an unfinished phrase, for turn-taking tests and benches.

Each is spoken as `first`, a pause of 0.4-0.8 s, then `rest`; a good turn-taker says nothing in
the pause and answers the whole sentence after `rest`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agent.offline.espeak import SAMPLE_RATE as SPEECH_RATE
from agent.offline.espeak import synthesize

from .voice_client import resample, trim_silence


@dataclass(frozen=True)
class PausedUtterance:
    first: str
    rest: str
    pause: float

    def parts(self, voice: str = "en") -> tuple[np.ndarray, np.ndarray]:
        """Both halves as microphone samples (16 kHz int16), without their leading and trailing silence."""
        return tuple(resample(trim_silence(synthesize(text, voice)), SPEECH_RATE) for text in (self.first, self.rest))  # type: ignore[return-value]


_PAIRS = [
    ("I would like to book a table for", "two people tomorrow evening."),
    ("Can you tell me about the", "history of the city of Rome?"),
    ("My favourite colour is", "blue, like the sea."),
    ("So yesterday I went to the", "market and bought some apples."),
    ("I was wondering if", "you could help me with my homework."),
    ("The best thing about summer is", "the long warm evenings."),
    ("Let us meet at the station and", "then walk to the museum."),
    ("Could you remind me to", "call my sister on Sunday?"),
    ("I think that", "the train leaves at nine."),
    ("What is the difference between a", "crocodile and an alligator?"),
    ("Please send the letter to", "my office in London."),
    ("We should probably leave because", "it is getting very late."),
    ("My brother and", "I are going to Spain next week."),
    ("Tell me a story about a", "dragon who lived in a castle."),
    ("I need to buy some bread and", "a bottle of milk."),
    ("The weather in Paris is", "usually mild in the spring."),
    ("How long does it take to", "fly from Seoul to New York?"),
    ("I really want to learn how to", "play the piano this year."),
    ("Do you know if the", "library is open on Sundays?"),
    ("She told me that", "the meeting was moved to Friday."),
    ("Can we talk about the", "plans for the weekend?"),
    ("My favourite food is", "spaghetti with tomato sauce."),
    ("After dinner we went to the", "cinema to see a film."),
    ("I am looking for a", "good book about history."),
]
PAUSES = (0.4, 0.5, 0.6, 0.7, 0.8)

PAUSED_UTTERANCES = [PausedUtterance(first, rest, PAUSES[i % len(PAUSES)]) for i, (first, rest) in enumerate(_PAIRS)]
