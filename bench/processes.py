"""Starting real bot processes, for benchmarks and for the tests that need more than one process.

The benchmarks (bench/speed.py, bench/conversations.py, bench/booking.py) and the multi-process tests
(tests/booking/test_concurrency.py) all run `python -m bot run` on 127.0.0.1 exactly as a user would: a config
file of their own, no EMENTOR_* variables leaking in from the shell, a fresh database. This module is the one
place that does it, so they start, wait for and stop processes the same way.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import ROOT

START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
STDERR_LINES = 200  # kept per process, for the error when it dies

_stderr: dict[int, deque[str]] = {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(path: Path, port: int, database_url: str, model: Path, extra_yaml: str = "") -> Path:
    """A config for one bot process: the project's NLU data and flows, `extra_yaml` (say a `booking:`
    section) appended as it is."""

    def quoted(value: object) -> str:  # a JSON string is a YAML double-quoted scalar
        return json.dumps(str(value), ensure_ascii=False)

    path.write_text(
        "version: 1\nlog_level: WARNING\n"
        f"server:\n  port: {port}\n"
        f"database:\n  url: {quoted(database_url)}\n"
        f"nlu:\n  model: {quoted(model)}\n  data: {quoted(ROOT / 'nlu_data')}\n"
        f"conversation:\n  flows: {quoted(ROOT / 'flows')}\n" + extra_yaml,
        encoding="utf-8",
    )
    return path


def _drain(proc: subprocess.Popen[bytes], lines: deque[str]) -> None:
    """Read the process's stderr as it comes (a full pipe would block the process); keep the last lines."""
    assert proc.stderr is not None
    for raw in proc.stderr:
        lines.append(raw.decode(errors="replace"))


def stderr_of(proc: subprocess.Popen[bytes]) -> str:
    """The last lines the process wrote to stderr."""
    return "".join(_stderr.get(proc.pid, ()))


def start_bot(config: Path, port: int) -> subprocess.Popen[bytes]:
    """`python -m bot --config CONFIG run`, once it listens on `port`. RuntimeError (with the process's stderr)
    when it stops first or does not listen within START_TIMEOUT seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMENTOR_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    lines: deque[str] = deque(maxlen=STDERR_LINES)
    _stderr[proc.pid] = lines
    reader = threading.Thread(target=_drain, args=(proc, lines), daemon=True)
    reader.start()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            reader.join(timeout=5)
            raise RuntimeError(f"bot process stopped (exit code {proc.returncode}):\n{stderr_of(proc)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    proc.wait()
    reader.join(timeout=5)
    raise RuntimeError(f"bot process did not listen on port {port} within {START_TIMEOUT:.0f} s:\n{stderr_of(proc)}")


def stop_bots(procs: Iterable[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each, then wait up to STOP_TIMEOUT seconds each before killing it."""
    procs = list(procs)
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        _stderr.pop(proc.pid, None)


def migrate(database_url: str, config: Path | None = None) -> None:
    """`ementor db upgrade` on `database_url`, as a user would run it (with `config`: `ementor --config
    CONFIG db upgrade`, so the project's own config.yml is not read)."""
    env = {**os.environ, "EMENTOR_DATABASE_URL": database_url}
    chosen = ["--config", str(config)] if config else []
    done = subprocess.run(
        [sys.executable, "-m", "bot", *chosen, "db", "upgrade"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ementor db upgrade failed:\n{done.stderr}")


def rss_mb(pid: int) -> float:
    """A process's resident memory in MB (VmRSS in /proc/PID/status); NaN once it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return float("nan")
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _admin(admin_url: str, sql: str) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@contextmanager
def temporary_postgres(admin_url: str, prefix: str = "ementor_tmp") -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of `admin_url` (its public schema is what bot processes
    use); yields its URL, and drops it afterwards even while something is still connected."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
