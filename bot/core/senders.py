"""Sender ids the server hands out: random, long, and signed, so that knowing a citizen's id is not enough.

A signed sender travels as one string, `s-<random>.<signature>`, in the fields Rasa's REST channel and
rasa-webchat already have (`sender`, `session_id`), so their JSON stays as it was and curl still works. The
conversation is kept under `s-<random>` only: the signature (an HMAC-SHA256 of it with the server's key) is
never stored, so an id read from the database, a log or an eMentor's screen cannot be used to read that
citizen's messages or to act for them. An id that starts with `s-` is the server's: without its right
signature it is refused even when unsigned senders are allowed, so nobody can step into a signed
conversation by leaving the signature off. With `require_signed`, every other id is refused too.

The key comes from the environment (EMENTOR_SENDER_SECRET) or, when that is not set, is made once and kept
in the database, so every bot process signs and checks alike (`load_key` is handed in by the composition).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable

from bot.core.edge import Refused

PREFIX = "s-"
_SIGNED = re.compile(r"(s-[A-Za-z0-9_-]{32})\.([A-Za-z0-9_-]{32})")
KeyLoader = Callable[[], Awaitable[bytes]]
UNSIGNED = "This sender id was not issued by this server: ask for one with POST /webhooks/rest/sender."


def signature(key: bytes, sender_key: str) -> str:
    digest = hmac.new(key, sender_key.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:32]


def issue(key: bytes) -> str:
    """A new signed sender id: 32 random URL-safe characters (192 bits) and their signature."""
    sender_key = PREFIX + secrets.token_urlsafe(24)
    return f"{sender_key}.{signature(key, sender_key)}"


def verify(key: bytes, sender: str) -> str | None:
    """The conversation key (`s-<random>`) of a rightly signed sender id, else None."""
    match = _SIGNED.fullmatch(sender)
    if match is None:
        return None
    sender_key, given = match.groups()
    return sender_key if hmac.compare_digest(given, signature(key, sender_key)) else None


class SenderIds:
    """Issues and checks sender ids for the REST and socket.io channels."""

    def __init__(self, load_key: KeyLoader, required: bool = False) -> None:
        self._load_key = load_key
        self.required = required
        self._key: bytes | None = None
        self._lock = asyncio.Lock()

    async def key(self) -> bytes:
        if self._key is None:
            async with self._lock:
                if self._key is None:
                    self._key = await self._load_key()
        return self._key

    async def issue(self) -> str:
        return issue(await self.key())

    async def conversation_key(self, sender: str) -> str:
        """The key a sender's conversation is kept under, or `Refused` (403): an `s-` id without its right
        signature, or any unsigned id while signed ones are required."""
        if sender.startswith(PREFIX):
            found = verify(await self.key(), sender)
            if found is None:
                raise Refused(UNSIGNED, 403)
            return found
        if self.required:
            raise Refused(UNSIGNED, 403)
        return sender

    async def is_valid(self, sender: str) -> bool:
        try:
            await self.conversation_key(sender)
        except Refused:
            return False
        return True
