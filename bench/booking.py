"""Bookings under a race, with real server processes and a real database; and the delivery worker's throughput.

    python -m bench.booking [--rounds 20] [--citizens 50] [--postgres URL]

Races: `ementor run` processes offer one place per 5-minute slot at a test location. For each of `rounds`
different slots, `citizens` new citizens all press "Ja, book tiden" (`/book_confirm`) for that slot at the same
moment, through the REST channel. Exactly one of them may get it, every time; the others are told it was
taken. Scenarios: one process on SQLite, one on PostgreSQL, two processes on one PostgreSQL database (the
citizens alternate between them). Afterwards the live bookings are counted in the database, per slot.

Delivery: DELIVERIES due outbox rows (Telegram) sent by one, then two delivery workers in this process (each
on its own connection pool, as two bot processes would be), on SQLite and PostgreSQL, with a sender that only
records; messages/s from the first claim to the last outcome written, and how many were sent twice.

Bounded in requests and time (about a minute and a half); only targets this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import ROOT
from bench.processes import free_port, migrate, start_bot, stop_bots, temporary_postgres, write_config
from bench.speed import percentile
from bot.booking.availability import parse_local
from bot.booking.bookings import resource_of
from bot.config import ClassifierSettings, DeliverySettings
from bot.core.clock import utc_now
from bot.core.messages import Outbound
from bot.core.payloads import parse_payload
from bot.core.ports import Tx
from bot.delivery.outbox import count_by_status, enqueue
from bot.delivery.worker import DeliveryWorker
from bot.nlu.trainer import ensure_model
from bot.storage.migrate import upgrade
from bot.storage.store import Store

_DAY = '"0.00-23.30"'
BOOKING = f"""booking:
  days_ahead: 3
  min_notice_minutes: 0
  locations:
    - id: lab
      name: {{da: "Testværksted", en: "Test workshop"}}
      slot_minutes: 5
      places: 1
      hours: {{monday: {_DAY}, tuesday: {_DAY}, wednesday: {_DAY}, thursday: {_DAY}, friday: {_DAY},
              saturday: {_DAY}, sunday: {_DAY}}}
"""
AHEAD = timedelta(minutes=15)  # race only for slots this far ahead: none may start during the benchmark
DELIVERIES = 2000
RECIPIENTS = 200
WON, TAKEN = "fornavn", "taget lige før dig"  # in the reply to the one who got it / to everyone else

Reply = list[dict[str, Any]]


@dataclass
class Races:
    latencies: list[float] = field(default_factory=list)  # each confirm request, seconds
    walls: list[float] = field(default_factory=list)  # each race, first request sent to last answer read
    resources: list[str] = field(default_factory=list)  # each race's slot
    won: list[int] = field(default_factory=list)  # replies telling a citizen the place is theirs
    lost: list[int] = field(default_factory=list)  # replies telling a citizen it was taken


async def post(session: aiohttp.ClientSession, port: int, sender: str, message: str) -> Reply:
    url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
    async with session.post(url, json={"sender": sender, "message": message}) as response:
        if response.status != 200:
            return [{"text": f"HTTP {response.status}: {await response.text()}"}]
        body: Reply = await response.json()
        return body


def payloads(reply: Reply) -> list[str]:
    return [b["payload"] for r in reply for b in r.get("buttons", [])]


def texts(reply: Reply) -> str:
    return "\n".join(r.get("text", "") for r in reply)


async def future_slots(session: aiohttp.ClientSession, port: int, count: int) -> list[tuple[str, str]]:
    """(confirm payload, resource) of the next `count` free slots at least AHEAD from now, as the bot lists
    them ("Senere tider" until there are enough)."""
    horizon = utc_now() + AHEAD
    found: list[tuple[str, str]] = []
    message = '/book_place{"location":"lab"}'
    scout = f"scout-{uuid.uuid4().hex[:6]}"
    while len(found) < count:
        buttons = payloads(await post(session, port, scout, message))
        for payload in buttons:
            parsed = parse_payload(payload)
            start = parse_local(parsed[1].get("start", "")) if parsed and parsed[0] == "book_slot" else None
            if start is not None and start >= horizon:
                found.append((payload.replace("/book_slot", "/book_confirm", 1), resource_of("slot", "lab", start)))
        later = [p for p in buttons if p.startswith("/book_later")]
        if not later:
            raise RuntimeError(f"only {len(found)} free slots listed, {count} needed")
        message = later[0]
    return found[:count]


async def run_races(ports: list[int], rounds: int, citizens: int) -> Races:
    run = uuid.uuid4().hex[:6]
    races = Races()
    connector = aiohttp.TCPConnector(limit=citizens)
    async with aiohttp.ClientSession(connector=connector) as session:
        slots = await future_slots(session, ports[0], rounds)
        for warm in range(2):  # connections, pools and caches: the same load, without booking
            await asyncio.gather(
                *(
                    post(session, ports[n % len(ports)], f"warm-{run}-{warm}-{n}", '/book_place{"location":"lab"}')
                    for n in range(citizens)
                )
            )

        async def citizen(port: int, sender: str, confirm: str) -> Reply:
            started = time.perf_counter()
            reply = await post(session, port, sender, confirm)
            races.latencies.append(time.perf_counter() - started)
            return reply

        for number, (confirm, resource) in enumerate(slots):
            started = time.perf_counter()
            replies = await asyncio.gather(
                *(citizen(ports[n % len(ports)], f"c-{run}-{number}-{n}", confirm) for n in range(citizens))
            )
            races.walls.append(time.perf_counter() - started)
            races.resources.append(resource)
            races.won.append(sum(WON in texts(r) for r in replies))
            races.lost.append(sum(TAKEN in texts(r) for r in replies))
    return races


async def live_bookings(database_url: str) -> Counter[str]:
    """Live bookings (held or booked) per resource."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT resource, COUNT(*) FROM bookings WHERE status IN ('held', 'booked') GROUP BY resource")
                )
            ).all()
    finally:
        await engine.dispose()
    return Counter({str(resource): int(count) for resource, count in rows})


def race_scenario(name: str, database_url: str, processes: int, args: argparse.Namespace, model: Path) -> bool:
    """Print one line; whether every race ended with exactly one booking."""
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        procs: list[subprocess.Popen[bytes]] = []
        stack.callback(stop_bots, procs)
        ports = []
        for _ in range(processes):
            port = free_port()
            config = write_config(Path(tmp) / f"config-{port}.yml", port, database_url, model, BOOKING)
            procs.append(start_bot(config, port))
            ports.append(port)
        races = asyncio.run(run_races(ports, args.rounds, args.citizens))
    live = asyncio.run(live_bookings(database_url))
    per_slot = [live[resource] for resource in races.resources]
    bad = sum(
        1
        for booked, won, lost in zip(per_slot, races.won, races.lost, strict=True)
        if booked != 1 or won != 1 or lost != args.citizens - 1
    )
    total = sum(live.values())
    print(
        f"{name:<30}{len(races.walls):>6}{f'{min(per_slot)} / {max(per_slot)}':>11}{bad:>5}"
        f"{1000 * percentile(races.latencies, 0.5):>9.1f}{1000 * percentile(races.latencies, 0.99):>9.1f}"
        f"{1000 * statistics.mean(races.walls):>9.1f}{total:>6}",
        flush=True,
    )
    return bad == 0 and total == len(races.walls)


# ---- delivery ------------------------------------------------------------------------------------------------


class Recorder:
    """A Telegram sender that records each message's text and sends nothing."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, recipient: str, messages: list[Outbound]) -> str | None:
        self.sent.extend(m.text for m in messages)
        return None


async def deliver(database_url: str, workers: int) -> tuple[float, int, int]:
    """(messages/s, sends of a message sent before, rows not `sent` at the end) for DELIVERIES due rows and
    `workers` workers ticking back to back."""
    stores = [Store(database_url) for _ in range(workers)]
    try:
        now = utc_now()

        async def fill(tx: Tx) -> None:
            for n in range(DELIVERIES):
                due = now - timedelta(minutes=1)
                await enqueue(tx, "reminder", "telegram", f"chat{n % RECIPIENTS}", [Outbound(f"d{n}")], due, now)

        await stores[0].transaction(fill)
        recorders = [Recorder() for _ in stores]
        pool = [DeliveryWorker(s, {"telegram": r}, DeliverySettings()) for s, r in zip(stores, recorders, strict=True)]
        started = time.perf_counter()
        deadline = started + 60
        while time.perf_counter() < deadline and sum(len(r.sent) for r in recorders) < DELIVERIES:
            await asyncio.gather(*(w.run_once() for w in pool))
        elapsed = time.perf_counter() - started
        await asyncio.gather(*(w.run_once() for w in pool))  # nothing may be left to send (again)
        statuses = await stores[0].transaction(count_by_status)
    finally:
        for store in stores:
            await store.close()
    texts = [t for r in recorders for t in r.sent]
    return len(texts) / elapsed, len(texts) - len(set(texts)), DELIVERIES - statuses.get("sent", 0)


@contextmanager
def temporary_sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite+aiosqlite:///{tmp}/outbox.db"


def delivery_scenario(name: str, fresh_database: Callable[[], AbstractContextManager[str]]) -> bool:
    """Print one line per worker count; whether every row was sent exactly once."""
    ok = True
    for workers in (1, 2):
        with fresh_database() as url:
            upgrade(url)
            rate, twice, missing = asyncio.run(deliver(url, workers))
        label = f"{name}, {workers} worker{'s' if workers > 1 else ''}"
        print(f"{label:<30}{rate:>12.0f}{twice:>12}{missing:>9}", flush=True)
        ok = ok and twice == 0 and missing == 0
    return ok


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20, help="races, each for a different slot")
    parser.add_argument("--citizens", type=int, default=50, help="citizens in each race")
    parser.add_argument(
        "--postgres", default=os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model.npz"
        ensure_model(model, [ROOT / "nlu_data"], ClassifierSettings())
        print(f"{args.rounds} races, {args.citizens} citizens on one place each (bookings/slot must be 1 / 1)")
        print(
            f"{'scenario':<30}{'races':>6}{'per slot':>11}{'bad':>5}{'p50 ms':>9}{'p99 ms':>9}{'ms/race':>9}{'live':>6}"
        )
        sqlite_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        migrate(sqlite_url)
        ok &= race_scenario("1 process, SQLite", sqlite_url, 1, args, model)
        for name, processes in (("1 process, PostgreSQL", 1), ("2 processes, same PostgreSQL", 2)):
            with temporary_postgres(args.postgres, "ementor_bench") as pg_url:
                migrate(pg_url)
                ok &= race_scenario(name, pg_url, processes, args, model)

    print(f"\n{DELIVERIES} due Telegram messages, {RECIPIENTS} recipients, recording sender")
    print(f"{'delivery':<30}{'messages/s':>12}{'duplicates':>12}{'missing':>9}")

    ok &= delivery_scenario("SQLite", temporary_sqlite)
    ok &= delivery_scenario("PostgreSQL", lambda: temporary_postgres(args.postgres, "ementor_bench"))
    print(
        json.dumps(
            {
                "note": "per slot = live bookings per raced slot (min / max); bad = races without exactly one "
                "winner and citizens-1 told it was taken; p50/p99 = confirm requests; live = live bookings in "
                "the database afterwards (must equal races)"
            }
        )
    )
    if not ok:
        raise SystemExit("FAILED: a double booking, a lost booking, or a message sent twice or not at all")


if __name__ == "__main__":
    main()
