"""Rasa's REST channel: `POST /webhooks/rest/webhook` with `{"sender", "message"}` → a list of messages.

The same JSON as Rasa's, so existing clients work. Links are written into the text (every client shows
text); buttons carry Rasa payloads.

Sender ids pass the channel's `Gate` (bot/channels/base.py): `POST /webhooks/rest/sender` issues a signed one
(`{"sender": "s-….…"}`), the conversation is kept under its unsigned part, and a sender writing too fast is
answered 429 with the kind "slow down" text in both languages.

`GET /webhooks/rest/messages?sender=ID` hands out, once, the messages the bot has for that sender on its
own: an eMentor's replies during a hand-over, reminders, notices. Rasa's REST channel has no way to push
(it only answers a request), so those messages wait in a `Mailbox` (the outbox) and the client (the web
chat) polls.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.channels.base import Channel, Gate, with_links
from bot.core import edge
from bot.core.edge import Refused
from bot.core.messages import Inbound, Outbound
from bot.core.ports import Mailbox, Replier, StorageUnavailable

CHANNEL = "rest"


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


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _failure(refused: Refused) -> web.Response:
    body = {"status": "failure", "message": refused.message, "code": refused.status}
    return web.json_response(body, status=refused.status, dumps=_dumps)


class RestChannel(Channel):
    name = CHANNEL

    def __init__(self, bot: Replier, apology: str, mailbox: Mailbox, gate: Gate) -> None:
        super().__init__(bot, apology)
        self.mailbox = mailbox
        self.gate = gate

    async def webhook(self, request: web.Request) -> web.Response:
        try:
            payload = edge.load_json(await request.read(), nul_ok=True)  # the dispatcher cleans the text
            if not isinstance(payload, dict):
                raise Refused('Send {"sender": "...", "message": "..."}.')
            sender = edge.check_id(payload.get("sender"), "sender")
            text = payload.get("message")
            if text is None:
                text = ""
            if not isinstance(text, str):
                raise Refused('"message" must be a text.')
            raw_id = payload.get("message_id")
            message_id = edge.check_id(raw_id, "message_id") if raw_id is not None else None
            key = await self.gate.admit(sender)
        except StorageUnavailable:  # the signing key is read from the database once
            return web.json_response(to_rasa("", [Outbound(self.apology)]), status=503, dumps=_dumps)
        except Refused as refused:
            if refused.status == 429:  # too fast: the kind text, shown by any Rasa client as the bot's
                reply = [{"recipient_id": sender, "text": refused.message}]
                return web.json_response(reply, status=429, dumps=_dumps, headers={"Retry-After": "5"})
            return _failure(refused)
        answer = await self.answer(Inbound(CHANNEL, key, text, message_id))
        status = 503 if answer.unavailable else 200
        return web.json_response(to_rasa(sender, answer.replies or []), status=status, dumps=_dumps)

    async def messages(self, request: web.Request) -> web.Response:
        """The sender's waiting messages, each handed out once (an empty list when there are none)."""
        try:
            sender = edge.check_id(request.query.get("sender"), "sender")
            key = await self.gate.senders.conversation_key(sender)
            handed = await self.mailbox.take(CHANNEL, key)
        except Refused as refused:
            return _failure(refused)
        except StorageUnavailable:
            return web.json_response([], status=503)
        return web.json_response(to_rasa(sender, handed), dumps=_dumps, headers={"Cache-Control": "no-store"})

    async def new_sender(self, request: web.Request) -> web.Response:
        """A sender id of the server's own (random, signed): what the web chat, and any client that wants
        one, uses from then on. Only its unsigned part is ever stored."""
        try:
            issued = await self.gate.senders.issue()
        except StorageUnavailable:
            return web.json_response(
                {"status": "failure", "message": "Try again in a moment.", "code": 503}, status=503
            )
        return web.json_response({"sender": issued}, headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application, channel: RestChannel) -> None:
    app.router.add_post("/webhooks/rest/webhook", channel.webhook)
    app.router.add_get("/webhooks/rest/messages", channel.messages)
    app.router.add_post("/webhooks/rest/sender", channel.new_sender)
