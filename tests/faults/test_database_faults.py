"""Database faults, answered within bounded time: connections killed while citizens write, a PostgreSQL
that stops answering (a paused TCP proxy), one that refuses, and a SQLite file whose write lock another
process holds. Every request ends as a real reply or the apology (503), never a 500 and never a hang
(HANG: three times the deadline, a hang detector, not a speed test); a citizen who presses "Prøv igen"
(the same message id) gets the answer; each message is in the turn log exactly once; and the bot carries
on by itself when the database is back. The figures of each run are printed (pytest -s)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.engine import make_url

from bot.app import RUNTIME_KEY, build_app
from bot.nlu.classifier import IntentModel
from bot.storage.migrate import upgrade_async
from bot.storage.store import Store
from tests.conftest import postgres_schema
from tests.faults.helpers import BOUNDS, HANG, MESSAGES, Client, PausableProxy, Tally, citizen, fault_settings, post

POSTGRES = os.environ.get("TEST_DATABASE_URL")
needs_postgres = pytest.mark.skipif(not POSTGRES, reason="needs TEST_DATABASE_URL (PostgreSQL)")
CITIZENS = 4
ROUNDS = 4


@asynccontextmanager
async def bot_on(url: str, schema: str | None, model: IntentModel) -> AsyncIterator[tuple[Client, str, Store]]:
    """The whole app (REST channel, worker, probes) on `url`, with the test's short database bounds."""
    store = Store(url, schema, BOUNDS)
    app = build_app(fault_settings(), model, store)
    try:
        async with TestClient(TestServer(app)) as client:
            yield client, app[RUNTIME_KEY].apology, store
    finally:
        await store.close()


def plain_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def turns_of(store: Store, sender: str) -> int:
    return len(await store.recent_turns("rest", sender, limit=1000))


@needs_postgres
async def test_connections_killed_while_citizens_write(project_model: IntentModel) -> None:
    assert POSTGRES is not None
    async with postgres_schema() as (url, schema), bot_on(url, schema, project_model) as (client, apology, store):
        tally, stop, killed = Tally(), asyncio.Event(), [0]

        async def kill_connections() -> None:
            admin = await asyncpg.connect(plain_dsn(POSTGRES))
            try:
                while not stop.is_set():
                    await asyncio.sleep(0.2)
                    rows = await admin.fetch(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                        f"ementor-bot:{schema}",
                    )
                    killed[0] += len(rows)
            finally:
                await admin.close()

        killer = asyncio.create_task(kill_connections())
        try:
            tries = await asyncio.gather(*(citizen(client, tally, apology, f"k{n}", ROUNDS) for n in range(CITIZENS)))
        finally:
            stop.set()
            await killer
        most = max(max(t) for t in tries)
        print("\n" + tally.line(f"postgresql, {killed[0]} connections killed") + f", most tries for one message {most}")
        assert killed[0] >= 3  # the kills landed while citizens wrote
        assert tally.errors == 0 and tally.hangs == 0, tally.odd
        after = Tally()
        for n in range(CITIZENS):  # the database is left alone again: answered at the first try
            assert await post(client, after, apology, f"k{n}", "hej", f"k{n}-after")
        for n in range(CITIZENS):  # every message once in the turn log: none lost, none run twice
            assert await turns_of(store, f"k{n}") == ROUNDS * len(MESSAGES) + 1


@needs_postgres
async def test_a_hung_postgresql_gets_the_apology_in_bounded_time_and_recovers(project_model: IntentModel) -> None:
    assert POSTGRES is not None
    real = make_url(POSTGRES)
    proxy = PausableProxy(real.host or "127.0.0.1", real.port or 5432)
    async with postgres_schema() as (url, schema), proxy.running():
        proxied = make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        async with bot_on(proxied, schema, project_model) as (client, apology, store):
            tally = Tally()
            assert await post(client, tally, apology, "h", "hej", "h-0")
            proxy.pause()
            started = time.perf_counter()
            assert not await post(client, tally, apology, "h", "hvad er mitid", "h-1")
            waited = time.perf_counter() - started
            assert tally.apologies == 1 and tally.errors == 0 and tally.hangs == 0, tally.odd
            assert waited < HANG
            started = time.perf_counter()
            ready = await client.get("/ready")
            assert ready.status == 503 and (await ready.json())["database"] == "unavailable"
            assert time.perf_counter() - started < HANG
            assert (await client.get("/health")).status == 200  # alive: not a reason to restart it
            print(f"\npostgresql hung: the apology after {waited:.2f} s (deadline {BOUNDS.deadline} s)")

            proxy.resume()
            tries = 1
            while not await post(client, tally, apology, "h", "hvad er mitid", "h-1"):  # "Prøv igen"
                tries += 1
                assert tries < 20
                await asyncio.sleep(0.2)
            assert (await client.get("/ready")).status == 200
            assert await turns_of(store, "h") == 2  # the message that met the hang: once, when answered
            assert tally.errors == 0 and tally.hangs == 0, tally.odd


@needs_postgres
async def test_a_refused_postgresql_gets_the_apology_in_bounded_time(project_model: IntentModel) -> None:
    assert POSTGRES is not None
    async with postgres_schema() as (url, schema):
        closed = make_url(url).set(host="127.0.0.1", port=1).render_as_string(hide_password=False)
        async with bot_on(closed, schema, project_model) as (client, apology, _):
            tally = Tally()
            assert not await post(client, tally, apology, "r", "hej", "r-0")
            assert tally.apologies == 1 and tally.errors == 0 and tally.hangs == 0, tally.odd
            assert (await client.get("/ready")).status == 503


HOLD_THE_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(120)
"""


async def test_a_sqlite_file_locked_by_another_process(project_model: IntentModel, tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_async(url)
    async with bot_on(url, None, project_model) as (client, apology, store):
        tally = Tally()
        assert await post(client, tally, apology, "s", "hej", "s-0")
        holder = await asyncio.create_subprocess_exec(
            sys.executable, "-c", HOLD_THE_LOCK, str(path), stdout=asyncio.subprocess.PIPE
        )
        try:
            assert holder.stdout is not None and await holder.stdout.readline() == b"locked\n"
            started = time.perf_counter()
            asked = asyncio.create_task(post(client, tally, apology, "s", "hvad er mitid", "s-1"))
            await asyncio.sleep(0.2)
            health_started = time.perf_counter()
            assert (await client.get("/health")).status == 200  # the process is not stalled meanwhile
            health_took = time.perf_counter() - health_started
            assert not await asked
            waited = time.perf_counter() - started
            assert tally.apologies == 1 and tally.errors == 0 and tally.hangs == 0, tally.odd
            assert waited < HANG and health_took < BOUNDS.statement
            started = time.perf_counter()
            pulled = await client.get("/webhooks/rest/messages", params={"sender": "s"})
            took = time.perf_counter() - started
            assert pulled.status in (200, 503) and took < HANG  # WAL: nothing waiting is read unlocked
            print(f"\nsqlite locked: apology after {waited:.2f} s; GET /messages {pulled.status} in {took:.2f} s")
        finally:
            holder.kill()
            await holder.wait()
        assert await post(client, tally, apology, "s", "hvad er mitid", "s-1")  # "Prøv igen", lock gone
        assert (await client.get("/webhooks/rest/messages", params={"sender": "s"})).status == 200
        assert await turns_of(store, "s") == 2
        assert tally.errors == 0 and tally.hangs == 0, tally.odd


GRAB_THE_LOCK_AGAIN_AND_AGAIN = """
import random, sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
random.seed(14)
print("started", flush=True)
while True:
    conn.execute("BEGIN IMMEDIATE")
    time.sleep(random.choice([0.1, 0.3, 0.8, 1.5, 4.0]))  # some longer than the busy timeout, one past the deadline
    conn.execute("COMMIT")
    time.sleep(0.3)
"""


async def test_sqlite_locked_again_and_again_while_citizens_write(project_model: IntentModel, tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_async(url)
    async with bot_on(url, None, project_model) as (client, apology, store):
        tally = Tally()
        grabber = await asyncio.create_subprocess_exec(
            sys.executable, "-c", GRAB_THE_LOCK_AGAIN_AND_AGAIN, str(path), stdout=asyncio.subprocess.PIPE
        )
        try:
            assert grabber.stdout is not None and await grabber.stdout.readline() == b"started\n"
            tries = await asyncio.gather(*(citizen(client, tally, apology, f"q{n}", ROUNDS) for n in range(CITIZENS)))
        finally:
            grabber.kill()
            await grabber.wait()
        most = max(max(t) for t in tries)
        print("\n" + tally.line("sqlite, write lock taken by another process") + f", most tries for one message {most}")
        assert tally.errors == 0 and tally.hangs == 0, tally.odd
        for n in range(CITIZENS):
            assert await post(client, Tally(), apology, f"q{n}", "hej", f"q{n}-after")
            assert await turns_of(store, f"q{n}") == ROUNDS * len(MESSAGES) + 1
