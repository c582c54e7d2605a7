"""Readability scores for flow texts: LIX for Danish, Flesch reading ease for English.

LIX (Björnsson) = words per sentence + 100 × share of words longer than six letters; under 40 is easy
text. Flesch reading ease = 206.835 − 1.015 × words per sentence − 84.6 × syllables per word; 60 and over
is plain English. Citizens read these steps on a small screen, often stressed: both are held in tests.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*|\d+(?:[.,]\d+)*")
_SENTENCE_END = re.compile(r"[.!?:]+(?=\s|$)|\n+")
_VOWELS = re.compile(r"[aeiouy]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def sentences(text: str) -> int:
    parts = [p for p in _SENTENCE_END.split(text) if words(p)]
    return max(1, len(parts))


def lix(text: str) -> float:
    found = words(text)
    if not found:
        return 0.0
    long_words = sum(1 for w in found if len(w) > 6)
    return len(found) / sentences(text) + 100.0 * long_words / len(found)


def syllables(word: str) -> int:
    word = word.lower().strip("'’")
    if not word.isalpha():
        return 1
    count = len(_VOWELS.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1
    return max(1, count)


def flesch(text: str) -> float:
    found = words(text)
    if not found:
        return 100.0
    per_sentence = len(found) / sentences(text)
    per_word = sum(syllables(w) for w in found) / len(found)
    return 206.835 - 1.015 * per_sentence - 84.6 * per_word
