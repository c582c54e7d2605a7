"""The hot path of a conversation turn, written against each driver directly.

Through SQLAlchemy's async layer a turn's five statements cost about 4 ms of CPU, most of the turn: every
statement is a greenlet switch and, on SQLite, a hop to aiosqlite's thread. Here a SQLite turn is two hops to
one dedicated thread (load, then save and commit) and a PostgreSQL turn a few asyncpg calls. Same tables,
same locking: BEGIN IMMEDIATE on SQLite, SELECT … FOR UPDATE on PostgreSQL.

Every wait is bounded (`Bounds`, from config.yml `database:`): getting a connection, one statement, and on
SQLite another process's write lock. A PostgreSQL connection that failed or timed out mid-statement is
closed rather than rolled back (a rollback on a hung socket would hang too), and the pool opens a new one.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import asyncpg
from sqlalchemy.engine import make_url

from bot.core.ports import Replay, Tx, Work
from bot.storage.tables import turns
from bot.storage.tx import PostgresTx, SqliteTx, sqlite_time

T = TypeVar("T")
NEVER = datetime.fromtimestamp(0, UTC)  # updated_at of a conversation row created but not yet used
Loaded = tuple[dict[str, Any], datetime | None]
Step = Callable[[dict[str, Any], datetime | None, Tx], Awaitable[tuple[Mapping[str, Any], dict[str, Any], T]]]


@dataclass(frozen=True)
class Bounds:
    """How long the database may take (config.yml `database:`): to connect (PostgreSQL: also to get a
    pooled connection), one statement (SQLite: waiting for another process's write lock), and one whole
    call with its retries (`Store`)."""

    connect: float = 5.0
    statement: float = 10.0
    deadline: float = 15.0


DEFAULT_BOUNDS = Bounds()
# errors after which a PostgreSQL connection cannot be trusted: the server ended it or cancelled a statement
BROKEN = (asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError)

# the turn log's own columns, from the schema (tables.py), so a new column cannot be forgotten here
_TURN_COLUMNS = tuple(c.name for c in turns.c if c.name not in ("id", "created_at", "channel", "sender"))


class TurnPath(Protocol):
    async def run(
        self, channel: str, sender: str, message_id: str | None, step: Step[T], now: datetime
    ) -> T | Replay: ...

    async def transaction(self, work: Work[T], *, read_only: bool = False) -> T:
        """`work` in a transaction of its own (outside a conversation turn), committed when it returns.
        `read_only`: it only reads, so on SQLite it takes no write lock."""
        ...

    async def close(self) -> None: ...


class SqliteTurns:
    """One connection on one thread; turns in this process take turns, other processes wait on the file lock."""

    def __init__(self, path: str, bounds: Bounds = DEFAULT_BOUNDS) -> None:
        self.path = path
        self.bounds = bounds
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-turns")
        self._lock = asyncio.Lock()
        self._conn: sqlite3.Connection | None = None
        self._tx = SqliteTx(self._connection, self._executor)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            wait = self.bounds.statement
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=wait)
            conn.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._conn = conn
        return self._conn

    def _idle_connection(self) -> sqlite3.Connection:
        """The connection, with no transaction open: one left open by a call whose caller gave up (its
        deadline passed) while this thread still worked on it is rolled back first."""
        conn = self._connection()
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return conn

    def _begin_and_load(self, channel: str, sender: str, message_id: str | None, now: str) -> Loaded | Replay:
        conn = self._idle_connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if message_id is not None:
                seen = conn.execute(
                    "INSERT OR IGNORE INTO inbound_seen (channel, message_id, created_at, sender) VALUES (?, ?, ?, ?)",
                    (channel, message_id, now, sender),
                )
                if seen.rowcount == 0:
                    kept = conn.execute(
                        "SELECT sender, reply FROM inbound_seen WHERE channel = ? AND message_id = ?",
                        (channel, message_id),
                    ).fetchone()
                    conn.execute("ROLLBACK")
                    return replay_of(kept, sender)
            row = conn.execute(
                "SELECT state, updated_at FROM conversations WHERE channel = ? AND sender = ?", (channel, sender)
            ).fetchone()
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if row is None:
            return {}, None
        return json.loads(row[0]), datetime.fromisoformat(row[1]).replace(tzinfo=UTC)

    def _save_and_commit(
        self, channel: str, sender: str, message_id: str | None, state: str, turn: dict[str, Any], now: str
    ) -> None:
        conn = self._connection()
        try:
            if message_id is not None:
                conn.execute(
                    "UPDATE inbound_seen SET reply = ? WHERE channel = ? AND message_id = ?",
                    (turn.get("reply"), channel, message_id),
                )
            conn.execute(
                "INSERT INTO conversations (channel, sender, state, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (channel, sender) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                (channel, sender, state, now),
            )
            conn.execute(
                f"INSERT INTO turns (created_at, channel, sender, {', '.join(_TURN_COLUMNS)}) "
                f"VALUES (?, ?, ?, {', '.join('?' for _ in _TURN_COLUMNS)})",
                (now, channel, sender, *(turn[c] for c in _TURN_COLUMNS)),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _rollback(self) -> None:
        if self._conn is not None and self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    async def run(self, channel: str, sender: str, message_id: str | None, step: Step[T], now: datetime) -> T | Replay:
        loop = asyncio.get_running_loop()
        stamp = sqlite_time(now)
        async with self._lock:
            loaded = await loop.run_in_executor(
                self._executor, self._begin_and_load, channel, sender, message_id, stamp
            )
            if isinstance(loaded, Replay):
                return loaded
            try:
                state, turn, result = await step(*loaded, self._tx)
            except BaseException:
                await loop.run_in_executor(self._executor, self._rollback)
                raise
            encoded = json.dumps(state, ensure_ascii=False)
            await loop.run_in_executor(
                self._executor, self._save_and_commit, channel, sender, message_id, encoded, turn, stamp
            )
            return result

    def _begin(self) -> None:
        self._idle_connection().execute("BEGIN IMMEDIATE")

    def _begin_read(self) -> None:
        self._idle_connection().execute("BEGIN DEFERRED")

    def _commit(self) -> None:
        self._connection().execute("COMMIT")

    async def transaction(self, work: Work[T], *, read_only: bool = False) -> T:
        loop = asyncio.get_running_loop()
        async with self._lock:
            await loop.run_in_executor(self._executor, self._begin_read if read_only else self._begin)
            try:
                result = await work(self._tx)
            except BaseException:
                await loop.run_in_executor(self._executor, self._rollback)
                raise
            await loop.run_in_executor(self._executor, self._commit)
            return result

    async def close(self) -> None:
        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        # the thread stays for a later turn (a closed app's store may be used again): it only idles
        await asyncio.get_running_loop().run_in_executor(self._executor, shut)


class PostgresTurns:
    """A small asyncpg pool of its own; the conversation row is locked for the turn."""

    def __init__(self, url: str, schema: str | None, bounds: Bounds = DEFAULT_BOUNDS) -> None:
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.bounds = bounds
        self.settings = {
            "synchronous_commit": "off",
            # the server gives up on a statement too (a lock held by a stuck transaction elsewhere)
            "statement_timeout": str(int(bounds.statement * 1000)),
            # named in pg_stat_activity (an operator, or a test, can find this store's connections)
            "application_name": f"ementor-bot:{schema}" if schema else "ementor-bot",
            **({"search_path": schema} if schema else {}),
        }
        self._pool: asyncpg.Pool | None = None
        self._starting = asyncio.Lock()

    async def _get_pool(self) -> asyncpg.Pool:
        async with self._starting:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self.dsn,
                    # none kept open when idle: a pool floor is restored in the background, and while the
                    # server is away that logs a traceback every second (asyncpg) beside our one line
                    min_size=0,
                    max_size=10,
                    server_settings=self.settings,
                    timeout=self.bounds.connect,  # to connect
                    command_timeout=self.bounds.statement,  # the driver's own bound on every statement
                )
        return self._pool

    @asynccontextmanager
    async def _transaction(self, *, read_only: bool = False) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection in a transaction, committed when the block ends. A query error rolls back;
        a connection that failed, timed out or was given up on (cancelled) is closed instead: a rollback
        on it could wait on a hung socket, and it may be mid-statement. The pool opens a new one."""
        pool = await self._get_pool()
        conn = await pool.acquire(timeout=self.bounds.connect)
        try:
            transaction = conn.transaction(readonly=read_only)
            await transaction.start()
            try:
                yield conn
            except asyncpg.PostgresError as exc:
                if isinstance(exc, BROKEN) or conn.is_closed():
                    raise
                await transaction.rollback()
                raise
            await transaction.commit()
        except BaseException as exc:
            if not isinstance(exc, asyncpg.PostgresError) or isinstance(exc, BROKEN):
                conn.terminate()
            raise
        finally:
            await pool.release(conn, timeout=self.bounds.connect)

    async def run(self, channel: str, sender: str, message_id: str | None, step: Step[T], now: datetime) -> T | Replay:
        async with self._transaction() as conn:
            if message_id is not None:
                # a repeat sent while the first is still being answered waits here for its commit
                status = await conn.execute(
                    "INSERT INTO inbound_seen (channel, message_id, created_at, sender) VALUES ($1, $2, $3, $4) "
                    "ON CONFLICT DO NOTHING",
                    channel,
                    message_id,
                    now,
                    sender,
                )
                if status.endswith(" 0"):
                    kept = await conn.fetchrow(
                        "SELECT sender, reply FROM inbound_seen WHERE channel = $1 AND message_id = $2",
                        channel,
                        message_id,
                    )
                    return replay_of(kept, sender)
            select = "SELECT state, updated_at FROM conversations WHERE channel = $1 AND sender = $2 FOR UPDATE"
            row = await conn.fetchrow(select, channel, sender)
            if row is None:  # two processes may start the same conversation: insert-or-nothing, then lock
                await conn.execute(
                    "INSERT INTO conversations (channel, sender, state, updated_at) VALUES ($1, $2, '{}', $3) "
                    "ON CONFLICT DO NOTHING",
                    channel,
                    sender,
                    NEVER,
                )
                row = await conn.fetchrow(select, channel, sender)
            updated = row["updated_at"]
            loaded = json.loads(row["state"])
            state, turn, result = await step(loaded, None if updated == NEVER else updated, PostgresTx(conn))
            await conn.execute(
                "UPDATE conversations SET state = $3, updated_at = $4 WHERE channel = $1 AND sender = $2",
                channel,
                sender,
                json.dumps(state, ensure_ascii=False),
                now,
            )
            placeholders = ", ".join(f"${i}" for i in range(4, 4 + len(_TURN_COLUMNS)))
            await conn.execute(
                f"INSERT INTO turns (created_at, channel, sender, {', '.join(_TURN_COLUMNS)}) "
                f"VALUES ($1, $2, $3, {placeholders})",
                now,
                channel,
                sender,
                *(turn[c] for c in _TURN_COLUMNS),
            )
            if message_id is not None:
                await conn.execute(
                    "UPDATE inbound_seen SET reply = $3 WHERE channel = $1 AND message_id = $2",
                    channel,
                    message_id,
                    turn.get("reply"),
                )
            return result

    async def transaction(self, work: Work[T], *, read_only: bool = False) -> T:
        async with self._transaction(read_only=read_only) as conn:
            return await work(PostgresTx(conn))

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), self.bounds.statement)
        except TimeoutError:  # a connection hung on an unanswering server: closed without a goodbye
            pool.terminate()


def replay_of(kept: Any, sender: str) -> Replay:
    """The reply kept for a message id, handed back only to the sender who sent it first."""
    if kept is None or kept[0] != sender:
        return Replay(None)
    return Replay(kept[1])


def turn_path(url: str, schema: str | None, bounds: Bounds = DEFAULT_BOUNDS) -> TurnPath:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return SqliteTurns(parsed.database or ":memory:", bounds)
    return PostgresTurns(url, schema, bounds)
