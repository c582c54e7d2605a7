"""Periodic work the delivery worker runs each tick, before it sends (e.g. offering a booking to citizens
left waiting too long for an eMentor).

A registry, so that bot/app.py and bot/telegram_main.py run the same jobs. Jobs that need the settings are
named "module:function" with the signature `(tx, settings, now)` and imported only when the worker is built:
those modules import the flows and handlers, which import the app's building blocks, so importing them at
the top of this module would cycle.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.config import Settings
from bot.storage.tx import Tx

Job = Callable[[Tx, datetime], Awaitable[None]]
log = logging.getLogger(__name__)
SettingsJob = Callable[[Tx, Settings, datetime], Awaitable[None]]

# Jobs that need nothing but the transaction and the time.
JOBS: list[Job] = []

# "module:function" of jobs called as function(tx, settings, now).
WITH_SETTINGS: list[str] = ["bot.escalation.handover:expire_waiting"]


def _bind(job: SettingsJob, settings: Settings) -> Job:
    async def run(tx: Tx, now: datetime) -> None:
        await job(tx, settings, now)

    run.__name__ = getattr(job, "__name__", "job")
    return run


def jobs_for(settings: Settings) -> list[Job]:
    """Every registered job, the ones needing settings bound to `settings`."""
    jobs = list(JOBS)
    for spec in WITH_SETTINGS:
        module, name = spec.split(":")
        try:
            found = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            log.warning("delivery job %s: module %s not found, job not run", spec, module)
            continue
        jobs.append(_bind(getattr(found, name), settings))
    return jobs
