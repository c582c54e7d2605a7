"""A hand-over's transcript for the eMentor: what the bot showed and what the citizen pressed or wrote, from
the turn log (as stored: the citizen's words redacted of CPR numbers, codes, phone numbers and e-mails). Pure.

A pressed button is logged as its payload ("/choose{…}"); it is shown by the title of the button the bot
offered just before, which is what the citizen saw and pressed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Said:
    who: str  # citizen | bot
    text: str
    at: datetime
    pressed: bool = False  # the citizen pressed a button (text: its title)
    buttons: tuple[str, ...] = ()  # the bot offered these


def _shown(raw: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(raw or "[]")
    except json.JSONDecodeError:
        return []
    return [m for m in value if isinstance(m, dict)] if isinstance(value, list) else []


def transcript(turns: Iterable[Mapping[str, Any]]) -> list[Said]:
    """Each turn as the citizen's message (or button) and the bot's replies, oldest first."""
    out: list[Said] = []
    offered: dict[str, str] = {}
    for turn in turns:
        text, at = str(turn["text"]), turn["created_at"]
        if text.startswith("/"):
            title = offered.get(text)
            out.append(Said("citizen", title if title is not None else text.split("{", 1)[0], at, pressed=True))
        elif text:
            out.append(Said("citizen", text, at))
        offered = {}
        for message in _shown(str(turn.get("shown") or "[]")):
            titles = tuple(str(b) for b in message.get("buttons", []))
            offered.update(zip((str(p) for p in message.get("payloads", [])), titles, strict=False))
            if message.get("text") or titles:
                out.append(Said("bot", str(message.get("text", "")), at, buttons=titles))
    return out
