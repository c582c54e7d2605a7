"""Database faults under a stream of citizens, with the figures issue 14 asked for: requests tried, 500s,
hangs, lost replies, per database.

    python -m bench.faults [--requests 1100] [--postgres postgresql+asyncpg://…]

Each scenario runs the whole app in this process against a fresh database (PostgreSQL: a schema of its own
on --postgres or TEST_DATABASE_URL), with the test bounds (connect 1 s, statement 1 s, deadline 3 s), and
8 citizens who write a short conversation over and over, each message with its own message id, pressing
"Prøv igen" after an apology until answered:

- postgresql, killed: every connection of the bot terminated (pg_terminate_backend) every 1.5 s, as in
  the issue's probe (it gave 19 × 500 in 1,104 requests);
- postgresql, hung: the TCP proxy in front of PostgreSQL stops forwarding for 4 s every 8 s;
- sqlite, locked: another process takes the write lock again and again, for 0.1 to 4 s.

"lost replies" counts messages answered but not in the turn log exactly once (none may be lost, none run
twice). A hang is an answer slower than three times the deadline. Loopback only, bounded in count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.engine import make_url

from bench.common import ROOT
from bot.app import RUNTIME_KEY, build_app
from bot.config import ClassifierSettings
from bot.nlu.classifier import IntentModel
from bot.nlu.trainer import train_from_files
from bot.storage.migrate import upgrade_async
from bot.storage.store import Store
from tests.conftest import postgres_schema
from tests.faults.helpers import BOUNDS, MESSAGES, Client, PausableProxy, Tally, citizen, fault_settings
from tests.faults.test_database_faults import GRAB_THE_LOCK_AGAIN_AND_AGAIN

CITIZENS = 8
Fault = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@asynccontextmanager
async def bot_on(url: str, schema: str | None, model: IntentModel) -> AsyncIterator[tuple[Client, str, Store]]:
    store = Store(url, schema, BOUNDS)
    try:
        async with TestClient(TestServer(build_app(fault_settings(), model, store))) as client:
            yield client, client.app[RUNTIME_KEY].apology, store
    finally:
        await store.close()


async def stream(client: Client, apology: str, store: Store, fault: Fault, requests: int) -> tuple[Tally, int]:
    """Citizens writing while `fault` runs; the tally and the number of lost replies."""
    tally, stop = Tally(), asyncio.Event()
    rounds = max(1, requests // (CITIZENS * len(MESSAGES)))
    injecting = asyncio.create_task(fault(stop))
    try:
        await asyncio.gather(*(citizen(client, tally, apology, f"f{n}", rounds) for n in range(CITIZENS)))
    finally:
        stop.set()
        await injecting
    lost = 0
    for n in range(CITIZENS):
        logged = len(await store.recent_turns("rest", f"f{n}", limit=100_000))
        lost += abs(logged - rounds * len(MESSAGES))
    return tally, lost


async def postgres_killed(admin_url: str, model: IntentModel, requests: int) -> tuple[Tally, int]:
    async with postgres_schema() as (url, schema), bot_on(url, schema, model) as (client, apology, store):

        async def kill(stop: asyncio.Event) -> None:
            admin = await asyncpg.connect(make_url(admin_url).set(drivername="postgresql").render_as_string(False))
            try:
                while not stop.is_set():
                    await asyncio.sleep(1.5)
                    await admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                        f"ementor-bot:{schema}",
                    )
            finally:
                await admin.close()

        return await stream(client, apology, store, kill, requests)


async def postgres_hung(admin_url: str, model: IntentModel, requests: int) -> tuple[Tally, int]:
    real = make_url(admin_url)
    proxy = PausableProxy(real.host or "127.0.0.1", real.port or 5432)
    async with postgres_schema() as (url, schema), proxy.running():
        proxied = make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        async with bot_on(proxied, schema, model) as (client, apology, store):

            async def hang(stop: asyncio.Event) -> None:
                while not stop.is_set():
                    await asyncio.sleep(4)
                    proxy.pause()
                    await asyncio.sleep(4)
                    proxy.resume()

            return await stream(client, apology, store, hang, requests)


async def sqlite_locked(model: IntentModel, requests: int) -> tuple[Tally, int]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "faults.db"
        url = f"sqlite+aiosqlite:///{path}"
        await upgrade_async(url)
        async with bot_on(url, None, model) as (client, apology, store):

            async def lock(stop: asyncio.Event) -> None:
                grabber = await asyncio.create_subprocess_exec(
                    sys.executable, "-c", GRAB_THE_LOCK_AGAIN_AND_AGAIN, str(path), stdout=asyncio.subprocess.PIPE
                )
                try:
                    await stop.wait()
                finally:
                    grabber.kill()
                    await grabber.wait()

            return await stream(client, apology, store, lock, requests)


async def main(requests: int, postgres: str | None) -> None:
    model = train_from_files([ROOT / "nlu_data"], ClassifierSettings())
    scenarios: list[tuple[str, Callable[[], Awaitable[tuple[Tally, int]]]]] = []
    if postgres:
        os.environ["TEST_DATABASE_URL"] = postgres  # postgres_schema() reads it
        scenarios += [
            ("postgresql, connections killed every 1.5 s", lambda: postgres_killed(postgres, model, requests)),
            ("postgresql, hung 4 s of every 8 s", lambda: postgres_hung(postgres, model, requests)),
        ]
    scenarios.append(("sqlite, write lock held by another process", lambda: sqlite_locked(model, requests)))
    print(
        f"{'scenario':46} {'tried':>6} {'answered':>8} {'503':>5} {'500s':>5} {'hangs':>5} {'lost':>5} {'slowest':>8}"
    )
    for name, run in scenarios:
        started = time.perf_counter()
        tally, lost = await run()
        print(
            f"{name:46} {tally.tried:6d} {tally.answered:8d} {tally.apologies:5d} {tally.errors:5d} "
            f"{tally.hangs:5d} {lost:5d} {tally.slowest:7.2f}s  ({time.perf_counter() - started:.0f} s)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1100, help="messages per scenario (default 1100)")
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL"), help="PostgreSQL URL")
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.postgres))
