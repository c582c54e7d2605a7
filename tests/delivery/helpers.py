"""Shared pieces for the delivery tests: a clock the test moves, senders that record or fail, outbox rows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.messages import Outbound
from bot.core.ports import Tx
from bot.delivery.outbox import enqueue
from bot.storage.store import Store

START = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Recording:
    """A sender that records what it sends; `fail` is raised (and used up) on the first calls."""

    def __init__(self, *fail: Exception, pause: float = 0.0) -> None:
        self.sent: list[tuple[str, list[str]]] = []
        self.fail = list(fail)
        self.pause = pause
        self.calls = 0

    async def send(self, recipient: str, messages: list[Outbound]) -> str | None:
        self.calls += 1
        await asyncio.sleep(self.pause)
        if self.fail:
            raise self.fail.pop(0)
        self.sent.append((recipient, [m.text for m in messages]))
        return f"m{len(self.sent)}"


async def put(store: Store, text: str, due_at: datetime, channel: str = "telegram", recipient: str = "42") -> int:
    async def work(tx: Tx) -> int:
        return await enqueue(tx, "reminder", channel, recipient, [Outbound(text)], due_at, START)

    return await store.transaction(work)


async def row(store: Store, delivery_id: int) -> dict[str, Any]:
    async def work(tx: Tx) -> dict[str, Any]:
        return (await tx.fetch("SELECT * FROM outbox WHERE id = :id", id=delivery_id))[0]

    return await store.transaction(work)
