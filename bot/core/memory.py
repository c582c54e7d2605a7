"""In-memory implementations of the core's interfaces: the store for dialogue tests, no database needed.

`MemoryStore` keeps each conversation's state, the turn log, seen message ids and button payloads in
dicts, with the same rules as the database stores (one sender at a time, a repeated message id handled
once, nothing saved when the turn fails). It runs no SQL: a turn that needs bookings or hand-overs needs
a real database, and its `Tx` says so.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from bot.core.ports import Replay, Row, Stored, TurnFunction, Work

T = TypeVar("T")


class NoSql(Exception):
    """SQL was asked of the in-memory store."""


class MemoryTx:
    dialect = "memory"

    async def fetch(self, sql: str, **params: Any) -> list[Row]:
        raise NoSql("the in-memory store runs no SQL; use SQLite or PostgreSQL")

    async def execute(self, sql: str, **params: Any) -> int:
        raise NoSql("the in-memory store runs no SQL; use SQLite or PostgreSQL")

    async def durable(self) -> None:
        return None


class MemoryStore:
    def __init__(self) -> None:
        self.states: dict[tuple[str, str], tuple[dict[str, Any], datetime]] = {}
        self.turns: defaultdict[tuple[str, str], list[Row]] = defaultdict(list)
        self.seen: dict[tuple[str, str], tuple[str | None, str | None]] = {}  # (channel, id) -> (sender, reply)
        self.payloads: dict[str, str] = {}
        self._locks: defaultdict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tx = MemoryTx()

    async def turn(
        self, channel: str, sender: str, message_id: str | None, fn: TurnFunction[T], now: datetime
    ) -> T | Replay:
        key = (channel, sender)
        async with self._locks[key]:
            if message_id is not None and (channel, message_id) in self.seen:
                first_sender, reply = self.seen[(channel, message_id)]
                return Replay(reply if first_sender == sender else None)
            stored = self.states.get(key)
            loaded = Stored(dict(stored[0]) if stored else {}, stored[1] if stored else None)
            state, record, result = await fn(loaded, self._tx)
            if message_id is not None:
                self.seen[(channel, message_id)] = (sender, record.reply)
            self.states[key] = (dict(state), now)
            self.turns[key].append({"created_at": now, "channel": channel, "sender": sender, **record.__dict__})
            return result

    async def transaction(self, work: Work[T], *, read_only: bool = False) -> T:
        return await work(self._tx)

    async def first_delivery(self, channel: str, message_id: str, now: datetime) -> bool:
        if (channel, message_id) in self.seen:
            return False
        self.seen[(channel, message_id)] = (None, None)
        return True

    async def recent_turns(self, channel: str, sender: str, limit: int = 50) -> list[Row]:
        return [dict(r) for r in self.turns[(channel, sender)][-limit:]]

    async def save_button_payloads(self, payloads: Mapping[str, str]) -> None:
        for key, payload in payloads.items():
            self.payloads.setdefault(key, payload)

    async def button_payload(self, key: str) -> str | None:
        return self.payloads.get(key)

    async def close(self) -> None:
        return None
