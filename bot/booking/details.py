"""What a citizen types when asked for a first name or a phone number, read out of a sentence. Pure.

"jeg hedder Ida" and "Ida" give "Ida"; "ja ok", "nej tak" or a question give nothing (the question is
asked again). Only the first name is kept, even when a whole name is typed: the eMentor needs no more.
A Danish phone number is found with spaces, dashes, +45 or 0045, alone or inside a sentence ("mit nummer
er 22 33 44 55"); ten digits (a CPR number) are never taken for one.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from bot.core.text import fold

_PHONE = re.compile(r"(?<![\d+])(?:(?:\+|00)\s*45[\s.-]*)?((?:\d[\s.-]*){7}\d)(?![\d])")
MAX_NAME = 40
_FOREIGN_CODE = re.compile(r"(?:\+|\b00)\s*(?!45\b)\d{1,3}[\s.-]*$")  # "+46 …": not a Danish number
_NAME_INTRO = re.compile(
    r"^(?:(?:hej|hi|hello|goddag)[,.!]?\s+)?(?:jeg hedder|mit navn er|mit fornavn er|navnet er|my name is|"
    r"my first name is|i am|i'm|im|jeg er|det er|it is|it's|navn|name)\s*[:,-]?\s+",
    re.IGNORECASE,
)
_NAME = re.compile(r"[^\W\d_]{2,}(?:['-][^\W\d_]+)?")
# never a first name, whatever the question: answers and small words ("ja ok", "nej", "ved ikke")
NOT_NAMES = frozenset(
    [
        "ja",
        "nej",
        "ok",
        "okay",
        "jo",
        "jep",
        "tak",
        "yes",
        "no",
        "nope",
        "hej",
        "hi",
        "hello",
        "fint",
        "godt",
        "super",
        "ved",
        "ikke",
        "jeg",
        "det",
        "den",
        "spring",
        "over",
        "skip",
        "hvad",
        "what",
        "hvorfor",
        "why",
        "hvem",
        "who",
        "du",
        "you",
        "mig",
        "me",
        "min",
        "my",
        "navn",
        "name",
        "fornavn",
    ]
)


def phone_number(text: str) -> str | None:
    """A Danish number (8 digits, not starting 0 or 1) anywhere in `text`, as 8 digits; else None."""
    text = text[:200]
    for match in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", match.group(1))
        foreign = _FOREIGN_CODE.search(text[: match.start(1)])
        if re.fullmatch(r"[2-9]\d{7}", digits) and foreign is None:
            return digits
    return None


def first_name(text: str, not_names: Collection[str] = NOT_NAMES) -> str | None:
    """The first name in "Ida", "jeg hedder Ida", "Mit navn er Anne-Mette Hansen"; None for anything else."""
    text = text.strip()
    if "?" in text or len(text) > 60:
        return None
    rest = _NAME_INTRO.sub("", text).strip(" .!,")
    words = [w.strip(".,!") for w in rest.split() if any(ch.isalpha() for ch in w)]  # "Fatima :)" is Fatima
    if not words or len(words) > 3 or not all(_NAME.fullmatch(w) for w in words):
        return None
    if any(fold(w) in not_names for w in words) or len(words[0]) > MAX_NAME:
        return None
    first = words[0]
    return first[:1].upper() + first[1:]
