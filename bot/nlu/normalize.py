"""Text normalisation shared by training and prediction.

Citizens type the same word many ways: "får", "faar", "far"; "kørekort", "koerekort", "korekort";
"hjælp", "hjaelp", "hjelp". Folding æ/ae→e, ø/oe→o, å/aa→a makes those one token, so a model trained on
one spelling recognises the others. The same folding is applied to English text; it costs nothing there
because training and prediction see the same form.
"""

from __future__ import annotations

import re
import unicodedata

from bot.core.text import fold

MAX_CHARS = 1000  # a 100 kB paste is classified by its beginning; nobody asks two questions in one essay

_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:dk|com|org|net|eu)\b(?:/\S*)?")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_LONG_NUMBER = re.compile(r"\d[\d -]{5,}\d")
_TOKEN = re.compile(r"[^\W_]+")


def is_symbol(ch: str) -> bool:
    """Emoji and pictographs: kept as tokens of their own, since 👍 means something and 🙂🙂 does not."""
    return unicodedata.category(ch) == "So"


def normalize(text: str) -> str:
    """Lower-case, fold Danish letters and accents, drop control characters, mark URLs and numbers."""
    text = unicodedata.normalize("NFKC", text[: MAX_CHARS * 2])[:MAX_CHARS].casefold()
    text = _URL.sub(" urlx ", _EMAIL.sub(" emailx ", text))
    text = _LONG_NUMBER.sub(" numx ", text)
    return fold(text)


def tokenize(normalized: str) -> list[str]:
    """Words (letters and digits) plus each symbol character as its own token."""
    tokens: list[str] = []
    for part in normalized.split():
        if part.isalnum():
            tokens.append(part)
            continue
        tokens += _TOKEN.findall(part)
        tokens += [ch for ch in part if is_symbol(ch)]
    return tokens
