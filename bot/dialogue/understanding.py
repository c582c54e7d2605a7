"""What a message is before any question is asked of it: clean text, and the messages that are not a question
at all (only symbols, an outburst, another language). Pure."""

from __future__ import annotations

import unicodedata

from bot.flows.answers import AnswerWords, folded
from bot.nlu.language import foreign_language, language_scores

MAX_TEXT = 4000


def clean_text(text: str) -> str:
    """Printable text only: control characters, lone surrogates and NULs removed; capped in length."""
    text = text[: MAX_TEXT * 2].encode("utf-8", errors="ignore").decode("utf-8")
    kept = "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" or ch == "\u200d" else " " for ch in text)
    return kept.strip()[:MAX_TEXT]


def decisive_language(text: str, detected: str | None) -> str | None:
    """The detected language when the message's words say it; None when they don't (emoji, "ok", a name)."""
    scores = language_scores(text)
    return detected if scores["da"] != scores["en"] else None


def is_unclear(text: str) -> bool:
    """Only punctuation or symbols: "?", "...", "😭😭" — no word to understand."""
    return not any(ch.isalnum() for ch in text)


def is_frustrated(text: str, words: AnswerWords) -> bool:
    """Swearing, "virker stadig ikke", or "!!!": someone who needs a person more than another step."""
    if text.count("!") >= 3:
        return True
    padded = f" {folded(text)} "
    return any(f" {phrase} " in padded for phrase in words.frustrated)


def edge_intent(text: str, words: AnswerWords) -> tuple[str, dict[str, str]] | None:
    """ "unclear", "foreign" (with the language) or "frustrated" for a message that is not a question."""
    if is_unclear(text):
        return "unclear", {}
    foreign = foreign_language(text)
    if foreign is not None:
        return "foreign", {"language": foreign}
    if is_frustrated(text, words):
        return "frustrated", {}
    return None
