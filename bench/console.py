"""The eMentor console's speed: logging in, the day list, the live queue, the chat and a hand-over's page.

    python -m bench.console [--db sqlite|postgresql|both] [--postgres URL]

The app is the one `ementor run` serves (bot.app.build_app, config.yml's booking, hand-over and console
settings, the project's flows and a freshly trained model), started in this process behind aiohttp's
web.AppRunner and a TCPSite on 127.0.0.1: real sockets and real HTTP, its delivery worker running. The
client (aiohttp, a cookie jar like a browser's) shares the process and event loop, and sends one request at
a time. The database is a new SQLite file, or a PostgreSQL schema of its own that is dropped afterwards. The
bot's clock runs at real speed from Thursday 3 December 2026 10.00 Copenhagen time: a configured location
is open, so a citizen asking for a person joins the queue.

Measured, each after a few unmeasured warm-up rounds, on each database:
1. POST /login: the form's post alone (Argon2 checks the password, on purpose slow, in a thread);
2. GET /ementor/ (the day list) and its CSV, with 200 bookings that day over the configured locations,
   written straight through bot.booking.bookings.reserve;
3. the queue: a new citizen's REST message "jeg vil tale med en person", with an eMentor online, until the
   hand-over's `notice` event arrives on an open /ementor/events stream;
4. the chat, in a hand-over taken with POST /ementor/handovers/{id}/take: a citizen's REST message until its
   `message` event arrives on /ementor/events?handover=ID&after_message=N; and the eMentor's reply through
   POST /api/ementor/handovers/{id}/messages (session cookie and X-CSRF-Token) until the citizen's
   GET /webhooks/rest/messages returns it (the citizen polls every REPLY_POLL_SECONDS);
5. GET /ementor/handovers/{id} for that hand-over: 40 turns with the bot before it, and the chat above.

The event stream reads the database every POLL_SECONDS (bot/consoles/events.py), so 3 and 4 are mostly
that wait: each citizen writes after a random pause of 0 to POLL_SECONDS, landing anywhere in the stream's
cycle. Bounded in requests (about two minutes per database); only targets this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import random
import re
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import ROOT
from bench.processes import free_port
from bench.speed import percentile
from bot.app import build_app
from bot.booking import bookings
from bot.config import ClassifierSettings, DatabaseSettings, Settings, load_settings
from bot.consoles.auth import hash_password
from bot.consoles.events import POLL_SECONDS
from bot.core.clock import COPENHAGEN, utc_now
from bot.core.ports import Tx
from bot.core.statuses import BookingStatus
from bot.escalation import accounts
from bot.nlu.classifier import IntentModel
from bot.nlu.trainer import train_from_files
from bot.storage.migrate import upgrade_async
from bot.storage.store import Store

START = datetime(2026, 12, 3, 10, 0, tzinfo=COPENHAGEN)  # a Thursday; Gammel Køge Landevej is open 9-12
LOGINS = 20
DAY_BOOKINGS = 200
DAY_REQUESTS = 50
QUEUE_CITIZENS = 30
CHAT_MESSAGES = 30
PAGE_REQUESTS = 50
TRANSCRIPT_TURNS = 40  # what the hand-over page shows at most (bot/consoles/ementor_pages.py)
WARM_UP = 3  # unmeasured rounds before each measure (2 for the slow ones)
REPLY_POLL_SECONDS = 0.02
EVENT_TIMEOUT = 10.0
USERNAME, PASSWORD = "anna", "bench-hemmelig-42"
ASK = "jeg vil tale med en person"
# typed turns before asking for a person: the hand-over page's transcript ("start forfra" ends any flow)
SMALL_TALK = [
    "hej",
    "hvordan bestiller jeg en straffeattest",
    "tak",
    "jeg skal lave min ansøgning om til pdf",
    "hvordan logger jeg på borger.dk",
    "hvor finder jeg min digitale post",
    "tak for hjælpen",
    "start forfra",
]
TRIED = [
    {"flow": "mitid_login_problem", "step": "what_wrong", "outcome": "chose", "answer": "choice:1"},
    {"flow": "mitid_login_problem", "step": "pin", "outcome": "failed", "answer": "failed"},
]
_LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')
_META_CSRF = re.compile(r'<meta name="csrf" content="([^"]*)">')

Timings = dict[str, list[float]]  # measure -> seconds


class ShiftedClock:
    """Real time, started at START: the bot's clock (sessions, turns, the queue) moves as the run does."""

    def __init__(self, start: datetime) -> None:
        self.offset = start - utc_now()

    def __call__(self) -> datetime:
        return utc_now() + self.offset


# ---- databases ---------------------------------------------------------------------------------------------------
@asynccontextmanager
async def sqlite_store() -> AsyncIterator[Store]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/console.db"
        await upgrade_async(url)
        store = Store(url)
        try:
            yield store
        finally:
            await store.close()


@asynccontextmanager
async def postgres_store(url: str) -> AsyncIterator[Store]:
    """A fresh, migrated schema of its own on `url` (as tests/conftest.py's postgres_schema), dropped after."""
    schema = f"bench_console_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        await upgrade_async(url, schema)
        store = Store(url, schema)
        try:
            yield store
        finally:
            await store.close()
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def rows(store: Store, sql: str, **params: Any) -> list[dict[str, Any]]:
    async def read(tx: Tx) -> list[dict[str, Any]]:
        return [dict(r) for r in await tx.fetch(sql, **params)]

    return await store.transaction(read)


# ---- the server and a browser ------------------------------------------------------------------------------------
@asynccontextmanager
async def serve(settings: Settings, model: IntentModel, store: Store, clock: ShiftedClock) -> AsyncIterator[str]:
    """The app of `ementor run`, listening on 127.0.0.1; yields its base URL."""
    runner = web.AppRunner(build_app(settings, model, store, clock), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def body_of(response: aiohttp.ClientResponse, expected: int = 200) -> str:
    body = await response.text()
    if response.status != expected:
        raise RuntimeError(f"{response.method} {response.url}: HTTP {response.status}, {expected} expected:\n{body}")
    return body


async def timed_get(browser: aiohttp.ClientSession, path: str) -> tuple[float, str]:
    started = time.perf_counter()
    async with browser.get(path) as response:
        body = await body_of(response)
    return time.perf_counter() - started, body


async def login(browser: aiohttp.ClientSession) -> float:
    """Open the login page as a browser does (not timed), then send the form: the POST's time."""
    async with browser.get("/login") as response:
        found = _LOGIN_CSRF.search(await body_of(response))
    if found is None:
        raise RuntimeError("no login_csrf on /login")
    form = {"login_csrf": found.group(1), "username": USERNAME, "password": PASSWORD, "next": "/ementor/"}
    started = time.perf_counter()
    async with browser.post("/login", data=form, allow_redirects=False) as response:
        await body_of(response, 303)
    return time.perf_counter() - started


async def csrf_of(browser: aiohttp.ClientSession) -> str:
    async with browser.get("/ementor/queue") as response:
        found = _META_CSRF.search(await body_of(response))
    if found is None or not found.group(1):
        raise RuntimeError("no CSRF token on /ementor/queue")
    return found.group(1)


async def citizen_says(browser: aiohttp.ClientSession, sender: str, message: str) -> list[dict[str, Any]]:
    async with browser.post("/webhooks/rest/webhook", json={"sender": sender, "message": message}) as response:
        await body_of(response)
        reply: list[dict[str, Any]] = await response.json()
    return reply


@dataclass
class Event:
    kind: str
    data: Mapping[str, Any]
    at: float  # perf_counter() when it was read off the stream


class Stream:
    """An open /ementor/events request, read as it comes: each event stamped when it arrives."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, browser: aiohttp.ClientSession, path: str) -> Stream:
        response = await browser.get(path, timeout=aiohttp.ClientTimeout(total=None, sock_read=None))
        if response.status != 200 or response.content_type != "text/event-stream":
            raise RuntimeError(f"GET {path}: HTTP {response.status} {await response.text()}")
        return cls(response)

    async def _read(self) -> None:
        while True:
            block = await self.response.content.readuntil(b"\n\n")
            at = time.perf_counter()
            kind, data = "", ""
            for line in block.decode().splitlines():
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    data += line.removeprefix("data: ")
            if kind:  # not the opening retry/id, not a heartbeat comment
                self.events.put_nowait(Event(kind, json.loads(data or "{}"), at))

    async def wait_for(self, kind: str, match: Callable[[Mapping[str, Any]], bool]) -> Event:
        deadline = time.perf_counter() + EVENT_TIMEOUT
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0 or self.reader.done():
                raise RuntimeError(f"no matching {kind!r} event within {EVENT_TIMEOUT:.0f} s")
            try:
                event = await asyncio.wait_for(self.events.get(), remaining)
            except TimeoutError:
                continue
            if event.kind == kind and match(event.data):
                return event

    async def close(self) -> None:
        self.reader.cancel()
        self.response.close()


# ---- what is measured ------------------------------------------------------------------------------------------
async def add_ementor(store: Store, clock: ShiftedClock) -> None:
    hashed = hash_password(PASSWORD)

    async def work(tx: Tx) -> None:
        account_id, _ = await accounts.create_ementor(tx, "Anna Hansen", None, clock())
        await accounts.set_login(tx, account_id, USERNAME, "ementor", hashed)

    await store.transaction(work)


async def fill_day(store: Store, settings: Settings, clock: ShiftedClock) -> tuple[list[str], str]:
    """DAY_BOOKINGS booked citizens today, over every configured location at 30-minute starts from 9.00 to
    14.30; as many to a time as it takes (reserve checks places, not opening hours). Their references and
    the day."""
    locations = settings.booking.locations
    day = clock().astimezone(COPENHAGEN).date()
    starts = [
        datetime(day.year, day.month, day.day, 9, tzinfo=COPENHAGEN) + timedelta(minutes=30 * k) for k in range(12)
    ]
    capacity = math.ceil(DAY_BOOKINGS / (len(locations) * len(starts)))
    references = []
    for n in range(DAY_BOOKINGS):
        location = locations[n % len(locations)]
        start = starts[(n // len(locations)) % len(starts)]
        request = bookings.Request(
            kind="slot",
            resource=bookings.resource_of("slot", location.id, start),
            capacity=capacity,
            location=location.id,
            starts_at=start,
            ends_at=start + timedelta(minutes=location.slot_minutes),
            channel="rest",
            sender=f"booker-{n}",
            language="da" if n % 4 else "en",
            topic="mitid_login_problem",
            tried=TRIED,
            name=f"Borger{n}",
            phone=f"2{n:07d}",
        )

        async def book(tx: Tx, request: bookings.Request = request) -> bookings.BookingRow | None:
            return await bookings.reserve(tx, request, BookingStatus.BOOKED, clock())

        row = await store.transaction(book)
        if row is None:
            raise RuntimeError(f"booking {n} found no place")
        references.append(row["reference"])
    return references, day.isoformat()


async def measure(timings: Timings, name: str, count: int, warm: int, one: Callable[[int], Awaitable[float]]) -> None:
    for n in range(warm):
        await one(-1 - n)
    timings[name] = [await one(n) for n in range(count)]


async def handover_of(store: Store, sender: str) -> int:
    found = await rows(store, "SELECT id FROM handovers WHERE channel = 'rest' AND sender = :s ORDER BY id", s=sender)
    if not found:
        raise RuntimeError(f"{sender} was not queued")
    return int(found[-1]["id"])


async def scenario(settings: Settings, model: IntentModel, store: Store, pause: random.Random) -> tuple[Timings, str]:
    """Every measure on one database; the timings, and a line on what the hand-over page held."""
    clock = ShiftedClock(START)
    timings: Timings = {}
    await add_ementor(store, clock)
    references, day = await fill_day(store, settings, clock)
    async with (
        serve(settings, model, store, clock) as base,
        aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser,
    ):

        async def one_login(_: int) -> float:
            browser.cookie_jar.clear()  # a new browser: with a live session /login would only redirect
            return await login(browser)

        await measure(timings, "POST /login (Argon2)", LOGINS, 2, one_login)
        csrf = await csrf_of(browser)
        async with browser.post("/ementor/presence", data={"csrf": csrf, "online": "1"}, allow_redirects=False) as r:
            await body_of(r, 303)

        # the day list and its CSV: every booking on them
        _, page = await timed_get(browser, "/ementor/")
        _, sheet = await timed_get(browser, f"/ementor/day/{day}.csv")
        missing = [r for r in references if r not in page or r not in sheet]
        if missing:
            raise RuntimeError(f"{len(missing)} bookings missing from the day list or its CSV")

        async def day_page(_: int) -> float:
            return (await timed_get(browser, "/ementor/"))[0]

        async def day_csv(_: int) -> float:
            return (await timed_get(browser, f"/ementor/day/{day}.csv"))[0]

        await measure(timings, f"GET /ementor/ ({DAY_BOOKINGS} bookings)", DAY_REQUESTS, WARM_UP, day_page)
        await measure(timings, f"GET /ementor/day/{day}.csv", DAY_REQUESTS, WARM_UP, day_csv)

        # the live queue
        queue = await Stream.open(browser, "/ementor/events")
        try:

            async def queued(n: int) -> float:
                await asyncio.sleep(pause.uniform(0, POLL_SECONDS))
                sender = f"queue-{n + 10}"
                started = time.perf_counter()
                await citizen_says(browser, sender, ASK)
                number = await handover_of(store, sender)
                event = await queue.wait_for("notice", lambda d: d.get("handover") == number)
                return event.at - started

            await measure(timings, "queue: REST ask -> notice event", QUEUE_CITIZENS, 2, queued)
        finally:
            await queue.close()

        # a citizen who talked with the bot first, taken, then the chat both ways
        sender = "chatting-citizen"
        for turn in range(TRANSCRIPT_TURNS):
            await citizen_says(browser, sender, SMALL_TALK[turn % len(SMALL_TALK)])
        await citizen_says(browser, sender, ASK)
        number = await handover_of(store, sender)
        async with browser.post(f"/ementor/handovers/{number}/take", data={"csrf": csrf}, allow_redirects=False) as r:
            await body_of(r, 303)
        before = await rows(store, "SELECT MAX(id) AS n FROM handover_messages WHERE handover_id = :h", h=number)
        chat = await Stream.open(browser, f"/ementor/events?handover={number}&after_message={before[0]['n'] or 0}")
        try:

            async def citizen_writes(n: int) -> float:
                await asyncio.sleep(pause.uniform(0, POLL_SECONDS))
                said = f"besked {n + 10} fra borgeren"
                started = time.perf_counter()
                await citizen_says(browser, sender, said)
                event = await chat.wait_for("message", lambda d: d.get("text") == said)
                return event.at - started

            await measure(timings, "chat: citizen REST -> message event", CHAT_MESSAGES, 2, citizen_writes)
        finally:
            await chat.close()

        async def ementor_replies(n: int) -> float:
            said = f"svar {n + 10} fra Anna"
            started = time.perf_counter()
            async with browser.post(
                f"/api/ementor/handovers/{number}/messages", json={"text": said}, headers={"X-CSRF-Token": csrf}
            ) as response:
                await body_of(response, 201)
            while time.perf_counter() - started < EVENT_TIMEOUT:
                async with browser.get("/webhooks/rest/messages", params={"sender": sender}) as response:
                    handed: list[dict[str, Any]] = json.loads(await body_of(response))
                if any(said in m.get("text", "") for m in handed):
                    return time.perf_counter() - started
                await asyncio.sleep(REPLY_POLL_SECONDS)
            raise RuntimeError(f"the citizen never got {said!r}")

        await measure(timings, "chat: eMentor API reply -> citizen GET", CHAT_MESSAGES, 2, ementor_replies)

        # the hand-over's page: the transcript before it and the chat
        _, page = await timed_get(browser, f"/ementor/handovers/{number}")
        if "besked 10 fra borgeren" not in page or "hvordan bestiller jeg en straffeattest" not in page:
            raise RuntimeError("the hand-over page lacks the chat or the transcript")

        async def handover_page(_: int) -> float:
            return (await timed_get(browser, f"/ementor/handovers/{number}"))[0]

        await measure(timings, "GET /ementor/handovers/{id}", PAGE_REQUESTS, WARM_UP, handover_page)
    created = await rows(store, "SELECT created_at FROM handovers WHERE id = :h", h=number)
    turns = await rows(
        store,
        "SELECT COUNT(*) AS n FROM turns WHERE channel = 'rest' AND sender = :s AND created_at <= :t",
        s=sender,
        t=created[0]["created_at"],
    )
    messages = await rows(store, "SELECT COUNT(*) AS n FROM handover_messages WHERE handover_id = :h", h=number)
    shown = min(TRANSCRIPT_TURNS, int(turns[0]["n"]))
    return timings, f"hand-over page: {shown}-turn transcript, {messages[0]['n']} chat messages"


def print_table(title: str, timings: Timings, note: str) -> None:
    print(f"\n{title}")
    print(f"{'measure':<42}{'n':>4}{'p50 ms':>9}{'p99 ms':>9}")
    for name, values in timings.items():
        p50, p99 = 1000 * percentile(values, 0.5), 1000 * percentile(values, 0.99)
        print(f"{name:<42}{len(values):>4}{p50:>9.1f}{p99:>9.1f}")
    print(note, flush=True)


def bench_settings(store_url: str) -> Settings:
    """config.yml's settings (booking locations, hand-over, console), with no EMENTOR_* from the shell."""
    settings = load_settings(ROOT / "config.yml", environ={})
    return dataclasses.replace(settings, log_level="WARNING", database=DatabaseSettings(url=store_url))


async def run(name: str, open_store: Callable[[], Any], model: IntentModel) -> None:
    async with open_store() as store:
        timings, note = await scenario(bench_settings(store.url), model, store, random.Random(42))
    print_table(
        f"{name}: in-process `ementor run` app (build_app behind web.AppRunner/TCPSite on 127.0.0.1), "
        f"client in the same process; event stream polls every {POLL_SECONDS:g} s",
        timings,
        f"{note}; the citizen polls GET /webhooks/rest/messages every {1000 * REPLY_POLL_SECONDS:.0f} ms",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--postgres", default=os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    model = train_from_files([ROOT / "nlu_data"], ClassifierSettings())
    print(
        f"eMentor console, one eMentor, one request at a time; p50/p99 over n after warm-up rounds. The event "
        f"stream reads the database every POLL_SECONDS = {POLL_SECONDS:g} s, and each citizen writes after a "
        f"random 0-{POLL_SECONDS:g} s pause, so the queue and chat-to-eMentor figures are mostly that wait.",
        flush=True,
    )
    if args.db in ("sqlite", "both"):
        asyncio.run(run("SQLite", sqlite_store, model))
    if args.db in ("postgresql", "both"):
        asyncio.run(run("PostgreSQL", lambda: postgres_store(args.postgres), model))


if __name__ == "__main__":
    main()
