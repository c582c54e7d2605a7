"""Composition root: reads settings, prepares model, flows and database, builds the aiohttp app, runs it."""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from bot.api import ementor, model_parse
from bot.booking.places import validate as validate_booking
from bot.booking.texts import phrases as booking_phrases
from bot.channels import rest, socketio, telegram_webhook
from bot.config import ConfigError, Settings
from bot.core.dispatcher import Clock, Dispatcher, utc_now
from bot.delivery import setup as delivery
from bot.escalation.desk import Desk
from bot.escalation.timeouts import escalation_jobs
from bot.flows.engine import Engine
from bot.flows.loader import load_flows
from bot.flows.ui import load_ui
from bot.nlu.backends import NluBackend, make_backend
from bot.nlu.catalogue import catalogue
from bot.nlu.classifier import IntentModel
from bot.nlu.model_store import load_model
from bot.nlu.trainer import ensure_model
from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from bot.storage.store import Store
from bot.web import calendar, pages
from handlers import ACTIONS, HANDLERS, HOOKS

log = logging.getLogger(__name__)


def prepare_model(settings: Settings) -> IntentModel:
    """Load the configured model, training it first when it is missing or its data changed."""
    ensure_model(settings.nlu.model, [settings.nlu.data], settings.nlu.classifier)
    return load_model(settings.nlu.model)


def build_engine(settings: Settings) -> Engine:
    """Flows and UI texts, checked: every catalogue intent must have a flow."""
    folder = Path(settings.conversation.flows)
    flows = load_flows([folder])
    missing = [intent for intent in catalogue() if intent not in flows]
    if missing:
        raise ConfigError(f"conversation.flows: no flow for {', '.join(missing)} in {folder}")
    validate_booking(settings.booking)  # wrong hours, dates or workshop places stop start-up, naming the setting
    booking_phrases(settings)
    return Engine(flows, load_ui(folder / "ui" / "texts.yml"), HANDLERS)


def build_dispatcher(settings: Settings, backend: NluBackend, store: Store, clock: Clock = utc_now) -> Dispatcher:
    return Dispatcher(build_engine(settings), backend, store, settings, actions=ACTIONS, hooks=HOOKS, clock=clock)


def build_app(
    settings: Settings, model: IntentModel, store: Store | None = None, clock: Clock = utc_now
) -> web.Application:
    app = web.Application(client_max_size=256 * 1024)
    backend = make_backend(settings, model)
    store = store or Store(make_engine(settings.database.url))
    dispatcher = build_dispatcher(settings, backend, store, clock)
    app[model_parse.BACKEND_KEY] = backend
    app[model_parse.MODEL_INFO_KEY] = {
        "model_file": str(Path(settings.nlu.model)),
        "fingerprint": model.metadata.get("data_hash"),
        "trained_at": model.metadata.get("trained_at"),
        "intents": len(model.labels),
    }
    pages.add_routes(app)  # the chat at / with its static files under /static/, the NLU try-out at /nlu
    model_parse.add_routes(app)
    ementor.add_routes(app, store, settings, dispatcher.clock)  # the eMentors' JSON API under /api/ementor/
    calendar.add_routes(app, store, settings, dispatcher.clock)  # GET /calendar/{key}.ics
    rest.add_routes(app, dispatcher)
    webchat = socketio.add_routes(
        app, dispatcher, settings.socketio.cors_allowed_origins, settings.server.base_url()
    )
    desk = Desk(store, settings, dispatcher.clock)  # the eMentors' Telegram group
    telegram_webhook.mount(app, dispatcher, store, settings, desk)  # only with EMENTOR_TELEGRAM_TOKEN set
    # reminders, eMentor replies and notices: pushed to Telegram and socket.io, pulled by REST clients
    worker = delivery.build_worker(
        settings, store, socketio_server=webchat.server, clock=dispatcher.clock, jobs=escalation_jobs(settings)
    )
    delivery.mount(app, worker)

    async def close(app: web.Application) -> None:
        await backend.close()
        await store.close()

    app.on_cleanup.append(close)
    return app


def run(settings: Settings) -> None:
    model = prepare_model(settings)
    upgrade(settings.database.url)
    app = build_app(settings, model)
    log.info("ementor-bot on http://%s:%d (NLU: %s)", settings.server.host, settings.server.port, settings.nlu.backend)
    # No access log below DEBUG: the web chat polls every few seconds, and each line would name a sender id.
    access_log = logging.getLogger("aiohttp.access") if settings.log_level == "DEBUG" else None
    web.run_app(app, host=settings.server.host, port=settings.server.port, print=None, access_log=access_log)
