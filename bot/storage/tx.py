"""The two implementations of `bot.core.ports.Tx`: SQL run the same way on SQLite and PostgreSQL.

Booking, hand-over and outbox work runs inside the conversation turn's own transaction (so a booking, its
reminders and the conversation's new state commit together or not at all), and outside a turn (the eMentor
API, the delivery worker) in a transaction of its own. Both go through this one small interface, on the
connections the turn path already holds: one SQLite connection on one thread, an asyncpg pool.

SQL is written once with `:name` parameters, in the subset both databases speak (ON CONFLICT DO NOTHING,
RETURNING, partial unique indexes). Timestamps go in as aware datetimes and come out as aware UTC
datetimes: on SQLite they are stored as text, and every timestamp column's name ends in `_at` or `_until`.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bot.core.ports import Row

_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def is_time_column(name: str) -> bool:
    return name.endswith(("_at", "_until"))


def sqlite_time(moment: datetime) -> str:
    """The text form SQLAlchemy's SQLite DateTime reads and writes (naive UTC)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _from_sqlite(names: list[str], row: tuple[Any, ...]) -> Row:
    out: Row = {}
    for key, value in zip(names, row, strict=True):
        if isinstance(value, str) and is_time_column(key):
            value = datetime.fromisoformat(value).replace(tzinfo=UTC)
        out[key] = value
    return out


class SqliteTx:
    """Statements run on the turn path's one SQLite thread, inside a transaction begun there."""

    dialect = "sqlite"

    def __init__(self, connection: Callable[[], sqlite3.Connection], executor: ThreadPoolExecutor) -> None:
        self._connection = connection
        self._executor = executor

    def _run(self, sql: str, params: Mapping[str, Any]) -> tuple[list[Row], int]:
        conn = self._connection()
        values = {k: sqlite_time(v) if isinstance(v, datetime) else v for k, v in params.items()}
        cursor = conn.execute(sql, values)
        if not cursor.description:
            return [], cursor.rowcount
        names = [d[0] for d in cursor.description]
        return [_from_sqlite(names, r) for r in cursor.fetchall()], cursor.rowcount

    async def fetch(self, sql: str, **params: Any) -> list[Row]:
        rows, _ = await asyncio.get_running_loop().run_in_executor(self._executor, self._run, sql, params)
        return rows

    async def execute(self, sql: str, **params: Any) -> int:
        rows, count = await asyncio.get_running_loop().run_in_executor(self._executor, self._run, sql, params)
        return len(rows) if count < 0 else count

    async def durable(self) -> None:
        """WAL with synchronous=NORMAL survives a crash of the bot; nothing to change inside a transaction."""


def to_numbered(sql: str, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """`:name` parameters as asyncpg's `$1, $2 …`, with the values in that order."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"

    return _NAMED.sub(number, sql), [params[name] for name in order]


class PostgresTx:
    dialect = "postgresql"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def fetch(self, sql: str, **params: Any) -> list[Row]:
        query, values = to_numbered(sql, params)
        return [dict(r) for r in await self._conn.fetch(query, *values)]

    async def execute(self, sql: str, **params: Any) -> int:
        query, values = to_numbered(sql, params)
        status: str = await self._conn.execute(query, *values)
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def durable(self) -> None:
        await self._conn.execute("SET LOCAL synchronous_commit = on")
