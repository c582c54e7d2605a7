"""Rasa's REST channel: `POST /webhooks/rest/webhook` with `{"sender", "message"}` → a list of messages.

The same JSON as Rasa's, so existing clients work. Links are written into the text (every client shows
text); buttons carry Rasa payloads.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.core.dispatcher import Dispatcher
from bot.core.messages import Inbound, Outbound, with_links
from bot.storage.store import StorageUnavailable

CHANNEL = "rest"
MAX_SENDER = 128
DISPATCHER_KEY: web.AppKey[Dispatcher] = web.AppKey("dispatcher", Dispatcher)


def to_rasa(recipient: str, messages: list[Outbound]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in messages:
        text = with_links(message.text, message.links)
        item: dict[str, Any] = {"recipient_id": recipient, "text": text}
        if message.buttons:
            item["buttons"] = [{"title": b.title, "payload": b.payload} for b in message.buttons]
        out.append(item)
        if message.image:
            out.append({"recipient_id": recipient, "image": message.image})
        if message.file:
            out.append({"recipient_id": recipient, "attachment": message.file.url})
    return out


def _bad(message: str) -> web.Response:
    return web.json_response({"status": "failure", "message": message, "code": 400}, status=400)


async def webhook(request: web.Request) -> web.Response:
    try:
        payload = json.loads((await request.read()).decode("utf-8", errors="replace") or "null")
    except json.JSONDecodeError:
        return _bad("The request body is not valid JSON.")
    if not isinstance(payload, dict):
        return _bad('Send {"sender": "...", "message": "..."}.')
    sender, text = payload.get("sender"), payload.get("message")
    if not isinstance(sender, str | int) or not str(sender).strip() or len(str(sender)) > MAX_SENDER:
        return _bad(f'"sender" must be a text of 1 to {MAX_SENDER} characters.')
    if text is None:
        text = ""
    if not isinstance(text, str):
        return _bad('"message" must be a text.')
    message_id = payload.get("message_id")
    inbound = Inbound(CHANNEL, str(sender), text, str(message_id) if message_id is not None else None)
    dispatcher = request.app[DISPATCHER_KEY]
    try:
        replies = await dispatcher.handle(inbound)
    except StorageUnavailable:
        sorry = dispatcher.engine.ui.text("unavailable", "da") + " / " + dispatcher.engine.ui.text("unavailable", "en")
        return web.json_response([{"recipient_id": str(sender), "text": sorry}], status=503)
    return web.json_response(to_rasa(str(sender), replies or []), dumps=lambda o: json.dumps(o, ensure_ascii=False))


def add_routes(app: web.Application, dispatcher: Dispatcher) -> None:
    app[DISPATCHER_KEY] = dispatcher
    app.router.add_post("/webhooks/rest/webhook", webhook)
