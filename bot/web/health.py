"""For the operator's probes and Prometheus: `GET /health`, `GET /ready`, `GET /metrics`.

- `/health`: the process is alive and its event loop answers. It asks nothing of the database, so a
  database outage does not get healthy processes restarted.
- `/ready`: this process can serve citizens: the database answers a trivial query within `timeout` seconds
  and the intent model is loaded. 200 or 503, with JSON saying which part is missing (a load balancer
  takes a process out while it is 503).
- `/metrics`: Prometheus text (bot/core/metrics.py), with the figures that live in the database (bookings
  and hand-overs by status, the outbox backlog) read at the scrape, within `timeout`; a database that does
  not answer in time leaves them as they were and sets `ementor_database_up` to 0.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from bot.core import metrics
from bot.core.clock import Clock
from bot.core.ports import StorageUnavailable, Tx, Work
from bot.core.statuses import BookingStatus, HandoverStatus, OutboxStatus, sql_list

DUE = (OutboxStatus.PENDING, OutboxStatus.SENDING)
Figures = tuple[dict[str, int], dict[str, int], int]


class Probed(Protocol):
    """What the probes need of the store."""

    async def ping(self, timeout: float) -> bool: ...

    async def transaction(self, work: Work[Figures], *, read_only: bool = False) -> Figures: ...


async def figures(tx: Tx, clock: Clock) -> Figures:
    """Bookings and hand-overs by status, and outbox messages due and not sent: one read."""
    bookings = await tx.fetch("SELECT status, COUNT(*) AS n FROM bookings GROUP BY status")
    handovers = await tx.fetch("SELECT status, COUNT(*) AS n FROM handovers GROUP BY status")
    due = await tx.fetch(
        f"SELECT COUNT(*) AS n FROM outbox WHERE status IN {sql_list(DUE)} AND due_at <= :now", now=clock()
    )
    return (
        {str(r["status"]): int(r["n"]) for r in bookings},
        {str(r["status"]): int(r["n"]) for r in handovers},
        int(due[0]["n"]),
    )


def add_routes(
    app: web.Application, store: Probed, model_loaded: Callable[[], bool], clock: Clock, timeout: float = 2.0
) -> None:
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})

    async def ready(request: web.Request) -> web.Response:
        database = await store.ping(timeout)
        model = model_loaded()
        body = {
            "status": "ready" if database and model else "not ready",
            "database": "ok" if database else "unavailable",
            "model": "ok" if model else "not loaded",
        }
        return web.json_response(body, status=200 if database and model else 503, headers={"Cache-Control": "no-store"})

    async def scrape(request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(timeout):
                bookings, handovers, backlog = await store.transaction(lambda tx: figures(tx, clock), read_only=True)
        except (StorageUnavailable, TimeoutError):
            metrics.DATABASE_UP.set(0)
        else:
            metrics.DATABASE_UP.set(1)
            for booking in BookingStatus:
                metrics.BOOKINGS.labels(booking.value).set(bookings.get(booking.value, 0))
            for handover in HandoverStatus:
                metrics.HANDOVERS.labels(handover.value).set(handovers.get(handover.value, 0))
            metrics.OUTBOX_BACKLOG.set(backlog)
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})

    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", scrape)
