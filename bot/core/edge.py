"""Checks at the edge: what every HTTP entry (channels, APIs, pages, consoles) refuses before anything is
stored, pure and shared, so a malformed request gets a clear 4xx and never reaches a database that would
answer with a 500.

Why each check exists: PostgreSQL refuses a NUL character in text, and neither database can store a lone
surrogate (it is not UTF-8); ids longer than their columns (`bot/storage/tables.py`: 128) fail on
PostgreSQL only; JSON nested a thousand deep makes Python's decoder recurse until it breaks, so the depth
is counted on the raw text first, without recursion; dates before year 1 or after 9999 overflow when
turned into UTC. `bot/web/guard.py` applies these to every request; channels and APIs use them for their
own fields.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

MAX_DEPTH = 32  # nesting of JSON arrays and objects; the bot's own JSON is never deeper than 5
MAX_ID = 128  # sender, message_id and recipient columns (bot/storage/tables.py)
YEARS = (2000, 2100)  # dates the APIs and consoles take


class Refused(Exception):
    """A request the edge refuses: `status` (400, 403, 413 …) and a message safe to show and to log (it
    never quotes what was sent)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_depth_exceeds(text: str, limit: int = MAX_DEPTH) -> bool:
    """True when arrays and objects in `text` nest deeper than `limit`: one pass over the characters,
    skipping strings, stopping at the first bracket too deep (no recursion, whatever the input)."""
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored (a NUL character, a lone surrogate), or None."""
    if "\x00" in value:
        return "contains a NUL character"
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate (not UTF-8)"
    return None


def _strings(value: Any) -> Iterable[str]:
    """Every string in a decoded JSON value, keys included, walked with a stack (not recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def load_json(raw: bytes, max_depth: int = MAX_DEPTH, nul_ok: bool = False) -> Any:
    """`raw` as JSON, or `Refused`: not UTF-8, nested deeper than `max_depth`, not JSON (numbers Python
    will not convert, NaN), or a string (or key) with a lone surrogate or (unless `nul_ok`: a channel whose
    message text the dispatcher cleans of control characters, its ids checked with `check_id`) a NUL
    character. An empty body is None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("The request body is not valid JSON: it must be UTF-8.") from None
    if not text.strip():
        return None
    if json_depth_exceeds(text, max_depth):
        raise Refused(f"The JSON is nested more than {max_depth} deep.")
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise Refused("The request body is not valid JSON.") from None
    for string in _strings(value):
        problem = text_problem(string.replace("\x00", "") if nul_ok else string)
        if problem:
            raise Refused(f"A text in the request {problem}.")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def check_query(query: Mapping[str, str]) -> None:
    """A query string's names and values: no NUL, no lone surrogate, no other control character."""
    for name, value in query.items():
        for part in (name, value):
            problem = text_problem(part) or ("contains a control character" if _has_control(part) else None)
            if problem:
                raise Refused(f"The query string {problem}.")


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in value)


def check_id(value: Any, name: str, limit: int = MAX_ID) -> str:
    """An id a client sends (a sender, a message id): a text (or a whole number) of 1 to `limit` characters
    without control characters; returned as text."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Refused(f'"{name}" must be a text of 1 to {limit} characters.')
    text = str(value)
    if not text.strip() or len(text) > limit:
        raise Refused(f'"{name}" must be a text of 1 to {limit} characters.')
    if text_problem(text) or _has_control(text):
        raise Refused(f'"{name}" must not contain control characters.')
    return text


def check_year(moment: date | datetime, name: str) -> None:
    """A date the bot can work with: years outside `YEARS` are refused (they overflow on the way to UTC, and
    nobody books an eMentor in year 1)."""
    low, high = YEARS
    if not low <= moment.year <= high:
        raise Refused(f'"{name}" must be a date between {low} and {high}.')
