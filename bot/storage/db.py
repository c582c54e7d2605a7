"""Database engines: SQLite by default (nothing to install), PostgreSQL in production.

SQLite serialises writers with `BEGIN IMMEDIATE`, taken at the start of each transaction, so two bot
processes on one file cannot both read a conversation and then both write it. PostgreSQL does the same
per conversation with `SELECT … FOR UPDATE` (see store.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, schema: str | None = None) -> AsyncEngine:
    """An async engine; `schema` puts every table in that PostgreSQL schema (tests isolate themselves so)."""
    parsed = make_url(url)
    if is_sqlite(url):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _connect(dbapi_connection: Any, _: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: safe against crashes of the bot; only an OS crash may lose the last turns
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # A chat turn may be lost if PostgreSQL itself crashes (never corrupted): waiting for the disk on every
    # message would cap throughput at its flush rate. Work that must be durable (bookings) sets it back on.
    server_settings = {"synchronous_commit": "off"}
    if schema:
        server_settings["search_path"] = schema
    connect_args: dict[str, Any] = {"server_settings": server_settings}
    return create_async_engine(url, connect_args=connect_args, pool_size=10, max_overflow=10)
