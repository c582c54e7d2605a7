"""Load test: simulated citizens in realistic conversations against real bot processes on one PostgreSQL.

    python -m bench.load [--citizens 200] [--seconds 60] [--think 2.0] [--bookers 0.2]
                         [--targets direct,nginx] [--postgres URL]
    python -m bench.load --soak 3600          # the one-hour soak: the same load for an hour

`--citizens` citizens talk at once, through the REST channel, over 127.0.0.1, for `--seconds` seconds. Each
one visits again and again, `--think` seconds (on average) between messages, as a person reads and types:
a greeting, a topic typed in their own words, the guide's buttons pressed through their payloads, typed
answers ("ja", "nej", "1", "det virker ikke"), thanks. A share of them (`--bookers`, 20 %) books a time with
an eMentor on their first visit, through the booking flow to the confirmation with its reference: a time
among the first few offered (so citizens race for the two places of a slot), "Ja, book tiden" pressed or
"ja" typed, a first name, the phone number typed or skipped; a time taken meanwhile means choosing another.

Targets, each on a fresh PostgreSQL database of its own: `direct`, one `ementor run` process; `nginx`, two
processes behind Debian's nginx started from deploy/nginx/ (the deployment's own upstream and proxy
settings, bench/nginx.py). Printed per target: turns, turns/s, p50/p99 ms, errors (a dropped connection, a
status other than 2xx, no reply, or the "technical problem" apology), 500s, bookings confirmed to citizens,
double bookings checked in the database (a slot over its places, a citizen twice in one slot), confirmed
bookings the citizen was never told about (or told about without a row), and each bot process's resident
memory at the start, the middle and the end of the load.

Bounded in time and count; only targets this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import nginx
from bench.common import ROOT
from bench.processes import free_port, migrate, rss_mb, start_bot, stop_bots, temporary_postgres, write_config
from bench.speed import percentile
from bot.config import ClassifierSettings
from bot.core.statuses import LIVE_BOOKING, BookingStatus, sql_list
from bot.nlu.trainer import ensure_model

READY_TIMEOUT = 60.0
PLACES = 2  # per slot: citizens race for them
_DAY = '"8.00-20.00"'
BOOKING = f"""booking:
  days_ahead: 5
  min_notice_minutes: 30
  locations:
    - id: lab
      name: {{da: "Digitalt værksted", en: "Digital workshop"}}
      slot_minutes: 15
      places: {PLACES}
      hours: {{monday: {_DAY}, tuesday: {_DAY}, wednesday: {_DAY}, thursday: {_DAY}, friday: {_DAY},
              saturday: {_DAY}, sunday: {_DAY}}}
"""
TAKEN_STATUSES = sql_list((BookingStatus.HELD, *LIVE_BOOKING))  # what holds one of a slot's places
APOLOGY = "Prøv igen om et øjeblik"
BOOKED = "Reference:"  # in the confirmation, with the booking's reference
TAKEN = "taget lige før dig"
GREETINGS = ("hej", "godmorgen", "hej jeg har brug for hjælp", "hallo")
TOPICS = (
    "jeg kan ikke logge på mitid",
    "hvordan får jeg mitid",
    "jeg har glemt min pinkode til mitid",
    "hvordan læser jeg min digitale post",
    "jeg skal opdatere mit cv på jobnet",
    "hvordan udfylder jeg min joblog",
    "jeg skal lave min ansøgning om til pdf",
    "hvordan bestiller jeg en straffeattest",
    "min e-boks virker ikke",
    "jeg har fået et brev fra skat",
)
TYPED = ("ja", "nej", "1", "2", "det virker ikke", "det virkede", "næste")
THANKS = ("tak", "tak for hjælpen", "super tak")
NAMES = ("Anna", "Mohammed", "Birgitte", "Ole", "Fatima", "Jens")
AVOID = ("/talk_to_human", "/change_language", "/book_", "/more_topics", "/cancel")  # a topic visit stays a topic

Reply = list[dict[str, Any]]


@dataclass
class Figures:
    latencies: list[float] = field(default_factory=list)  # seconds, every turn
    errors: Counter[str] = field(default_factory=Counter)  # kind -> count
    samples: dict[str, str] = field(default_factory=dict)  # kind -> the first one seen
    confirmed: dict[str, str] = field(default_factory=dict)  # sender -> the reference it was told
    booking_started: int = 0
    booking_ends: Counter[str] = field(default_factory=Counter)  # how each booking visit ended
    rss: dict[str, list[float]] = field(default_factory=dict)  # moment -> MB per bot process
    restarts: list[float] = field(default_factory=list)  # seconds from SIGTERM to the new process ready
    proxy_errors: Counter[str] = field(default_factory=Counter)  # nginx's error log, by kind
    ports: list[int] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def turns(self) -> int:
        return len(self.latencies)


class Citizen:
    """One simulated person: sends, reads the reply, thinks, and goes on from what the bot said."""

    def __init__(self, session: aiohttp.ClientSession, url: str, sender: str, figures: Figures,
                 rng: random.Random, think: float, deadline: float) -> None:  # fmt: skip
        self.session, self.url, self.sender, self.figures = session, url, sender, figures
        self.rng, self.think, self.deadline = rng, think, deadline

    def running(self) -> bool:
        return time.perf_counter() < self.deadline

    async def say(self, message: str) -> Reply:
        """Wait as a person would, send `message`, count the turn; the reply ([] when it failed)."""
        await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.think)
        started = time.perf_counter()
        kind, detail, answer = "", "", []
        try:
            body = {"sender": self.sender, "message": message, "message_id": uuid.uuid4().hex}  # as the web chat
            async with self.session.post(self.url, json=body) as response:
                raw = await response.text()
                if response.status == 500:
                    kind, detail = "500", raw[:200]
                elif not 200 <= response.status < 300:
                    kind, detail = f"HTTP {response.status}", raw[:200]
                else:
                    answer = await response.json(content_type=None)
                    if not answer:
                        kind, detail = "no reply", message
                    elif APOLOGY in str(answer):
                        kind, detail = "apology", message
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            kind, detail = type(exc).__name__, str(exc)[:200]
        self.figures.latencies.append(time.perf_counter() - started)
        if kind:
            self.figures.errors[kind] += 1
            self.figures.samples.setdefault(kind, f"{message!r}: {detail}")
            return []
        return list(answer)

    async def live(self, booker: bool) -> None:
        first = True
        while self.running():
            if booker and first:
                await self.book()
            else:
                await self.topic()
            first = False
            await asyncio.sleep(self.rng.uniform(1.0, 3.0) * self.think)  # away between visits

    async def topic(self) -> None:
        if self.rng.random() < 0.7:
            await self.say(self.rng.choice(GREETINGS))
        reply = await self.say(self.rng.choice(TOPICS))
        for _ in range(self.rng.randint(2, 7)):
            if not self.running():
                return
            buttons = [b for b in buttons_of(reply) if not b["payload"].startswith(AVOID)]
            if not buttons:
                break
            if self.rng.random() < 0.75:
                reply = await self.say(self.rng.choice(buttons)["payload"])
            else:
                titles = " ".join(b["title"].lower() for b in buttons)
                typed = self.rng.choice(("ja", "nej")) if "ja" in titles else self.rng.choice(TYPED)
                reply = await self.say(typed)
        if self.rng.random() < 0.5:
            await self.say(self.rng.choice(THANKS))

    async def book(self) -> None:
        self.figures.booking_started += 1
        self.figures.booking_ends[await self.booking()] += 1

    async def booking(self) -> str:
        """To a confirmed booking, or as far as the time left allows; how it ended."""
        if self.rng.random() < 0.5:
            reply = await self.say("jeg vil gerne booke en tid hos en eMentor")
        else:
            greeting = await self.say("hej")
            reply = await self.say(first(greeting, "/book_ementor") or "/book_ementor")
        place = first(reply, "/book_place")
        if place is None:
            return "no place offered"
        reply = await self.say(place)
        for attempt in range(8):
            slots = [p for p in payloads(reply) if p.startswith("/book_slot")]
            if not self.running():
                return "time up"
            if not slots:
                return "no time offered"
            # the first times first (the ones citizens race for), then any time offered
            reply = await self.say(self.rng.choice(slots[:3] if attempt < 3 else slots))
            confirm = first(reply, "/book_confirm")
            if confirm is None:
                continue  # taken already: the reply offers the next free times
            reply = await self.say(confirm if self.rng.random() < 0.7 else "ja")
            if TAKEN in texts(reply):
                continue
            reply = await self.say(self.rng.choice(NAMES))
            skip = first(reply, "/skip")
            if skip is not None and self.rng.random() < 0.5:
                reply = await self.say(skip)
            else:
                reply = await self.say(f"2{self.rng.randint(0, 9999999):07d}")
            said = texts(reply)
            if BOOKED not in said:
                return "no confirmation"
            self.figures.confirmed[self.sender] = said.split(BOOKED, 1)[1].split()[0]
            return "confirmed"
        self.figures.samples.setdefault("booking given up", texts(reply)[:300].replace("\n", " | "))
        return "taken 8 times"


def buttons_of(reply: Reply) -> list[dict[str, str]]:
    return [b for r in reply for b in r.get("buttons", []) if "payload" in b]


def payloads(reply: Reply) -> list[str]:
    return [b["payload"] for b in buttons_of(reply)]


def first(reply: Reply, prefix: str) -> str | None:
    return next((p for p in payloads(reply) if p.startswith(prefix)), None)


def texts(reply: Reply) -> str:
    return "\n".join(r.get("text", "") for r in reply)


async def warm_up(ports: list[int]) -> None:
    """A few turns on each process before anything is measured: the model and the pools are ready, so the
    memory at the start is a serving process's."""
    async with aiohttp.ClientSession() as session:
        for port in ports:
            for n, message in enumerate(("hej", *TOPICS[:3], '/book_place{"location":"lab"}')):
                url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
                async with session.post(url, json={"sender": f"warm-{port}-{n}", "message": message}) as response:
                    await response.read()


async def load(url: str, processes: Bots, args: argparse.Namespace, run_id: str) -> Figures:
    figures = Figures()
    rng = random.Random(args.seed)
    started = time.perf_counter()
    deadline = started + args.seconds
    bookers = set(rng.sample(range(args.citizens), round(args.bookers * args.citizens)))
    connector = aiohttp.TCPConnector(limit=args.citizens)
    timeout = aiohttp.ClientTimeout(total=60)
    figures.rss["start"] = [rss_mb(pid) for pid in processes.pids()]
    rolling = args.restart and len(processes.procs) > 1  # one process alone cannot restart without downtime
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        people = [
            Citizen(session, url, f"load-{run_id}-{n}", figures, random.Random(rng.random()), args.think, deadline)
            for n in range(args.citizens)
        ]
        tasks = [asyncio.create_task(c.live(n in bookers)) for n, c in enumerate(people)]
        trail = asyncio.create_task(sample_memory(figures, processes, args.seconds))
        restarts = asyncio.create_task(restart_each(figures, processes, args.seconds) if rolling else noop())
        await asyncio.gather(*tasks)
        trail.cancel()
        await restarts
    figures.seconds = time.perf_counter() - started
    figures.rss["end"] = [rss_mb(pid) for pid in processes.pids()]
    return figures


async def noop() -> None:
    return None


async def restart_each(figures: Figures, processes: Bots, seconds: float) -> None:
    """Each process restarted in turn, evenly spaced over the run, the next once the last one listens again:
    the rolling upgrade of deploy/upgrade.md under load."""
    count = len(processes.procs)
    begun = time.perf_counter()
    for index in range(count):
        await asyncio.sleep(max(0.0, begun + (index + 1) * seconds / (count + 1) - time.perf_counter()))
        started = time.perf_counter()
        await asyncio.to_thread(processes.restart, index)
        figures.restarts.append(time.perf_counter() - started)


async def sample_memory(figures: Figures, processes: Bots, seconds: float) -> None:
    """Resident memory in the middle, and every tenth of the run (a soak's trail)."""
    for tenth in range(1, 10):
        await asyncio.sleep(seconds / 10)
        figures.rss[f"{tenth * 10} %"] = [rss_mb(pid) for pid in processes.pids()]
        if tenth == 5:
            figures.rss["middle"] = figures.rss["50 %"]


async def check_bookings(database_url: str, run_id: str, figures: Figures) -> dict[str, int]:
    """Double bookings and confirmations, straight from the database."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            over = await conn.scalar(
                text(
                    f"SELECT COUNT(*) FROM (SELECT resource FROM bookings WHERE status IN {TAKEN_STATUSES} "
                    "GROUP BY resource HAVING COUNT(*) > :places) AS o"
                ),
                {"places": PLACES},
            )
            twice = await conn.scalar(
                text(
                    f"SELECT COUNT(*) FROM (SELECT resource FROM bookings WHERE status IN {TAKEN_STATUSES} "
                    "GROUP BY resource, channel, sender HAVING COUNT(*) > 1) AS t"
                )
            )
            rows = (
                await conn.execute(
                    text("SELECT sender, reference FROM bookings WHERE status = :booked AND sender LIKE :mine"),
                    {"booked": BookingStatus.BOOKED.value, "mine": f"load-{run_id}-%"},
                )
            ).all()
    finally:
        await engine.dispose()
    booked = {str(sender): str(reference) for sender, reference in rows}
    untold = sum(1 for sender, ref in booked.items() if figures.confirmed.get(sender) != ref)
    phantom = sum(1 for sender, ref in figures.confirmed.items() if booked.get(sender) != ref)
    return {"over capacity": int(over or 0), "twice": int(twice or 0), "booked": len(booked),
            "untold": untold, "phantom": phantom}  # fmt: skip


class Bots:
    """Bot processes on one database, each with its config and port; one can be restarted (as an upgrade
    does, deploy/upgrade.md) while the others go on."""

    def __init__(self, folder: Path, database_url: str, model: Path, count: int) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.ports = [free_port() for _ in range(count)]
        self.configs = [
            write_config(folder / f"config-{port}.yml", port, database_url, model, BOOKING) for port in self.ports
        ]
        try:
            for config, port in zip(self.configs, self.ports, strict=True):
                self.procs.append(start_bot(config, port))
        except BaseException:
            self.stop()
            raise

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def restart(self, index: int) -> None:
        """SIGTERM (the process finishes its turns in flight), then a new process on the same port, once its
        /ready answers 200 (as deploy/upgrade.md waits before the next)."""
        stop_bots([self.procs[index]])
        self.procs[index] = start_bot(self.configs[index], self.ports[index])
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.ports[index]}/ready", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the process on port {self.ports[index]} was not ready in {READY_TIMEOUT:.0f} s")
            time.sleep(0.1)

    def stop(self) -> None:
        stop_bots(self.procs)


def target(name: str, args: argparse.Namespace, model: Path) -> tuple[Figures, dict[str, int]]:
    run_id = uuid.uuid4().hex[:6]
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        database_url = stack.enter_context(temporary_postgres(args.postgres, "ementor_load"))
        migrate(database_url, write_config(folder / "migrate.yml", 1, database_url, model))
        processes = Bots(folder, database_url, model, 1 if name == "direct" else 2)
        stack.callback(processes.stop)
        ports = processes.ports
        if name == "direct":
            url = f"http://127.0.0.1:{ports[0]}/webhooks/rest/webhook"
        else:
            listen = free_port()
            proxy = nginx.start(nginx.loopback_config(folder / "nginx", listen, ports), listen)
            stack.callback(nginx.stop, proxy)
            url = f"http://127.0.0.1:{listen}/webhooks/rest/webhook"
        asyncio.run(warm_up(ports))
        figures = asyncio.run(load(url, processes, args, run_id))
        bookings = asyncio.run(check_bookings(database_url, run_id, figures))
        if name == "nginx":
            figures.proxy_errors = nginx.error_summary(folder / "nginx")
            figures.ports = ports
    return figures, bookings


LABELS = {"direct": "1 process, direct", "nginx": "2 processes behind nginx"}


def report(name: str, f: Figures, b: dict[str, int]) -> None:
    print(f"\n{LABELS[name]}", flush=True)
    lat = f.latencies
    print(
        f"  turns {f.turns}, {f.turns / f.seconds:.1f} turns/s, p50 {1000 * percentile(lat, 0.5):.1f} ms, "
        f"p99 {1000 * percentile(lat, 0.99):.1f} ms"
    )
    print(f"  errors {sum(f.errors.values())} {dict(f.errors) or ''}, 500s {f.errors.get('500', 0)}")
    for kind, sample in f.samples.items():
        print(f"    first {kind}: {sample}")
    print(
        f"  bookings: {f.booking_started} started, {len(f.confirmed)} confirmed to the citizen, {b['booked']} in the"
        f" database; how the visits ended: {dict(f.booking_ends)}"
    )
    print(
        f"  double bookings: slots over {PLACES} places {b['over capacity']}, a citizen twice in a slot"
        f" {b['twice']}; booked but never told {b['untold']}, told without a booking {b['phantom']}"
    )
    if f.proxy_errors:
        print(f"  nginx's error log: {dict(f.proxy_errors.most_common(8))}")
    if f.restarts:
        steps = ", ".join(f"{s:.1f} s" for s in f.restarts)
        print(f"  ports {', '.join(map(str, f.ports))}; restarted one at a time: {steps} from SIGTERM to /ready")
    for moment, values in f.rss.items():
        if moment in ("start", "middle", "end"):
            print(f"  resident memory at the {moment:<6}: {'  '.join(f'{mb:.0f} MB' for mb in values)}")
    trail = [f.rss[k] for k in f.rss if k.endswith("%")]
    if trail:
        print(f"  every tenth (first process): {' '.join(f'{m[0]:.0f}' for m in trail)} MB")


def table(results: list[tuple[str, Figures, dict[str, int]]]) -> None:
    print(
        f"\n{'target':<26}{'turns':>7}{'turns/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}{'500s':>6}"
        f"{'booked':>8}{'double':>7}{'untold':>7}  RSS MB start→middle→end"
    )
    for name, f, b in results:
        rss = ", ".join(
            f"{s:.0f}→{m:.0f}→{e:.0f}"
            for s, m, e in zip(f.rss["start"], f.rss.get("middle", f.rss["end"]), f.rss["end"], strict=True)
        )
        print(
            f"{LABELS[name]:<26}{f.turns:>7}{f.turns / f.seconds:>9.1f}{1000 * percentile(f.latencies, 0.5):>8.1f}"
            f"{1000 * percentile(f.latencies, 0.99):>8.1f}{sum(f.errors.values()):>7}{f.errors.get('500', 0):>6}"
            f"{b['booked']:>8}{b['over capacity'] + b['twice']:>7}{b['untold'] + b['phantom']:>7}  {rss}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--citizens", type=int, default=200, help="citizens talking at once")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long each target is loaded")
    parser.add_argument("--soak", type=float, metavar="SECONDS", help="the soak: --seconds, usually 3600")
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds between a citizen's messages")
    parser.add_argument("--bookers", type=float, default=0.2, help="share of citizens who book a time")
    parser.add_argument("--targets", default="direct,nginx", help="direct (1 process), nginx (2 behind nginx)")
    parser.add_argument(
        "--restart",
        action="store_true",
        help="restart each process behind nginx in turn during the run (the rolling upgrade of deploy/upgrade.md)",
    )
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--postgres", default=os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    if args.soak:
        args.seconds = args.soak
    names = [n.strip() for n in args.targets.split(",") if n.strip()]
    if unknown := [n for n in names if n not in LABELS]:
        parser.error(f"unknown target {unknown[0]}: direct, nginx")
    if "nginx" in names and nginx.binary() is None:
        raise SystemExit("nginx is not installed: apt-get install -y nginx (or --targets direct)")
    print(
        f"{args.citizens} citizens, {args.think:.1f} s between messages on average, {100 * args.bookers:.0f} % "
        f"booking; {args.seconds:.0f} s per target; {os.cpu_count()} CPUs shared with the load generator"
    )
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model.npz"
        ensure_model(model, [ROOT / "nlu_data"], ClassifierSettings())
        for name in names:
            figures, bookings = target(name, args, model)
            report(name, figures, bookings)
            results.append((name, figures, bookings))
    table(results)
    bad = any(sum(f.errors.values()) or b["over capacity"] or b["twice"] or b["untold"] for _, f, b in results)
    if bad:
        raise SystemExit("FAILED: errors, a double booking, or a booking the citizen was not told about")


if __name__ == "__main__":
    main()
