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
