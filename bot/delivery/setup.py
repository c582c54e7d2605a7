"""Putting a delivery worker into a bot process: which senders it has, and starting and stopping it.

Every process that serves channels runs one (`ementor run`, `ementor telegram --polling`); they share the
outbox and each message is still sent once (worker.py). A process sends through the channels it can reach:
Telegram when a token is set, socket.io when it serves the web chat widget.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import socketio
from aiohttp import web

from bot.config import Settings
from bot.delivery.jobs import Job
from bot.delivery.sender import Sender
from bot.delivery.socketio_sender import SocketIOSender
from bot.delivery.telegram_sender import TelegramSender
from bot.delivery.worker import Clock, DeliveryWorker, utc_now
from bot.storage.store import Store

log = logging.getLogger(__name__)
WORKER_KEY: web.AppKey[DeliveryWorker] = web.AppKey("delivery_worker", DeliveryWorker)


def telegram_sender(settings: Settings, store: Store) -> TelegramSender | None:
    if not settings.telegram_token:
        return None
    return TelegramSender.from_token(settings.telegram_token, settings.telegram.base_url, store)


def build_worker(
    settings: Settings,
    store: Store,
    *,
    socketio_server: socketio.AsyncServer | None = None,
    clock: Clock = utc_now,
    jobs: Sequence[Job] = (),
) -> DeliveryWorker:
    senders: dict[str, Sender] = {}
    telegram = telegram_sender(settings, store)
    if telegram is not None:
        senders["telegram"] = telegram
    if socketio_server is not None:
        senders["socketio"] = SocketIOSender(socketio_server, settings.server.base_url())
    return DeliveryWorker(store, senders, settings.delivery, clock, jobs)


async def close_worker(worker: DeliveryWorker) -> None:
    """Stop the worker, then let go of the Bot API connection it sent through."""
    await worker.stop()
    telegram = worker.senders.get("telegram")
    if isinstance(telegram, TelegramSender):
        await telegram.close()


def mount(app: web.Application, worker: DeliveryWorker) -> None:
    """Run `worker` while the aiohttp app runs (stopped before the store closes)."""
    app[WORKER_KEY] = worker

    async def start(_: web.Application) -> None:
        await worker.start()
        log.info("delivery worker on (sends %s)", ", ".join(sorted(worker.senders)) or "nothing; runs jobs")

    async def stop(_: web.Application) -> None:
        await close_worker(worker)

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
