"""Per-message language detection (Danish or English) from marker words and letters.

A trained detector would need Danish data in every model, but a CLINC150 model has none; marker words
work for any model and cost microseconds. Ties (a bare "cv", "ok", emoji) go to Danish, the workshops'
first language; the conversation engine keeps a citizen's remembered language for those.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from bot.nlu.normalize import tokenize

DEFAULT_LANGUAGE = "da"
_DANISH_LETTERS = frozenset("æøå")


@cache
def _markers() -> dict[str, frozenset[str]]:
    raw = yaml.safe_load(resources.files("bot.nlu").joinpath("language_words.yml").read_text("utf-8"))
    return {lang: frozenset(str(raw[lang]).split()) for lang in ("da", "en")}


def language_scores(text: str) -> dict[str, float]:
    lowered = text[:1000].casefold()
    tokens = tokenize(lowered)
    markers = _markers()
    scores = {lang: float(sum(1 for t in tokens if t in words)) for lang, words in markers.items()}
    scores["da"] += 2.0 * sum(1 for ch in lowered if ch in _DANISH_LETTERS)
    return scores


def detect_language(text: str, default: str = DEFAULT_LANGUAGE) -> str:
    scores = language_scores(text)
    if scores["en"] > scores["da"]:
        return "en"
    if scores["da"] > scores["en"]:
        return "da"
    return default


# Languages citizens write in that the bot does not speak, told apart by letters only they use, or by a few
# common words (ISO 639-1 codes). One line in that language says the bot speaks Danish and English.
_URDU_LETTERS = frozenset("ٹڈڑںےۓھہ")
_UKRAINIAN_LETTERS = frozenset("іїєґ")
_POLISH_LETTERS = frozenset("ąćęłńśźż")
_TURKISH_LETTERS = frozenset("ğış")


@cache
def _foreign_words() -> dict[str, frozenset[str]]:
    raw = yaml.safe_load(resources.files("bot.nlu").joinpath("language_words.yml").read_text("utf-8"))
    return {code: frozenset(str(words).split()) for code, words in raw.get("foreign", {}).items()}


def foreign_language(text: str) -> str | None:
    """The language of a message in Arabic, Urdu, Ukrainian, Russian, Polish, Turkish or Somali; else None."""
    sample = text[:500]
    letters = [ch for ch in sample.casefold() if ch.isalpha()]
    if not letters:
        return None
    arabic = sum(1 for ch in letters if "\u0600" <= ch <= "\u06ff")
    cyrillic = sum(1 for ch in letters if "\u0400" <= ch <= "\u04ff")
    if arabic > len(letters) / 2:
        return "ur" if any(ch in _URDU_LETTERS for ch in letters) else "ar"
    if cyrillic > len(letters) / 2:
        return "uk" if any(ch in _UKRAINIAN_LETTERS for ch in letters) else "ru"
    words = set(sample.casefold().replace(",", " ").replace(".", " ").replace("?", " ").split())
    known = _foreign_words()
    if any(ch in _POLISH_LETTERS for ch in letters) or len(words & known.get("pl", frozenset())) >= 2:
        return "pl"
    if any(ch in _TURKISH_LETTERS for ch in letters) or len(words & known.get("tr", frozenset())) >= 2:
        return "tr"
    if len(words & known.get("so", frozenset())) >= 2:
        return "so"
    return None
