"""Spotting secrets citizens sometimes send (CPR numbers, passwords, MitID codes) so they are never kept.

The bot never asks for them; when one arrives, the citizen is told not to send it, and the turn log keeps
only a marker instead of the text.
"""

from __future__ import annotations

import re

_CPR = re.compile(r"(?<!\d)(0[1-9]|[12]\d|3[01])(0[1-9]|1[0-2])\d{2}[- ]?\d{4}(?!\d)")
_PASSWORD = re.compile(
    r"\b(adgangskode|adgangs kode|kodeord|password|passw|pinkode|pin kode|pin|min kode|my code|kode)\s*"
    r"(er|is|=|:)\s*\S{3,}",
    re.IGNORECASE,
)


def find_secret(text: str) -> str | None:
    """'cpr' or 'password' when the message seems to contain one, else None."""
    if _CPR.search(text):
        return "cpr"
    if _PASSWORD.search(text):
        return "password"
    return None


def redact(text: str) -> str:
    """What the turn log may keep of a message: the text, or a marker if it holds a secret."""
    kind = find_secret(text)
    return f"[removed: {kind}]" if kind else text


_PHONE = re.compile(r"(?<!\d)(?:\+45[\s-]?)?(?:\d[\s-]?){7}\d(?!\d)")


def redact_shown(text: str) -> str:
    """The bot's own words as they may be kept: a phone number it repeated (a call-back) is masked."""
    return _PHONE.sub("[telefonnummer]", text)
