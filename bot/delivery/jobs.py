"""Periodic work the delivery worker runs each tick, before it sends: `Job(tx, now)`.

The composition root (bot/runtime.py) hands the worker its jobs explicitly, e.g. the
hand-over timeouts of bot/escalation/timeouts.py; jobs that need the settings are bound to them here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.config import Settings
from bot.core.ports import Tx

Job = Callable[[Tx, datetime], Awaitable[None]]
SettingsJob = Callable[[Tx, Settings, datetime], Awaitable[None]]


def bind(job: SettingsJob, settings: Settings) -> Job:
    async def run(tx: Tx, now: datetime) -> None:
        await job(tx, settings, now)

    run.__name__ = getattr(job, "__name__", "job")
    return run
