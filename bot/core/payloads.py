"""Button payloads in Rasa's convention: ``/intent`` or ``/intent{"key": "value"}``.

A payload skips the NLU: the button already says what the citizen means. Any channel accepts one typed
by hand too. Payloads come from outside, so parsing is strict and a malformed one is treated as text.
"""

from __future__ import annotations

import json
import re
from typing import Any

_PAYLOAD = re.compile(r"^/(?P<intent>[A-Za-z_][A-Za-z0-9_]{0,63})(?P<entities>\{.*\})?$", re.DOTALL)
MAX_PAYLOAD = 1000


def format_payload(intent: str, **entities: str) -> str:
    if not entities:
        return f"/{intent}"
    return f"/{intent}" + json.dumps(entities, ensure_ascii=False, separators=(",", ":"))


def parse_payload(text: str) -> tuple[str, dict[str, str]] | None:
    """(intent, entities) for a well-formed payload with string values, else None."""
    if len(text) > MAX_PAYLOAD:
        return None
    match = _PAYLOAD.match(text.strip())
    if match is None:
        return None
    entities: dict[str, str] = {}
    if match.group("entities"):
        try:
            raw: Any = json.loads(match.group("entities"))
        except json.JSONDecodeError:
            return None
        if not isinstance(raw, dict) or not all(isinstance(v, str | int) for v in raw.values()):
            return None
        entities = {str(k): str(v) for k, v in raw.items()}
    return match.group("intent"), entities
