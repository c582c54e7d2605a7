"""The one storage gateway: `bot.core.ports.ConversationStore` and `PayloadTable` on SQLite or PostgreSQL.

A turn runs inside one transaction that holds the conversation: an in-process lock per key keeps one
sender's messages in arrival order, and the database lock (PostgreSQL row lock, SQLite's write lock) does
the same across bot processes. Every call goes through the drivers directly (turn_paths.py) and through
one retry: a database that is briefly away is tried again before the caller hears `StorageUnavailable`.

Every kind of database fault (a killed or refused connection, a hung server, a statement cancelled by its
timeout, SQLite's "database is locked") is an outage here, and every call is bounded by
`Bounds.deadline` with its retries: the citizen hears "try again in a moment" within seconds, one line is
logged, the transaction left nothing behind, and the next call tries afresh (no restart needed).
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

from bot.core import metrics
from bot.core.ports import Replay, Row, StorageUnavailable, Stored, TurnFunction, Tx, Work
from bot.storage.turn_paths import DEFAULT_BOUNDS, Bounds, turn_path

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)
# a database that is away, as each driver says it (not a mistake in a query)
OUTAGES: tuple[type[Exception], ...] = (
    OSError,  # refused, reset; TimeoutError (a statement or a connect that took too long) is one too
    sqlite3.OperationalError,  # "database is locked" after the busy timeout, a file that cannot be opened
    asyncpg.PostgresConnectionError,  # ConnectionDoesNotExistError: the server ended the connection
    asyncpg.InterfaceError,  # a connection closed or in a broken state
    asyncpg.InternalClientError,  # the driver's protocol lost its footing on a connection killed mid-use
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, pg_terminate_backend, statement_timeout
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections
)


class Store:
    def __init__(self, url: str, schema: str | None = None, bounds: Bounds = DEFAULT_BOUNDS) -> None:
        """`url` as SQLAlchemy writes it (sqlite+aiosqlite:///…, postgresql+asyncpg://…); `schema` puts every
        table in that PostgreSQL schema (tests isolate themselves so); `bounds` from config.yml `database:`."""
        self.url = url
        self.schema = schema
        self.bounds = bounds
        self._path = turn_path(url, schema, bounds)
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
        intents: list[str] = []

        async def step(
            state: dict[str, Any], updated_at: datetime | None, tx: Tx
        ) -> tuple[Mapping[str, Any], dict[str, Any], T]:
            new_state, record, result = await fn(Stored(state, updated_at), tx)
            intents.append(record.intent)
            return new_state, record.__dict__, result

        async with self._lock(channel, sender):
            done = await self._retrying(lambda: self._path.run(channel, sender, message_id, step, now))
        if intents and intents[-1] == "nlu_fallback" and not isinstance(done, Replay):
            metrics.FALLBACKS.labels(channel).inc()  # counted once the turn is saved
        return done

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
        """`attempt_once` until it answers, tried again after an outage, all within `bounds.deadline`. A
        call given up is logged once, in one line (no traceback: the kind of fault is what an operator
        needs), and counted."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        last: BaseException | None = None
        tries = 0
        try:
            async with asyncio.timeout(self.bounds.deadline):
                for delay in (*RETRY_DELAYS, None):
                    tries += 1
                    try:
                        return await attempt_once()
                    except OUTAGES as exc:
                        last = exc
                        log.debug("database unavailable (%s), try %d", exc.__class__.__name__, tries)
                        if delay is None:
                            break
                        await asyncio.sleep(delay)
        except TimeoutError as exc:  # the deadline, not a driver's timeout (those are caught above)
            last = last or exc
        assert last is not None
        metrics.STORAGE_UNAVAILABLE.inc()
        what = f"{last.__class__.__name__}: {str(last).splitlines()[0] if str(last) else 'no message'}"[:300]
        log.warning("database unavailable after %d tries in %.1f s (%s)", tries, loop.time() - started, what)
        raise StorageUnavailable(what) from last

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

    async def ping(self, timeout: float) -> bool:
        """Whether the database answers a trivial query within `timeout` seconds, tried once (GET /ready)."""
        try:
            async with asyncio.timeout(timeout):
                await self._path.transaction(_select_one, read_only=True)
            return True
        except OUTAGES:  # TimeoutError is an OSError
            return False

    async def close(self) -> None:
        await self._path.close()


async def _select_one(tx: Tx) -> None:
    await tx.fetch("SELECT 1 AS one")
