"""Rasa-compatible HTTP API of the NLU: `POST /model/parse`, `GET /status`, `GET /version`.

Errors answer in Rasa's error shape (`{"version", "status": "failure", "message", "reason", "code"}`)
so clients written for Rasa handle them.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot import __version__
from bot.core import edge
from bot.nlu.backends import NluBackend

BACKEND_KEY: web.AppKey[NluBackend] = web.AppKey("nlu_backend", NluBackend)
MODEL_INFO_KEY: web.AppKey[dict[str, Any]] = web.AppKey("model_info", dict)


def error(status: int, reason: str, message: str) -> web.Response:
    body = {"version": __version__, "status": "failure", "message": message, "reason": reason, "code": status}
    return web.json_response(body, status=status)


async def parse(request: web.Request) -> web.Response:
    try:
        payload = edge.load_json(await request.read(), nul_ok=True)  # the text is parsed, never kept
    except edge.Refused as refused:
        return error(refused.status, "BadRequest", refused.message)
    if not isinstance(payload, dict) or "text" not in payload:
        return error(400, "BadRequest", 'Send a JSON object with a "text" field, e.g. {"text": "hej"}.')
    text = payload["text"]
    if text is None:
        text = ""
    if not isinstance(text, str):
        return error(400, "BadRequest", 'The "text" field must be a string.')
    result = await request.app[BACKEND_KEY].parse(text)
    return web.json_response(result, dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def status(request: web.Request) -> web.Response:
    info = request.app[MODEL_INFO_KEY]
    return web.json_response({"backend": request.app[BACKEND_KEY].name, **info})


async def version(request: web.Request) -> web.Response:
    return web.json_response({"version": __version__, "minimum_compatible_version": "3.0.0"})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/model/parse", parse)
    app.router.add_get("/status", status)
    app.router.add_get("/version", version)
