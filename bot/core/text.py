"""A text in both of the bot's languages: the one bilingual type, for flows, phrases and settings."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

LANGUAGES = ("da", "en")
MAX_CHARS = 1000  # a 100 kB paste is read by its beginning; nobody asks two questions in one essay
_REPEAT = re.compile(r"(\D)\1{2,}")
_FOLDS = (("æ", "e"), ("ae", "e"), ("ø", "o"), ("oe", "o"), ("å", "a"), ("aa", "a"))
_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Sk"})


def language_of(language: str) -> str:
    """ "en" or "da": anything that is not English is answered in Danish, the workshops' first language."""
    return "en" if language == "en" else "da"


@dataclass(frozen=True)
class Text:
    """Danish first, English always; an English text left empty falls back to the Danish one."""

    da: str
    en: str = ""

    def get(self, language: str) -> str:
        return self.en if language == "en" and self.en else self.da


def fold(text: str) -> str:
    """Lower case, Danish letters and accents folded (æ/ae→e, ø/oe→o, å/aa→a), control characters dropped,
    letters typed three times in a row once: the one spelling of what citizens type many ways ("får", "faar",
    "far"). Addresses and numbers stay as written (the intent model marks them, a button must not)."""
    text = unicodedata.normalize("NFKC", text[: MAX_CHARS * 2])[:MAX_CHARS].casefold()
    # strip accents (é -> e) but keep æøå, which do not decompose
    decomposed = unicodedata.normalize("NFD", text)
    text = "".join(
        " " if unicodedata.category(ch) in ("Zs", "Zl", "Zp") or ch in "\t\n\r" else ch
        for ch in decomposed
        if unicodedata.category(ch) not in _DROP_CATEGORIES or ch in "\t\n\r"
    )
    text = unicodedata.normalize("NFC", text)
    text = _REPEAT.sub(r"\1", text)
    for old, new in _FOLDS:
        text = text.replace(old, new)
    return text
