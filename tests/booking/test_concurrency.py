"""Never a double booking: 50 citizens on the last place at once (one process, SQLite and PostgreSQL), and
the same race split over two real bot processes sharing one PostgreSQL database."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.processes import free_port, start_bot, stop_bots, temporary_postgres, write_config
from bot.config import ClassifierSettings
from bot.nlu.trainer import ensure_model
from bot.storage.migrate import upgrade_async
from bot.storage.store import Store
from tests.booking.helpers import Client, live, payloads, say, slot_payload, texts
from tests.conftest import NLU_DATA

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

BOOKING = """booking:
  days_ahead: 4
  min_notice_minutes: 0
  locations:
    - id: lab
      name: {da: "Testværksted"}
      places: 1
      hours: {monday: "0.00-23.30", tuesday: "0.00-23.30", wednesday: "0.00-23.30", thursday: "0.00-23.30",
              friday: "0.00-23.30", saturday: "0.00-23.30", sunday: "0.00-23.30"}
"""


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """A database of its own (the bot processes use the public schema), dropped after."""
    with temporary_postgres(os.environ["TEST_DATABASE_URL"], "booking_race") as url:
        yield url


@needs_postgres
def test_two_bot_processes_on_one_postgres_never_double_book(fresh_postgres: str, tmp_path: Path) -> None:
    url = fresh_postgres
    asyncio.run(upgrade_async(url))
    model = tmp_path / "model.npz"
    ensure_model(model, [NLU_DATA], ClassifierSettings())
    ports = [free_port(), free_port()]
    procs = []
    try:
        for port in ports:
            procs.append(start_bot(write_config(tmp_path / f"config-{port}.yml", port, url, model, BOOKING), port))
        replies = asyncio.run(_race(ports))
        _check_race(replies)
        assert asyncio.run(_live_count(url)) == 1
    finally:
        stop_bots(procs)


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
