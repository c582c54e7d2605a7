"""Composition root: reads settings, prepares the model, builds the aiohttp application, runs it."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from aiohttp import web

from bot.api import model_parse
from bot.config import Settings
from bot.nlu.backends import make_backend
from bot.nlu.classifier import IntentModel
from bot.nlu.model_store import load_model
from bot.nlu.trainer import ensure_model

log = logging.getLogger(__name__)


def prepare_model(settings: Settings) -> IntentModel:
    """Load the configured model, training it first when it is missing or its data changed."""
    ensure_model(settings.nlu.model, [settings.nlu.data], settings.nlu.classifier)
    return load_model(settings.nlu.model)


async def index(request: web.Request) -> web.Response:
    page = resources.files("bot.web").joinpath("index.html").read_text("utf-8")
    return web.Response(text=page, content_type="text/html", charset="utf-8")


def build_app(settings: Settings, model: IntentModel) -> web.Application:
    app = web.Application(client_max_size=256 * 1024)
    backend = make_backend(settings, model)
    app[model_parse.BACKEND_KEY] = backend
    app[model_parse.MODEL_INFO_KEY] = {
        "model_file": str(Path(settings.nlu.model)),
        "fingerprint": model.metadata.get("data_hash"),
        "trained_at": model.metadata.get("trained_at"),
        "intents": len(model.labels),
    }
    app.router.add_get("/", index)
    model_parse.add_routes(app)

    async def close_backend(app: web.Application) -> None:
        await backend.close()

    app.on_cleanup.append(close_backend)
    return app


def run(settings: Settings) -> None:
    model = prepare_model(settings)
    app = build_app(settings, model)
    log.info("ementor-bot on http://%s:%d (NLU: %s)", settings.server.host, settings.server.port, settings.nlu.backend)
    web.run_app(app, host=settings.server.host, port=settings.server.port, print=None)
