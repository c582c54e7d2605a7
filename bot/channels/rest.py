"""Rasa's REST channel: `POST /webhooks/rest/webhook` with `{"sender", "message"}` → a list of messages.

The same JSON as Rasa's, so existing clients work. Links are written into the text (every client shows
text); buttons carry Rasa payloads.

`GET /webhooks/rest/messages?sender=ID` hands out, once, the messages the bot has for that sender on its
own: an eMentor's replies during a hand-over, reminders, notices. Rasa's REST channel has no way to push
(it only answers a request), so those messages wait in the outbox and the client (the web chat) polls.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.core.dispatcher import Dispatcher
from bot.core.messages import Inbound, Outbound, with_links
from bot.delivery.outbox import pull, waiting
from bot.storage.store import StorageUnavailable, Store

CHANNEL = "rest"
MAX_SENDER = 128
DISPATCHER_KEY: web.AppKey[Dispatcher] = web.AppKey("dispatcher", Dispatcher)
STORE_KEY: web.AppKey[Store] = web.AppKey("rest_store", Store)


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


def valid_sender(sender: Any) -> bool:
    return isinstance(sender, str | int) and bool(str(sender).strip()) and len(str(sender)) <= MAX_SENDER


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


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
    if not valid_sender(sender):
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
    return web.json_response(to_rasa(str(sender), replies or []), dumps=_dumps)


async def messages(request: web.Request) -> web.Response:
    """The sender's waiting messages, each handed out once (an empty list when there are none)."""
    sender = request.query.get("sender")
    if not valid_sender(sender):
        return _bad(f'"sender" must be a text of 1 to {MAX_SENDER} characters.')
    dispatcher = request.app[DISPATCHER_KEY]
    now = dispatcher.clock()
    store = request.app[STORE_KEY]
    try:  # most polls find nothing: a read first, so they take no write lock (SQLite) and change nothing
        found = await store.transaction(lambda tx: waiting(tx, CHANNEL, str(sender), now), read_only=True)
        handed = await store.transaction(lambda tx: pull(tx, CHANNEL, str(sender), now)) if found else []
    except StorageUnavailable:
        return web.json_response([], status=503)
    return web.json_response(to_rasa(str(sender), handed), dumps=_dumps, headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application, dispatcher: Dispatcher) -> None:
    app[DISPATCHER_KEY] = dispatcher
    app[STORE_KEY] = dispatcher.store
    app.router.add_post("/webhooks/rest/webhook", webhook)
    app.router.add_get("/webhooks/rest/messages", messages)
