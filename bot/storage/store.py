"""The one storage gateway for conversations: state per (channel, sender), the turn log, seen message ids.

A turn runs inside one transaction that holds the conversation: an in-process lock per key keeps one
sender's messages in arrival order, and the database lock (PostgreSQL row lock, SQLite's write lock) does
the same across bot processes. A database that is briefly away is retried before the turn gives up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.storage.db import is_sqlite
from bot.storage.tables import button_payloads, conversations, inbound_seen, turns

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)
_NEVER = datetime.fromtimestamp(0, UTC)  # updated_at of a conversation row created but not yet used

# Statements built once: building and hashing SQLAlchemy constructs per turn cost more than the queries.
_ONE = (conversations.c.channel == bindparam("k_channel")) & (conversations.c.sender == bindparam("k_sender"))
_SELECT_STATE = select(conversations.c.state, conversations.c.updated_at).where(_ONE)
_SELECT_STATE_LOCKED = _SELECT_STATE.with_for_update()
_UPDATE_STATE = update(conversations).where(_ONE).values(state=bindparam("v_state"), updated_at=bindparam("v_at"))
_INSERT_CONVERSATION = insert(conversations)
_INSERT_TURN = insert(turns)
_INSERT_SEEN = insert(inbound_seen)


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


TurnFunction = Callable[[Stored], Awaitable[tuple[dict[str, Any], TurnLog, T]]]


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sqlite = is_sqlite(str(engine.url))
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, channel: str, sender: str) -> asyncio.Lock:
        lock = self._locks.get((channel, sender))
        if lock is None:
            lock = asyncio.Lock()
            self._locks[(channel, sender)] = lock
        return lock

    async def turn(self, channel: str, sender: str, message_id: str | None, fn: TurnFunction[T]) -> T | None:
        """Run `fn` on the conversation's state and save what it returns; None for a repeated message id."""
        async with self._lock(channel, sender):
            for attempt, delay in enumerate((*RETRY_DELAYS, None)):
                try:
                    return await self._turn_once(channel, sender, message_id, fn)
                except (OperationalError, DBAPIError, OSError) as exc:
                    if (
                        isinstance(exc, DBAPIError)
                        and not isinstance(exc, OperationalError)
                        and not exc.connection_invalidated
                    ):
                        raise
                    if delay is None:
                        raise StorageUnavailable(str(exc)) from exc
                    log.warning("database unavailable (%s), retry %d", exc.__class__.__name__, attempt + 1)
                    await asyncio.sleep(delay)
        return None  # pragma: no cover - the loop returns or raises

    async def _turn_once(self, channel: str, sender: str, message_id: str | None, fn: TurnFunction[T]) -> T | None:
        now = datetime.now(UTC)
        async with self.engine.begin() as conn:
            if message_id is not None and not await self._first_delivery(conn, channel, message_id, now):
                return None
            stored, exists = await self._load(conn, channel, sender)
            state, record, result = await fn(stored)
            encoded = json.dumps(state, ensure_ascii=False)
            if not exists:
                row = {"channel": channel, "sender": sender, "state": encoded, "updated_at": now}
                await conn.execute(_INSERT_CONVERSATION, row)
            else:
                await conn.execute(
                    _UPDATE_STATE, {"k_channel": channel, "k_sender": sender, "v_state": encoded, "v_at": now}
                )
            await conn.execute(
                _INSERT_TURN, {"created_at": now, "channel": channel, "sender": sender, **record.__dict__}
            )
            return result

    async def _first_delivery(self, conn: AsyncConnection, channel: str, message_id: str, now: datetime) -> bool:
        try:
            async with conn.begin_nested():
                await conn.execute(_INSERT_SEEN, {"channel": channel, "message_id": message_id, "created_at": now})
        except IntegrityError:
            return False
        return True

    async def _load(self, conn: AsyncConnection, channel: str, sender: str) -> tuple[Stored, bool]:
        query = _SELECT_STATE if self._sqlite else _SELECT_STATE_LOCKED
        key = {"k_channel": channel, "k_sender": sender}
        row = (await conn.execute(query, key)).first()
        if row is None and not self._sqlite:
            # two processes may create the same conversation at once: insert-or-nothing, then lock it
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            await conn.execute(
                pg_insert(conversations)
                .values(channel=channel, sender=sender, state="{}", updated_at=_NEVER)
                .on_conflict_do_nothing()
            )
            row = (await conn.execute(query, key)).first()
        if row is None:
            return Stored({}, None), False
        updated = row.updated_at
        if updated is not None and updated.tzinfo is None:
            updated = updated.replace(tzinfo=UTC)  # SQLite returns naive datetimes
        return Stored(json.loads(row.state), None if updated == _NEVER else updated), True

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
        await self.engine.dispose()
