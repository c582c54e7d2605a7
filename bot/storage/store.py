"""The one storage gateway for conversations: state per (channel, sender), the turn log, seen message ids.

A turn runs inside one transaction that holds the conversation: an in-process lock per key keeps one
sender's messages in arrival order, and the database lock (PostgreSQL row lock, SQLite's write lock) does
the same across bot processes. A database that is briefly away is retried before the turn gives up.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.db import is_sqlite
from bot.storage.tables import button_payloads, turns
from bot.storage.turn_paths import Work, turn_path
from bot.storage.tx import Tx

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


_RETRYABLE: tuple[type[Exception], ...] = (*OUTAGES, OperationalError, DBAPIError)


class StorageUnavailable(Exception):
    """The database did not answer after retries."""


def _is_outage(exc: Exception) -> bool:
    """A database that is away (not a mistake in a query)."""
    return not isinstance(exc, DBAPIError) or isinstance(exc, OperationalError) or exc.connection_invalidated


@dataclass(frozen=True)
class TurnLog:
    text: str
    language: str
    intent: str
    confidence: float
    flow: str | None
    step: str | None
    outcome: str
    replies: int


@dataclass(frozen=True)
class Stored:
    state: dict[str, Any]
    updated_at: datetime | None  # None for a new conversation


TurnFunction = Callable[[Stored, Tx], Awaitable[tuple[dict[str, Any], TurnLog, T]]]


class Store:
    def __init__(self, engine: AsyncEngine, schema: str | None = None) -> None:
        self.engine = engine
        self.schema = schema
        self._sqlite = is_sqlite(str(engine.url))
        self._path = turn_path(engine.url.render_as_string(hide_password=False), schema)
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, channel: str, sender: str) -> asyncio.Lock:
        lock = self._locks.get((channel, sender))
        if lock is None:
            lock = asyncio.Lock()
            self._locks[(channel, sender)] = lock
        return lock

    async def turn(
        self, channel: str, sender: str, message_id: str | None, fn: TurnFunction[T], now: datetime | None = None
    ) -> T | None:
        """Run `fn` on the conversation's state and save what it returns; None for a repeated message id.

        `fn` gets the turn's transaction too: what it writes there commits with the conversation. `now`
        (default: the wall clock) stamps the turn, so a dispatcher with its own clock stays consistent."""
        moment = now or datetime.now(UTC)

        async def step(
            state: dict[str, Any], updated_at: datetime | None, tx: Tx
        ) -> tuple[dict[str, Any], dict[str, Any], T]:
            new_state, record, result = await fn(Stored(state, updated_at), tx)
            return new_state, record.__dict__, result

        async with self._lock(channel, sender):
            return await self._retrying(lambda: self._path.run(channel, sender, message_id, step, moment))

    async def first_delivery(self, channel: str, message_id: str, now: datetime) -> bool:
        """Remember a message id handled outside a conversation turn (the eMentors' group), as turns do their
        own: False when it was seen before, so a repeated delivery is dropped."""

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
            except _RETRYABLE as exc:
                if not _is_outage(exc):
                    raise
                if delay is None:
                    raise StorageUnavailable(str(exc)) from exc
                log.warning("database unavailable (%s), retry %d", exc.__class__.__name__, attempt + 1)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def recent_turns(self, channel: str, sender: str, limit: int = 50) -> list[dict[str, Any]]:
        query = (
            select(turns)
            .where((turns.c.channel == channel) & (turns.c.sender == sender))
            .order_by(turns.c.id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [dict(r) for r in reversed(rows)]

    async def save_button_payloads(self, payloads: Mapping[str, str]) -> None:
        """Keep each payload under its short key; a key already kept stays as it is (keys derive from payloads)."""
        if not payloads:
            return
        if self._sqlite:
            from sqlalchemy.dialects.sqlite import insert as upsert
        else:
            from sqlalchemy.dialects.postgresql import insert as upsert  # type: ignore[assignment]
        now = datetime.now(UTC)
        rows = [{"id": key, "payload": payload, "created_at": now} for key, payload in sorted(payloads.items())]
        try:
            async with self.engine.begin() as conn:
                await conn.execute(upsert(button_payloads).values(rows).on_conflict_do_nothing())
        except (OperationalError, DBAPIError, OSError) as exc:
            if _is_outage(exc):
                raise StorageUnavailable(str(exc)) from exc
            raise

    async def button_payload(self, key: str) -> str | None:
        """The payload kept under `key`, or None when no button ever had it."""
        query = select(button_payloads.c.payload).where(button_payloads.c.id == key)
        try:
            async with self.engine.connect() as conn:
                payload: str | None = (await conn.execute(query)).scalar()
        except (OperationalError, DBAPIError, OSError) as exc:
            if _is_outage(exc):
                raise StorageUnavailable(str(exc)) from exc
            raise
        return payload

    async def close(self) -> None:
        await self._path.close()
        await self.engine.dispose()
