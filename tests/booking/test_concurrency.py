"""Never a double booking: 50 citizens on the last place at once (one process, SQLite and PostgreSQL), and
the same race split over two real bot processes sharing one PostgreSQL database."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import ClassifierSettings
from bot.nlu.trainer import ensure_model
from bot.storage.migrate import upgrade_async
from bot.storage.store import Store
from tests.booking.helpers import Client, live, payloads, say, slot_payload, texts
from tests.conftest import NLU_DATA, ROOT

CITIZENS = 50


def _check_race(replies: list[list[dict[str, Any]]]) -> None:
    won = [r for r in replies if "fornavn" in texts(r)]
    lost = [r for r in replies if "taget lige før dig" in texts(r)]
    assert len(won) == 1 and len(lost) == CITIZENS - 1
    for reply in lost:  # told kindly, and offered the next free times
        assert any(p.startswith("/book_slot") for p in payloads(reply))


async def test_fifty_citizens_on_the_last_place_get_one_booking(client: Client, store: Store) -> None:
    start = "2025-12-04T10:30"
    replies = await asyncio.gather(*(say(client, f"c{n}", slot_payload(start)) for n in range(CITIZENS)))
    _check_race(list(replies))
    [row] = await live(store)
    assert row["status"] == "held"
    await say(client, row["sender"], "/skip")
    await say(client, row["sender"], "/skip")
    assert [r["status"] for r in await live(store)] == ["booked"]


# ---- two bot processes, one PostgreSQL ----------------------------------------------------------------------

needs_postgres = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs TEST_DATABASE_URL")

CONFIG = """version: 1
log_level: WARNING
server: {{port: {port}}}
database: {{url: "{url}"}}
nlu: {{model: "{model}", data: "{data}"}}
conversation: {{flows: "{flows}"}}
booking:
  days_ahead: 4
  min_notice_minutes: 0
  locations:
    - id: lab
      name: {{da: "Testværksted"}}
      places: 1
      hours: {{monday: "0.00-23.30", tuesday: "0.00-23.30", wednesday: "0.00-23.30", thursday: "0.00-23.30",
              friday: "0.00-23.30", saturday: "0.00-23.30", sunday: "0.00-23.30"}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(config: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMENTOR_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"bot process stopped: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("bot process did not start")


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """A database of its own (the bot processes use the public schema), dropped after."""
    admin_url = os.environ["TEST_DATABASE_URL"]
    name = f"booking_race_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@needs_postgres
def test_two_bot_processes_on_one_postgres_never_double_book(fresh_postgres: str, tmp_path: Path) -> None:
    url = fresh_postgres
    asyncio.run(upgrade_async(url))
    model = tmp_path / "model.npz"
    ensure_model(model, [NLU_DATA], ClassifierSettings())
    ports = [_free_port(), _free_port()]
    procs = []
    try:
        for port in ports:
            config = tmp_path / f"config-{port}.yml"
            values = {"port": port, "url": url, "model": model, "data": NLU_DATA, "flows": ROOT / "flows"}
            config.write_text(CONFIG.format(**values), encoding="utf-8")
            procs.append(_start(config, port))
        replies = asyncio.run(_race(ports))
        _check_race(replies)
        assert asyncio.run(_live_count(url)) == 1
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _race(ports: list[int]) -> list[list[dict[str, Any]]]:
    async with aiohttp.ClientSession() as session:

        async def post(port: int, sender: str, message: str) -> list[dict[str, Any]]:
            url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
            async with session.post(url, json={"sender": sender, "message": message}) as response:
                assert response.status == 200, await response.text()
                body: list[dict[str, Any]] = await response.json()
                return body

        offer = await post(ports[0], "scout", '/book_place{"location":"lab"}')
        second = [p for p in payloads(offer) if p.startswith("/book_slot")][1]  # the first may start any second
        confirm = second.replace("/book_slot", "/book_confirm", 1)
        return list(
            await asyncio.gather(*(post(ports[n % 2], f"p{n}", confirm) for n in range(CITIZENS)))
        )  # 25 clients on each process


async def _live_count(url: str) -> int:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT COUNT(*) FROM bookings WHERE status IN ('held', 'booked')"))).scalar()
    await engine.dispose()
    return int(count or 0)
