"""Rasa's REST channel: `POST /webhooks/rest/webhook` with `{"sender", "message"}` → a list of messages.

The same JSON as Rasa's, so existing clients work. Links are written into the text (every client shows
text); buttons carry Rasa payloads.

`GET /webhooks/rest/messages?sender=ID` hands out, once, the messages the bot has for that sender on its
own: an eMentor's replies during a hand-over, reminders, notices. Rasa's REST channel has no way to push
(it only answers a request), so those messages wait in a `Mailbox` (the outbox) and the client (the web
chat) polls.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.channels.base import Channel, with_links
from bot.core.messages import Inbound, Outbound
from bot.core.ports import Mailbox, Replier, StorageUnavailable

CHANNEL = "rest"
MAX_SENDER = 128


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


class RestChannel(Channel):
    name = CHANNEL

    def __init__(self, bot: Replier, apology: str, mailbox: Mailbox) -> None:
        super().__init__(bot, apology)
        self.mailbox = mailbox

    async def webhook(self, request: web.Request) -> web.Response:
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
        answer = await self.answer(inbound)
        status = 503 if answer.unavailable else 200
        return web.json_response(to_rasa(str(sender), answer.replies or []), status=status, dumps=_dumps)

    async def messages(self, request: web.Request) -> web.Response:
        """The sender's waiting messages, each handed out once (an empty list when there are none)."""
        sender = request.query.get("sender")
        if not valid_sender(sender):
            return _bad(f'"sender" must be a text of 1 to {MAX_SENDER} characters.')
        try:
            handed = await self.mailbox.take(CHANNEL, str(sender))
        except StorageUnavailable:
            return web.json_response([], status=503)
        return web.json_response(to_rasa(str(sender), handed), dumps=_dumps, headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application, channel: RestChannel) -> None:
    app.router.add_post("/webhooks/rest/webhook", channel.webhook)
    app.router.add_get("/webhooks/rest/messages", channel.messages)
