"""The one storage gateway: `bot.core.ports.ConversationStore` and `PayloadTable` on SQLite or PostgreSQL.

A turn runs inside one transaction that holds the conversation: an in-process lock per key keeps one
sender's messages in arrival order, and the database lock (PostgreSQL row lock, SQLite's write lock) does
the same across bot processes. Every call goes through the drivers directly (turn_paths.py) and through
one retry: a database that is briefly away is tried again before the caller hears `StorageUnavailable`.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import weakref
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg

from bot.core.ports import Replay, Row, StorageUnavailable, Stored, TurnFunction, Tx, Work
from bot.storage.turn_paths import turn_path

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)
# a database that is away, as each driver says it (not a mistake in a query)
OUTAGES: tuple[type[Exception], ...] = (
    OSError,
    sqlite3.OperationalError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
)


class Store:
    def __init__(self, url: str, schema: str | None = None) -> None:
        """`url` as SQLAlchemy writes it (sqlite+aiosqlite:///…, postgresql+asyncpg://…); `schema` puts every
        table in that PostgreSQL schema (tests isolate themselves so)."""
        self.url = url
        self.schema = schema
        self._path = turn_path(url, schema)
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, channel: str, sender: str) -> asyncio.Lock:
        lock = self._locks.get((channel, sender))
        if lock is None:
            lock = asyncio.Lock()
            self._locks[(channel, sender)] = lock
        return lock

    async def turn(
        self, channel: str, sender: str, message_id: str | None, fn: TurnFunction[T], now: datetime
    ) -> T | Replay:
        async def step(
            state: dict[str, Any], updated_at: datetime | None, tx: Tx
        ) -> tuple[Mapping[str, Any], dict[str, Any], T]:
            new_state, record, result = await fn(Stored(state, updated_at), tx)
            return new_state, record.__dict__, result

        async with self._lock(channel, sender):
            return await self._retrying(lambda: self._path.run(channel, sender, message_id, step, now))

    async def first_delivery(self, channel: str, message_id: str, now: datetime) -> bool:
        async def remember(tx: Tx) -> bool:
            added = await tx.execute(
                "INSERT INTO inbound_seen (channel, message_id, created_at) VALUES (:channel, :id, :now)"
                " ON CONFLICT DO NOTHING",
                channel=channel,
                id=message_id,
                now=now,
            )
            return added > 0

        return await self.transaction(remember)

    async def transaction(self, work: Work[T], *, read_only: bool = False) -> T:
        """`work(tx)` in a transaction of its own, retried while the database is briefly away. `read_only`
        work takes no write lock on SQLite (and PostgreSQL refuses a write in it)."""
        return await self._retrying(lambda: self._path.transaction(work, read_only=read_only))

    async def _retrying(self, attempt_once: Callable[[], Awaitable[T]]) -> T:
        for attempt, delay in enumerate((*RETRY_DELAYS, None)):
            try:
                return await attempt_once()
            except OUTAGES as exc:
                if delay is None:
                    raise StorageUnavailable(str(exc)) from exc
                log.warning("database unavailable (%s), retry %d", exc.__class__.__name__, attempt + 1)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def recent_turns(self, channel: str, sender: str, limit: int = 50) -> list[Row]:
        async def read(tx: Tx) -> list[Row]:
            return await tx.fetch(
                "SELECT * FROM turns WHERE channel = :channel AND sender = :sender ORDER BY id DESC LIMIT :limit",
                channel=channel,
                sender=sender,
                limit=limit,
            )

        return list(reversed(await self.transaction(read, read_only=True)))

    async def save_button_payloads(self, payloads: Mapping[str, str]) -> None:
        """Keep each payload under its short key; a key already kept stays as it is (keys derive from payloads)."""
        if not payloads:
            return
        now = datetime.now(UTC)

        async def save(tx: Tx) -> None:
            for key, payload in sorted(payloads.items()):
                await tx.execute(
                    "INSERT INTO button_payloads (id, payload, created_at) VALUES (:id, :payload, :now)"
                    " ON CONFLICT DO NOTHING",
                    id=key,
                    payload=payload,
                    now=now,
                )

        await self.transaction(save)

    async def button_payload(self, key: str) -> str | None:
        async def read(tx: Tx) -> str | None:
            rows = await tx.fetch("SELECT payload FROM button_payloads WHERE id = :id", id=key)
            return str(rows[0]["payload"]) if rows else None

        return await self.transaction(read, read_only=True)

    async def close(self) -> None:
        await self._path.close()
