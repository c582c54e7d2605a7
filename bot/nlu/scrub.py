"""Personal data out of a citizen's words before an admin reads them or the model learns them.

The turn log's own redaction (`bot.core.privacy.redact`) replaces a message holding a CPR number or a
password by a marker. What the admin console shows and keeps goes one step further, because an admin reads
many citizens' messages side by side and copies them into training data that ends up in git: phone numbers,
e-mail addresses and long digit runs (a CPR number written "010190 1234" or "01.01.90-1234", a MitID code,
an account number) are masked inside the text, and a message that names a code or password in words the
turn log's pattern misses ("koden er hest123", "my pass: abc") is removed as a whole. Pure functions.
"""

from __future__ import annotations

import re

from bot.core.privacy import find_secret

REMOVED = "[removed: {kind}]"
NUMBER = "[nummer]"
EMAIL = "[e-mail]"

# CPR written with dots or slashes between day, month and year, with or without the dash and spaces
_CPR_DOTTED = re.compile(r"(?<!\d)\d{1,2}[./ ]\d{1,2}[./ ]\d{2,4}\s*[-/ ]?\s*\d{4}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# six or more digits in one run, allowing the spaces, dots and dashes people type between them (+45 …)
_DIGITS = re.compile(r"(?:\+|00)?\d(?:[\s.\-/]*\d){5,}")
_CODE_WORDS = re.compile(
    r"\b(adgangs\s?kode\w*|kode\w*|password\w*|passw\w*|pass|pin\w*|nøgle\w*|noegle\w*|mitid[- ]?kode\w*|"
    r"engangskode\w*|login|brugernavn|bruger-id|user\s?id|username)\b"
    r"\s*(?:er|is|=|:|til|hedder|lyder)\s*[\"'«»]?(?P<value>\S{3,})",
    re.IGNORECASE,
)
# what follows "koden er" when a citizen talks about a code rather than giving it
_NOT_A_CODE = frozenset(
    {"ikke", "not", "forkert", "wrong", "glemt", "forgot", "forgotten", "spærret", "sperret", "spaerret", "blocked",
     "locked", "virker", "working", "godkendt", "udløbet", "udlobet", "expired", "ugyldig", "invalid", "den", "det",
     "min", "mit", "my", "the", "for", "ok", "nødvendig", "nodvendig", "needed", "required", "rigtig", "right",
     "correct", "korrekt", "gammel", "old", "ny", "new", "blevet", "been", "lost", "mistet", "væk", "gone",
     "blokeret", "låst", "laast", "lukket", "closed", "nulstillet", "reset", "kommet", "sendt", "sent", "også",
     "too", "also", "stadig", "still", "altid", "always", "længere", "meget", "very", "hvad", "what"}
)  # fmt: skip


def has_code(text: str) -> bool:
    """Whether the text seems to give a code or password ("koden er hest123", "pin: 4821"), not merely talk
    about one ("koden er forkert", "my password is not working")."""
    for match in _CODE_WORDS.finditer(text):
        value = match.group("value").strip(".,!?\"'«»").casefold()
        if not value or value in _NOT_A_CODE:
            continue
        if not value.isalpha() or len(value) >= 4:
            return True
    return False


def scrub(text: str) -> str:
    """The text as the admin console may show and keep it: a whole-message marker when it holds a CPR number
    or a code, otherwise the text with phone numbers, e-mails and long digit runs masked."""
    kind = find_secret(text)
    if kind is None and (_CPR_DOTTED.search(text) and _looks_like_cpr(text)):
        kind = "cpr"
    if kind is None and has_code(text):
        kind = "password"
    if kind is not None:
        return REMOVED.format(kind=kind)
    text = _EMAIL.sub(EMAIL, text)
    return _DIGITS.sub(NUMBER, text)


def _looks_like_cpr(text: str) -> bool:
    for match in _CPR_DOTTED.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if len(digits) in (10, 12):
            return True
    return False


def is_removed(text: str) -> bool:
    """A whole message replaced by a marker: nothing in it to teach the model."""
    return text.startswith("[removed:")


def holds_personal(text: str) -> bool:
    """Whether scrubbing would change the text: it holds something personal (or is already a marker)."""
    return scrub(text) != text or is_removed(text)
