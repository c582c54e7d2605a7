"""The aiohttp app of `ementor run`: every HTTP channel, page and API around one runtime (bot/runtime.py).

Channels, the eMentor API and the pages get only what they need: the dispatcher as a `Replier`, the
outbox as a `Mailbox`, the store as the `ConversationStore` interface, and the apology text.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.api import admin_citizens as admin_citizens_api
from bot.api import admin_content as admin_content_api
from bot.api import admin_models as admin_models_api
from bot.api import admin_phrases as admin_phrases_api
from bot.api import admin_stats as admin_stats_api
from bot.api import ementor, model_parse
from bot.channels import rest, socketio
from bot.channels.base import Gate
from bot.channels.telegram import webhook as telegram_webhook
from bot.config import Settings
from bot.consoles import admin_citizens, admin_content, admin_models, admin_pages, admin_stats, ementor_pages, events
from bot.consoles import admin_phrases as admin_phrases_pages
from bot.consoles import web as console_web
from bot.core.clock import Clock, utc_now
from bot.core.limits import TokenBuckets
from bot.core.ports import StorageUnavailable
from bot.core.senders import SenderIds
from bot.delivery.worker import DeliveryWorker
from bot.nlu.classifier import IntentModel
from bot.runtime import Runtime, build_runtime, open_store, prepare_model
from bot.storage.store import Store
from bot.web import calendar, guard, health, pages, requests

log = logging.getLogger(__name__)
RUNTIME_KEY: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)
WORKER_KEY: web.AppKey[DeliveryWorker] = web.AppKey("delivery_worker", DeliveryWorker)


def build_app(
    settings: Settings, model: IntentModel, store: Store | None = None, clock: Clock = utc_now
) -> web.Application:
    runtime = build_runtime(settings, model, store, clock)
    app = web.Application(client_max_size=256 * 1024)
    requests.setup(app, runtime.apology)  # outermost: a request id on every answer; the database away is a 503
    guard.setup(app, settings, runtime.slow_down)  # first: limits, checks at the edge, security headers
    app[RUNTIME_KEY] = runtime
    app[model_parse.BACKEND_KEY] = runtime.nlu
    app[model_parse.MODEL_INFO_KEY] = runtime.info  # kept current when a new model version is swapped in
    bot, apology = runtime.dispatcher, runtime.apology
    # /health (alive), /ready (database and model), /metrics (Prometheus)
    health.add_routes(app, runtime.store, lambda: bool(runtime.model.labels), clock)
    pages.add_routes(app)  # the chat at / with its static files under /static/, the NLU try-out at /nlu
    model_parse.add_routes(app)
    ementor.add_routes(app, runtime.store, settings, clock, runtime.engine.flows)  # JSON API: /api/ementor/
    calendar.add_routes(app, runtime.store, settings, clock)  # GET /calendar/{key}.ics
    # the consoles: /login, /logout, the eMentor pages under /ementor/ (live over /ementor/events), /admin/
    console_web.setup(app, runtime.store, settings, clock, runtime.engine.flows)
    ementor_pages.add_routes(app)
    events.add_routes(app)
    admin_pages.add_routes(app)
    admin_stats.add_routes(app)
    admin_citizens.add_routes(app)  # /admin/citizens: one citizen's data on request
    admin_stats_api.add_routes(app)  # GET /api/admin/stats
    admin_citizens_api.add_routes(app)  # GET/DELETE /api/admin/citizens: one citizen's data on request
    admin_models.add_routes(app)  # /admin/models, /admin/jobs/{id}: versions, training, the gate's report
    admin_models_api.add_routes(app)  # /api/admin/train, /api/admin/jobs/{id}, /api/admin/models…
    admin_content.add_routes(app)  # /admin/content…: answer texts edited beside a phone preview
    admin_content_api.add_routes(app)  # /api/admin/content…: read, check, save, revert a text
    admin_phrases_pages.add_routes(app, runtime)  # /admin/phrases, /admin/inbox (the runtime: its model now)
    admin_phrases_api.add_routes(app, runtime)  # /api/admin/phrases, /api/admin/inbox
    senders = SenderIds(guard.sender_key_loader(settings, runtime.store), settings.channels.require_signed_sender)
    pace = TokenBuckets(settings.limits.sender_per_minute, settings.limits.sender_burst)
    gate = Gate(senders, pace, runtime.slow_down)  # signed sender ids and each sender's pace: REST and socket.io
    app.on_startup.append(lambda _: read_sender_key(senders))
    rest.add_routes(app, rest.RestChannel(bot, apology, runtime.mailbox, gate))
    origins, base_url = settings.socketio.cors_allowed_origins, settings.server.base_url()
    webchat = socketio.add_routes(app, bot, apology, gate, origins, base_url)
    # only with EMENTOR_TELEGRAM_TOKEN set; the eMentors' group is handled by the desk
    telegram_webhook.mount(app, bot, apology, runtime.store, settings, runtime.desk())
    # reminders, eMentor replies and notices: pushed to Telegram and socket.io, pulled by REST clients
    worker = runtime.worker({"socketio": socketio.SocketIOSender(webchat.server, settings.server.base_url())})
    app[WORKER_KEY] = worker

    async def start_worker(_: web.Application) -> None:
        await worker.start()
        log.info("delivery worker on (sends %s)", ", ".join(sorted(worker.senders)) or "nothing; runs jobs")

    async def stop_worker(_: web.Application) -> None:
        await worker.stop()

    async def close(_: web.Application) -> None:
        await runtime.close()

    app.on_startup.append(start_worker)
    app.on_shutdown.append(stop_worker)
    app.on_cleanup.append(close)
    return app


async def read_sender_key(senders: SenderIds) -> None:
    """Read (or make) the sender-signing key before the first citizen writes; if the database is away now,
    the first message reads it."""
    try:
        await senders.key()
    except StorageUnavailable:
        log.warning("the sender-signing key could not be read at start: it is read with the first message")


def run(settings: Settings) -> None:
    model = prepare_model(settings)
    store = open_store(settings)
    app = build_app(settings, model, store)
    log.info("ementor-bot on http://%s:%d (NLU: %s)", settings.server.host, settings.server.port, settings.nlu.backend)
    # No access log below DEBUG: the web chat polls every few seconds, and each line would name a sender id.
    access_log = logging.getLogger("aiohttp.access") if settings.log_level == "DEBUG" else None
    web.run_app(
        app,
        host=settings.server.host,
        port=settings.server.port,
        print=None,
        access_log=access_log,
        **guard.server_options(settings),  # idle and half-sent connections closed after limits.keepalive_seconds
    )
