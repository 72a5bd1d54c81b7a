"""Visemes: the mouth shapes speech sounds share, and which eSpeak NG phonemes make each.

The viseme model classifies speech into these; the mouth driver blends their
target shapes. eSpeak's phoneme mnemonics label the training audio and the
articulation measurements (they are what eSpeak reports for every language it speaks).
"""

from __future__ import annotations

from enum import IntEnum

from .mouth_shape import MouthShape


class Viseme(IntEnum):
    SILENCE = 0
    BILABIAL = 1  # p b m: lips pressed together
    LABIODENTAL = 2  # f v: lower lip to the upper teeth
    ROUNDED = 3  # u o w: lips narrow and pushed out
    SPREAD = 4  # i e: lips wide
    OPEN = 5  # a: jaw dropped
    OTHER = 6  # the remaining consonants and vowels: a relaxed, half-open mouth


TARGET_SHAPES: dict[Viseme, MouthShape] = {
    Viseme.SILENCE: MouthShape(),
    Viseme.BILABIAL: MouthShape(),
    Viseme.LABIODENTAL: MouthShape(open=0.12, wide=0.35),
    Viseme.ROUNDED: MouthShape(open=0.5, round=1.0),
    Viseme.SPREAD: MouthShape(open=0.35, wide=1.0),
    Viseme.OPEN: MouthShape(open=1.0, wide=0.3),
    Viseme.OTHER: MouthShape(open=0.4, wide=0.35),
}

_ESPEAK_GROUPS: dict[Viseme, frozenset[str]] = {
    Viseme.SILENCE: frozenset({"_", "_:", "_!", "_|", "_^_"}),
    Viseme.BILABIAL: frozenset({"p", "b", "m", "ph", "p#", "b#", "m-", "p-", "b-"}),
    Viseme.LABIODENTAL: frozenset({"f", "v", "f#", "v#"}),
    Viseme.ROUNDED: frozenset({"u", "U", "o", "O", "w", "oU", "o@", "O@", "0", "u@", "O2", "OI", "y", "Y", "W"}),
    Viseme.SPREAD: frozenset({"i", "I", "e", "E", "eI", "i@", "I2", "e@", "j", "I#", "i@3"}),
    Viseme.OPEN: frozenset({"a", "A", "aI", "aU", "&", "A@", "V", "aI@", "aI3", "aU@", "a@"}),
}
# Not open: "a#" is English's reduced, unstressed vowel ("a", "about"), a schwa the jaw hardly opens for.


def espeak_symbol(phoneme: str) -> str:
    """An eSpeak mnemonic without stress marks and length ("'u:" → "u")."""
    return phoneme.strip("',").replace(":", "")


def espeak_viseme(phoneme: str) -> Viseme:
    symbol = espeak_symbol(phoneme)
    if phoneme.startswith("_"):
        return Viseme.SILENCE
    for viseme, symbols in _ESPEAK_GROUPS.items():
        if symbol in symbols:
            return viseme
    return Viseme.OTHER
