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


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Verbs that open an instruction ("Tryk på Del", "Then tap Share"), in the imperative form used in flows.
_IMPERATIVES = {
    "da": _word_set(
        "åbn tryk vælg klik skriv find gå log hent tag send gem scan scann ring kontakt indtast udfyld svar kig se "
        "brug prøv sæt hold lav vent husk læs bestil opret meld sørg tjek følg slå installer download godkend "
        "accepter tilføj ret upload vis bed spørg kopier slet luk start rul stryg sig giv sluk tænd vend læg "
        "markér marker søg skift sign underskriv aflys book print udskriv"
    ),
    "en": _word_set(
        "open tap choose pick click write type find go log get take send save scan call contact enter fill answer "
        "look see use try put hold make wait remember read order create register check follow turn install "
        "download approve accept add correct upload show ask copy delete close start scroll swipe say select "
        "press give switch lay mark search change sign cancel book print"
    ),
}
# Words that may stand before the verb of an instruction: "Then tap …" ("Klik så …" needs none).
_LEAD_INS = _word_set("then so now first next finally and or så nu først derefter bagefter til sidst og eller")
_CLAUSE = re.compile(r"[.!?:;,]+(?=\s|$)|\n+|\b(?:og|and|then|derefter)\b", re.IGNORECASE)


def sentence_count(text: str) -> int:
    """Sentences with at least one word: a step is one thing to do, so it stays short."""
    return len([p for p in _SENTENCE_END.split(text) if words(p)])


def instructions(text: str, language: str) -> int:
    """How many actions a step asks for: clauses that open with an imperative verb ("Åbn", "then tap")."""
    verbs = _IMPERATIVES["en" if language == "en" else "da"]
    count = 0
    for clause in _CLAUSE.split(text):
        found = [w.lower() for w in words(clause)]
        while found and found[0] in _LEAD_INS:
            found = found[1:]
        if found and found[0] in verbs:
            count += 1
    return count
