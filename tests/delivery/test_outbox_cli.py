"""`ementor outbox`: counts per status and the failed deliveries with their errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.outbox import report
from bot.config import DeliverySettings
from bot.delivery.outbox import count_by_status, list_deliveries
from bot.delivery.worker import DeliveryWorker
from bot.storage.migrate import upgrade_async
from bot.storage.store import Store
from tests.delivery.helpers import START, Clock, Recording, put

SETTINGS = DeliverySettings(poll_seconds=0.05, max_attempts=1, retry_seconds=10)


async def fill(store: Store) -> None:
    """One sent, one failed (blocked), one pending for later."""
    clock = Clock()
    await put(store, "Blokeret", START, recipient="42")
    await put(store, "Senere", START + timedelta(days=1))
    worker = DeliveryWorker(
        store, {"telegram": Recording(RuntimeError("Forbidden: bot was blocked by the user"))}, SETTINGS, clock
    )
    await worker.run_once()
    await put(store, "Sendt", START, recipient="99")
    await DeliveryWorker(store, {"telegram": Recording()}, SETTINGS, clock).run_once()


async def test_report_on_both_databases(store: Store) -> None:
    await fill(store)
    counts = await store.transaction(count_by_status)
    failed = await store.transaction(lambda tx: list_deliveries(tx, "failed"))
    assert counts == {"failed": 1, "pending": 1, "sent": 1}
    lines = report(counts, failed)
    assert lines[0] == "pending: 1  sending: 0  sent: 1  failed: 1  cancelled: 0"
    assert lines[-1].endswith("1 attempt(s): RuntimeError: Forbidden: bot was blocked by the user")
    assert "reminder to telegram 42, due 2026-12-02 08:00 UTC" in lines[-1]


def test_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"

    async def prepare() -> None:
        await upgrade_async(url)
        store = Store(url)
        try:
            await fill(store)
        finally:
            await store.close()

    asyncio.run(prepare())
    config = tmp_path / "config.yml"
    config.write_text(f"version: 1\ndatabase:\n  url: {url}\n", encoding="utf-8")
    assert main(["--config", str(config), "outbox"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("pending: 1  sending: 0  sent: 1  failed: 1")
    assert "failed:\n  #" in out and "bot was blocked by the user" in out
