"""The zero-downtime model swap under load, with real bot processes and a real database.

    python -m bench.model_swap [--senders 50] [--rate 250] [--seconds 10] [--swaps 20] [--postgres URL]
                               [--no-training]

50 senders send typed turns through the REST channel of `ementor run` processes on 127.0.0.1 (250 turns/s
offered in all) while the active model is swapped `--swaps` times, alternating two versions kept in the
database (the project's model, and the same data plus three phrases that teach it "blåbærgrød med kanel").
Each swap is an activation as the admin console makes it (bot/nlu/registry.py, from this process's own
connection); the time is measured until every process answers that probe with the new version over
/model/parse. Printed per scenario (SQLite, PostgreSQL, two processes on one PostgreSQL):

- failed turns (HTTP error, no reply, the "technical problem" apology, a dropped connection): must be 0;
- turn latency p50 / p99 without swaps, during the swaps, and during a training job (the bot process's own
  worker takes it and trains in a child process, as when an admin presses "Træn en ny model");
- the time from activation to every process answering with the new version (median / max);
- resident memory of each bot process (VmRSS from its /proc/PID/status) before and after the swaps;
- turns/s achieved per phase and the machine's load average at the start and the end of the scenario: when
  the machine is busy with other work, fewer turns than offered get through and every phase's latency is
  queueing, so compare the phases of one scenario, not figures from different runs.

The load is bounded in time and count, and only targets this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.common import ROOT
from bench.processes import free_port, migrate, rss_mb, start_bot, stop_bots, temporary_postgres, write_config
from bench.speed import percentile
from bot.config import ClassifierSettings
from bot.core.clock import utc_now as now
from bot.core.ports import Tx
from bot.core.statuses import JobStatus
from bot.nlu import jobs, registry
from bot.nlu.model_store import model_to_bytes
from bot.nlu.trainer import train_from_files
from bot.nlu.training_data import load_training_data
from bot.storage.store import Store

WARM_UP = 3.0
SETTLE = 0.5  # seconds of load after each swap before the next
SWAP_LIMIT = 5.0  # the promise: every process answers with the new version within 5 s
PROBE = "blåbærgrød med kanel"
TAUGHT_INTENT = "pdf_convert"
TAUGHT = [(PROBE, TAUGHT_INTENT), ("blåbærgrød", TAUGHT_INTENT), ("grød med kanel og blåbær", TAUGHT_INTENT)]
MESSAGES = (
    "hej",
    "jeg kan ikke logge på mitid",
    "start forfra",
    "hvordan bestiller jeg en straffeattest",
    "tak",
    PROBE,
    "min e-boks virker ikke",
    "stop",
)
APOLOGY = "Prøv igen om et øjeblik"


@dataclass
class Figures:
    latencies: dict[str, list[float]] = field(default_factory=dict)  # phase -> seconds
    failed: dict[str, int] = field(default_factory=dict)
    swap_seconds: list[float] = field(default_factory=list)
    rss_start: list[float] = field(default_factory=list)  # MB per process, after the warm-up
    rss_before: list[float] = field(default_factory=list)  # after the load without swaps
    rss_after: list[float] = field(default_factory=list)
    rss_peak_during: list[float] = field(default_factory=list)
    rss_trail: list[float] = field(default_factory=list)  # the first process's, after each swap
    training: str = ""
    seconds: dict[str, float] = field(default_factory=dict)  # phase -> how long it lasted
    load: list[float] = field(default_factory=list)  # the 1-minute load average at the start and the end


def versions_to_swap() -> tuple[bytes, bytes]:
    """The project's model and the same data plus the taught probe, as the bytes a version keeps."""
    settings = ClassifierSettings()
    base = train_from_files([ROOT / "nlu_data"], settings)
    with tempfile.TemporaryDirectory() as tmp:
        extra = Path(tmp) / "taught.yml"
        lines = "\n".join(f"      - {text}" for text, _ in TAUGHT)
        extra.write_text(f'version: "3.1"\nnlu:\n  - intent: {TAUGHT_INTENT}\n    examples: |\n{lines}\n', "utf-8")
        taught = train_from_files([ROOT / "nlu_data", extra], settings)
    assert load_training_data([ROOT / "nlu_data"]).examples  # the data the processes seed their phrases from
    return model_to_bytes(base), model_to_bytes(taught)


async def prepare(database_url: str, blobs: tuple[bytes, bytes]) -> list[int]:
    """Both versions in the database, the first one active (processes load it on their first tick)."""
    store = Store(database_url)
    try:
        ids: list[int] = []
        for blob in blobs:

            async def save(tx: Tx, b: bytes = blob) -> int:
                return await registry.save_version(tx, b, {}, [], now(), None)

            ids.append(await store.transaction(save))
        await store.transaction(lambda tx: registry.activate(tx, ids[0], now(), None))
        return ids
    finally:
        await store.close()


async def probe_answer(session: aiohttp.ClientSession, port: int) -> str:
    async with session.post(f"http://127.0.0.1:{port}/model/parse", json={"text": PROBE}) as response:
        return str((await response.json())["intent"]["name"])


async def wait_for(session: aiohttp.ClientSession, ports: list[int], taught: bool, limit: float) -> float:
    """Seconds until every process answers the probe as the version just activated does."""
    started = time.perf_counter()
    for port in ports:
        while (await probe_answer(session, port) == TAUGHT_INTENT) != taught:
            if time.perf_counter() - started > limit:
                raise RuntimeError(f"process on port {port} did not swap within {limit:.0f} s")
            await asyncio.sleep(0.02)
    return time.perf_counter() - started


async def run(
    ports: list[int], pids: list[int], database_url: str, ids: list[int], args: argparse.Namespace
) -> Figures:
    figures = Figures(load=[os.getloadavg()[0]])
    phase = {"name": "warm-up"}
    began = {"at": time.perf_counter()}

    def enter(name: str) -> None:
        at = time.perf_counter()
        figures.seconds[phase["name"]] = figures.seconds.get(phase["name"], 0.0) + at - began["at"]
        phase["name"], began["at"] = name, at

    stop = asyncio.Event()
    run_id = uuid.uuid4().hex[:6]

    async def citizen(session: aiohttp.ClientSession, number: int) -> None:
        sender = f"swap-{run_id}-{number}"
        interval = args.senders / args.rate
        next_at = time.perf_counter() + interval * number / args.senders
        turn = 0
        while not stop.is_set():
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            next_at += interval
            port = ports[(number + turn) % len(ports)]
            message = MESSAGES[turn % len(MESSAGES)]
            turn += 1
            name = phase["name"]
            started = time.perf_counter()
            try:
                async with session.post(
                    f"http://127.0.0.1:{port}/webhooks/rest/webhook", json={"sender": sender, "message": message}
                ) as response:
                    body = await response.json(content_type=None)
                    ok = response.status == 200 and bool(body) and APOLOGY not in str(body)
            except (aiohttp.ClientError, TimeoutError, ValueError):
                ok = False
            figures.latencies.setdefault(name, []).append(time.perf_counter() - started)
            if not ok:
                figures.failed[name] = figures.failed.get(name, 0) + 1

    store = Store(database_url)
    connector = aiohttp.TCPConnector(limit=args.senders + 4)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        await wait_for(session, ports, taught=False, limit=30)  # every process serves the first version
        load = [asyncio.create_task(citizen(session, i)) for i in range(args.senders)]
        try:
            await asyncio.sleep(WARM_UP)
            enter("steady")
            figures.rss_start = [rss_mb(pid) for pid in pids]
            await asyncio.sleep(args.seconds)
            figures.rss_before = [rss_mb(pid) for pid in pids]
            enter("swaps")
            peaks = list(figures.rss_before)
            for swap in range(args.swaps):
                target = ids[(swap + 1) % 2]
                started = time.perf_counter()

                async def activate(tx: Tx, m: int = target) -> object:
                    return await registry.activate(tx, m, now(), None)

                await store.transaction(activate)
                await wait_for(session, ports, taught=target == ids[1], limit=SWAP_LIMIT * 4)
                figures.swap_seconds.append(time.perf_counter() - started)  # from the activation's commit on
                await asyncio.sleep(SETTLE)
                peaks = [max(p, rss_mb(pid)) for p, pid in zip(peaks, pids, strict=True)]
                figures.rss_trail.append(rss_mb(pids[0]))
            figures.rss_peak_during = peaks
            enter("after swaps")
            await asyncio.sleep(2.0)
            figures.rss_after = [rss_mb(pid) for pid in pids]
            if args.training:
                enter("training")
                figures.training = await train_under_load(store)
            enter("done")
            figures.load.append(os.getloadavg()[0])
        finally:
            stop.set()
            await asyncio.gather(*load)
            await store.close()
    return figures


async def train_under_load(store: Store) -> str:
    """Queue a training job as the console does; a bot process's worker runs it. What became of it."""
    job_id, _ = await store.transaction(lambda tx: jobs.queue_training(tx, now(), None))
    started = time.perf_counter()
    while True:
        row = await store.transaction(lambda tx: jobs.job(tx, job_id), read_only=True)
        assert row is not None
        if row["status"] in (JobStatus.DONE, JobStatus.FAILED):
            break
        await asyncio.sleep(0.25)
    seconds = time.perf_counter() - started
    if row["status"] == JobStatus.FAILED:
        return f"failed after {seconds:.0f} s: {row['detail'].get('error')}"
    return f"{seconds:.0f} s, gate {'passed' if row['detail'].get('passed') else 'held it back'}"


def config_for(folder: Path, port: int, database_url: str, model: Path) -> Path:
    path = write_config(folder / f"config-{port}.yml", port, database_url, model)
    text = path.read_text("utf-8").replace(
        "nlu:\n", f'nlu:\n  gate:\n    dev_set: "{ROOT / "nlu_eval" / "dev.yml"}"\n', 1
    )
    # the load is 50 senders at 5 turns/s each, over the citizens' rate limit on purpose: it measures turns
    text += "limits:\n  sender_per_minute: 100000\n  sender_burst: 10000\n"
    path.write_text(text, "utf-8")
    return path


def ms(values: list[float], q: float) -> str:
    return f"{1000 * percentile(values, q):.1f}" if values else "–"


def scenario(name: str, database_url: str, processes: int, blobs: tuple[bytes, bytes], args: argparse.Namespace,
             model: Path) -> Figures:  # fmt: skip
    ids = asyncio.run(prepare(database_url, blobs))
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        procs: list[subprocess.Popen[bytes]] = []
        stack.callback(stop_bots, procs)
        ports = []
        for _ in range(processes):
            port = free_port()
            procs.append(start_bot(config_for(Path(tmp), port, database_url, model), port))
            ports.append(port)
        figures = asyncio.run(run(ports, [p.pid for p in procs], database_url, ids, args))
    report(name, figures)
    return figures


def report(name: str, f: Figures) -> None:
    lat = f.latencies
    turns = sum(len(v) for k, v in lat.items() if k != "warm-up")
    failed = sum(v for k, v in f.failed.items())
    swaps = sorted(f.swap_seconds)
    rss = "  ".join(
        f"{b:.0f}→{a:.0f} MB ({100 * (a - b) / b:+.1f} %, peak {p:.0f})"
        for b, a, p in zip(f.rss_before, f.rss_after, f.rss_peak_during, strict=True)
    )
    print(f"\n{name}", flush=True)
    print(f"  turns {turns}, failed {failed}" + (f" ({f.failed})" if failed else ""))
    for phase in ("steady", "swaps", "training"):
        if lat.get(phase):
            rate = len(lat[phase]) / f.seconds[phase] if f.seconds.get(phase) else float("nan")
            print(
                f"  {phase:<9} p50 {ms(lat[phase], 0.5):>6} ms   p99 {ms(lat[phase], 0.99):>6} ms"
                f"   ({len(lat[phase])} turns, {rate:.0f}/s)"
            )
    if swaps:
        print(
            f"  swap → every process answers with it: median {swaps[len(swaps) // 2]:.2f} s, max {swaps[-1]:.2f} s"
            f" ({len(swaps)} swaps)"
        )
    steady = "  ".join(f"{a:.0f}→{b:.0f} MB" for a, b in zip(f.rss_start, f.rss_before, strict=True))
    print(f"  resident memory during the load without swaps: {steady}")
    print(f"  resident memory before → after {len(swaps)} swaps: {rss}")
    print(f"  resident memory after each swap (MB): {' '.join(f'{m:.0f}' for m in f.rss_trail)}")
    if f.training:
        print(f"  training job under load: {f.training}")
    print(f"  machine load average (1 min) at the start / end: {' / '.join(f'{x:.1f}' for x in f.load)}")


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite+aiosqlite:///{tmp}/bench.db"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0, help="load without swaps (the baseline)")
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--rate", type=float, default=250.0, help="offered turns/s in all")
    parser.add_argument("--swaps", type=int, default=20)
    parser.add_argument("--no-training", dest="training", action="store_false", help="skip the training phase")
    parser.add_argument(
        "--postgres", default=os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    model = ROOT / "var" / "models" / "intent_model.npz"
    subprocess.run(
        [sys.executable, "-m", "bot", "nlu", "train", "--out", str(model)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    blobs = versions_to_swap()
    print(
        f"{args.senders} senders, {args.rate:.0f} turns/s offered; {args.seconds:.0f} s without swaps, then "
        f"{args.swaps} swaps (each: activate, wait until every process answers with it, {SETTLE} s more)"
    )
    results: list[tuple[str, Figures]] = []
    with sqlite_database() as url:
        migrate(url)
        results.append(("1 process, SQLite", scenario("1 process, SQLite", url, 1, blobs, args, model)))
    with temporary_postgres(args.postgres, "ementor_swap") as url:
        migrate(url)
        results.append(("1 process, PostgreSQL", scenario("1 process, PostgreSQL", url, 1, blobs, args, model)))
    with temporary_postgres(args.postgres, "ementor_swap") as url:
        migrate(url)
        results.append(
            ("2 processes, one PostgreSQL", scenario("2 processes, one PostgreSQL", url, 2, blobs, args, model))
        )
    table(results)


def table(results: list[tuple[str, Figures]]) -> None:
    print()
    head = (
        f"{'scenario':<30}{'failed':>7}{'p50/p99 steady':>17}{'p50/p99 swaps':>16}{'p50/p99 training':>19}"
        f"{'swap max s':>11}  {'RSS before→after MB'}"
    )
    print(head)
    for name, f in results:
        lat = f.latencies
        rss = ", ".join(
            f"{b:.0f}→{a:.0f} ({100 * (a - b) / b:+.1f}%)" for b, a in zip(f.rss_before, f.rss_after, strict=True)
        )
        print(
            f"{name:<30}{sum(f.failed.values()):>7}"
            f"{ms(lat.get('steady', []), 0.5) + ' / ' + ms(lat.get('steady', []), 0.99):>17}"
            f"{ms(lat.get('swaps', []), 0.5) + ' / ' + ms(lat.get('swaps', []), 0.99):>16}"
            f"{ms(lat.get('training', []), 0.5) + ' / ' + ms(lat.get('training', []), 0.99):>19}"
            f"{max(f.swap_seconds, default=float('nan')):>11.2f}  {rss}"
        )


if __name__ == "__main__":
    main()
