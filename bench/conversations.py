"""Conversation throughput through the REST channel, with real server processes and a real database.

    python -m bench.conversations [--rate 250] [--seconds 15] [--senders 50] [--postgres URL]

50 senders each run a scripted conversation (typed questions, button presses) against `ementor run`
processes on 127.0.0.1. Prints turns/s and latency for: one process on SQLite, one process on PostgreSQL,
two processes on the same PostgreSQL (requests alternate between them). Afterwards every conversation is
checked in the database: each sender's logged turns must be exactly the turns it sent, in order.
The load is bounded in time and count, and only targets this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import ROOT
from bench.processes import free_port, migrate, start_bot, stop_bots, temporary_postgres, write_config
from bench.speed import percentile

WARM_UP = 3.0  # seconds of load before latencies count

SCRIPT = [
    "hej",
    "hvordan bestiller jeg en straffeattest",
    "PRESS 0",
    "PRESS 0",
    "tak",
    "jeg skal lave min ansøgning om til pdf",
    "PRESS 2",
    "det virker ikke",
    "start forfra",
]


async def run_load(ports: list[int], senders: int, seconds: float, rate: float) -> tuple[list[float], dict[str, int]]:
    """Each sender sends at rate/senders turns per second (0: as fast as answers come back)."""
    latencies: list[float] = []
    sent: dict[str, int] = {}
    measure_from = time.perf_counter() + WARM_UP  # first conversations, pool and caches warm up first
    deadline = measure_from + seconds
    run_id = uuid.uuid4().hex[:6]

    async def citizen(session: aiohttp.ClientSession, number: int) -> None:
        sender = f"bench-{run_id}-{number}"
        sent[sender] = 0
        buttons: list[dict[str, str]] = []
        turn = 0
        interval = senders / rate if rate > 0 else 0.0
        next_at = time.perf_counter() + interval * number / senders  # spread the senders' first messages
        while time.perf_counter() < deadline:
            if interval:
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += interval
            line = SCRIPT[turn % len(SCRIPT)]
            message = line
            if line.startswith("PRESS"):
                index = int(line.split()[1])
                message = buttons[index]["payload"] if len(buttons) > index else "hej"
            port = ports[(number + turn) % len(ports)]
            started = time.perf_counter()
            async with session.post(
                f"http://127.0.0.1:{port}/webhooks/rest/webhook", json={"sender": sender, "message": message}
            ) as response:
                body: list[dict[str, Any]] = await response.json()
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}: {body}")
            if started >= measure_from:
                latencies.append(time.perf_counter() - started)
            sent[sender] += 1
            buttons = body[-1].get("buttons", []) if body else []
            turn += 1

    connector = aiohttp.TCPConnector(limit=senders)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(citizen(session, i) for i in range(senders)))
    return latencies, sent


async def check_consistency(database_url: str, sent: dict[str, int]) -> int:
    """Number of senders whose logged turns differ from what they sent (0 = consistent)."""
    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT sender, count(*) FROM turns GROUP BY sender"))).all()
    await engine.dispose()
    logged = {sender: count for sender, count in rows}
    return sum(1 for sender, count in sent.items() if logged.get(sender) != count)


def scenario(name: str, database_url: str, processes: int, args: argparse.Namespace, model: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        procs: list[subprocess.Popen[bytes]] = []
        stack.callback(stop_bots, procs)  # stops those started, even when a later one fails
        ports = []
        for _ in range(processes):
            port = free_port()
            procs.append(start_bot(write_config(Path(tmp) / f"config-{port}.yml", port, database_url, model), port))
            ports.append(port)
        latencies, sent = asyncio.run(run_load(ports, args.senders, args.seconds, args.rate))
        bad = asyncio.run(check_consistency(database_url, sent))
    turns = len(latencies)
    print(
        f"{name:<34}{turns / args.seconds:>9.0f}{1000 * percentile(latencies, 0.5):>9.1f}"
        f"{1000 * percentile(latencies, 0.99):>9.1f}{turns:>9}{bad:>13}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--rate", type=float, default=250.0, help="offered turns/s in all (0: closed loop, max)")
    parser.add_argument(
        "--postgres", default=os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    model = ROOT / "var" / "models" / "intent_model.npz"
    subprocess.run(  # its errors, if any, show on stderr
        [sys.executable, "-m", "bot", "nlu", "train", "--out", str(model)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    offered = f"{args.rate:.0f} turns/s offered" if args.rate else "closed loop (as fast as possible)"
    print(f"{args.senders} senders, {offered}, {args.seconds:.0f} s per scenario")
    print(f"{'scenario':<34}{'turns/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'turns':>9}{'inconsistent':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        migrate(sqlite_url)
        scenario("1 process, SQLite", sqlite_url, 1, args, model)
    with temporary_postgres(args.postgres, "ementor_bench") as pg_url:
        migrate(pg_url)
        scenario("1 process, PostgreSQL", pg_url, 1, args, model)
        scenario("2 processes, same PostgreSQL", pg_url, 2, args, model)
    print(json.dumps({"note": "inconsistent = senders whose logged turns differ from the turns they sent"}))


if __name__ == "__main__":
    main()
