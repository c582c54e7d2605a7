"""Button payloads ↔ Telegram's `callback_data`, which holds at most 64 bytes.

Our payloads are Rasa's (`/intent{"key":"value"}`) and can be longer. A payload that fits travels as
itself; a longer one travels as a short key that names it, kept in the database before the button is sent.
The key is a hash of the payload, not a counter: the same payload always gets the same key, so the table
holds one row per distinct button (a few hundred, bounded by the flows) however many messages are sent,
the write is an idempotent insert, and a key stays valid across processes, restarts and old chat history.
Callback data comes from the citizen's client and is untrusted: a key nobody stored is passed on as text.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping

from bot.core.ports import PayloadTable

MAX_CALLBACK_DATA = 64
KEY_PREFIX = "#"  # payloads start with "/", so a key can never be mistaken for one
MAX_CACHED = 4096


def payload_key(payload: str) -> str:
    digest = hashlib.sha256(payload.encode("utf-8")).digest()[:15]  # 120 bits: no collision in practice
    return KEY_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")


def fits(payload: str) -> bool:
    return payload.startswith("/") and len(payload.encode("utf-8")) <= MAX_CALLBACK_DATA


class CallbackData:
    """Turns payloads into callback data and back, keeping long payloads in a `PayloadTable`."""

    def __init__(self, table: PayloadTable) -> None:
        self.table = table
        self._known: dict[str, str] = {}  # key -> payload already in the table (saves a write per message)

    async def encode(self, payloads: Iterable[str]) -> dict[str, str]:
        """payload -> callback data; long payloads are saved before this returns."""
        out = {p: p if fits(p) else payload_key(p) for p in payloads}
        new = {data: p for p, data in out.items() if data != p and data not in self._known}
        if new:
            await self.table.save_button_payloads(new)
            self._remember(new)
        return out

    async def decode(self, data: str) -> str:
        """The payload behind a pressed button; unknown data is returned as it is (read as typed text)."""
        if not data.startswith(KEY_PREFIX):
            return data
        payload = self._known.get(data)
        if payload is None:
            payload = await self.table.button_payload(data)
            if payload is None:
                return data
            self._remember({data: payload})
        return payload

    def _remember(self, keys: Mapping[str, str]) -> None:
        if len(self._known) + len(keys) > MAX_CACHED:
            self._known.clear()
        self._known.update(keys)
