"""Socket.IO channel for the open-source rasa-webchat widget (botfront, 1.x), speaking Rasa's protocol.

The widget connects to `/socket.io/`, sends `session_request` with the session id it remembers (or
none), and shows nothing until `session_confirm` names the session. Its messages are `user_uttered`
`{"message", "session_id", "customData"}`; the bot answers with `bot_uttered` events sent to a room named
after the session, so every connection that confirmed the session gets them: a reconnect, a reloaded
page, a second tab. New session ids are the server's signed sender ids (bot/core/senders.py): the room and
the conversation are kept under the unsigned part, so an id read from the database cannot join them. A
citizen writing too fast gets the kind "slow down" text (the channel's `Gate`); only pages of the allowed
origins may connect (`origin_check`).

The widget drops, without a word, any `bot_uttered` that is not exactly `{"text"}` or
`{"text", "quick_replies"}` (after taking off `metadata`), or an image attachment: `to_webchat` emits
only those shapes.

Pushing (`SocketIOSender`): the delivery worker sends the outbox's messages for a session to its room, from
the process the citizen is connected to.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import socketio
from aiohttp import web

from bot.channels.base import Channel, Gate, with_links
from bot.core import edge
from bot.core.edge import Refused
from bot.core.messages import Inbound, Link, Outbound
from bot.core.ports import Replier
from bot.delivery.sender import Unreachable

CHANNEL = "socketio"
PATH = "socket.io"
NAMESPACE = "/"
# One engine.io packet at most: a citizen's message is cut to 4,000 characters anyway; a bigger packet
# ends that connection (the widget reconnects and confirms the same session).
MAX_PACKET = 64 * 1024
SESSION_ID = re.compile(r"[A-Za-z0-9_.:@-]{1,128}")

log = logging.getLogger(__name__)


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL, lower case, without a path."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else url.strip().lower()


def origin_check(setting: str, base_url: str) -> Callable[[str | None, dict[str, Any]], bool]:
    """Which pages may open a connection, checked on every socket.io request (engine.io answers any other
    Origin 400 and never echoes it): the bot's own site (`server.base_url`, or the address the request came
    to; `self` in the setting) and the origins listed in `socketio.cors_allowed_origins` (comma-separated);
    `*` allows every page.
    A request without an Origin (not a browser) is not a cross-site request and passes."""
    listed = {origin_of(origin) for origin in setting.split(",") if origin.strip()}
    anyone = "*" in listed
    own = origin_of(base_url) if base_url else ""

    def allowed(origin: str | None, environ: dict[str, Any]) -> bool:
        if origin is None or anyone:
            return True
        found = origin_of(origin)
        here = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}".lower()
        return found in listed or found in (own, here)

    return allowed


def message_id_from(data: Any) -> str | None:
    """The client's id for this message, when it sent a usable one (`message_id`, or in `customData`): a
    message sent again with it (a client's retry) is answered with the reply given the first time."""
    custom = data.get("customData")
    value = data.get("message_id", custom.get("message_id") if isinstance(custom, dict) else None)
    if value is None:
        return None
    try:
        return edge.check_id(value, "message_id")
    except Refused:
        return None


def session_id_from(data: Any) -> str | None:
    """The session id a client sent, when it is one we can use as a room name and a sender key."""
    value = data.get("session_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and SESSION_ID.fullmatch(value) else None


def to_webchat(messages: list[Outbound], base_url: str = "") -> list[dict[str, Any]]:
    """`bot_uttered` payloads in the only shapes rasa-webchat shows: text (links written into it, as the
    REST channel does), text with quick replies, or an image. A file becomes a link line in its message's
    text, made absolute with `base_url` (the widget lives on someone else's page), so the message keeps its
    quick replies: the widget shows them only under the last message. An image goes before its text."""
    out: list[dict[str, Any]] = []
    for message in messages:
        links = list(message.links)
        if message.file is not None:
            url = message.file.url
            if not url.startswith(("https://", "http://")):
                url = f"{base_url.rstrip('/')}/{url.lstrip('/')}"
            links.append(Link(message.file.name or url, url))
        if message.image:
            out.append({"attachment": {"type": "image", "payload": {"src": message.image}}})
        text = with_links(message.text, links)
        if message.buttons:
            replies = [{"content_type": "text", "title": b.title, "payload": b.payload} for b in message.buttons]
            out.append({"text": text, "quick_replies": replies})
        elif text:
            out.append({"text": text})
    return out


class WebchatChannel(Channel):
    """The socket.io server's event handlers. Events of one connection are handled one at a time, so
    replies come back in the order the citizen wrote."""

    name = CHANNEL

    def __init__(
        self, server: socketio.AsyncServer, bot: Replier, apology: str, gate: Gate, base_url: str = ""
    ) -> None:
        super().__init__(bot, apology)
        self.server = server
        self.gate = gate
        self.base_url = base_url
        self.sessions: dict[str, str] = {}  # connection -> the conversation key (its room)
        self.locks: dict[str, asyncio.Lock] = {}
        server.on("connect", self.connect)
        server.on("disconnect", self.disconnect)
        server.on("session_request", self.session_request)
        server.on("user_uttered", self.user_uttered)

    async def connect(self, sid: str, environ: Any, auth: Any = None) -> None:
        self.locks[sid] = asyncio.Lock()

    async def disconnect(self, sid: str, *reason: Any) -> None:
        self.sessions.pop(sid, None)
        self.locks.pop(sid, None)

    async def join(self, sid: str, session: str) -> None:
        """Put this connection in the session's room, and only that one. Awaited: Rasa's channel loses
        replies after a reconnect because it forgets to await `enter_room` (RasaHQ/rasa#13027)."""
        previous = self.sessions.get(sid)
        if previous == session:
            return
        if previous is not None:
            await self.server.leave_room(sid, previous)
        await self.server.enter_room(sid, session)
        self.sessions[sid] = session

    async def conversation_key(self, session: str | None) -> str | None:
        """The key (and room) of a session id the client sent, or None when the server does not accept it."""
        if session is None:
            return None
        try:
            return await self.gate.senders.conversation_key(session)
        except Refused:
            return None

    async def session_request(self, sid: str, data: Any = None) -> None:
        """Confirm the session the widget remembers when the server accepts it; else a new signed one (a
        forged or unsigned id is never confirmed, so it cannot join someone else's conversation)."""
        async with self.locks.setdefault(sid, asyncio.Lock()):
            session = session_id_from(data)
            key = await self.conversation_key(session)
            if session is None or key is None:
                session = await self.gate.senders.issue()
                key = await self.gate.senders.conversation_key(session)
            await self.join(sid, key)
            await self.server.emit("session_confirm", session, to=sid)

    async def user_uttered(self, sid: str, data: Any = None) -> None:
        async with self.locks.setdefault(sid, asyncio.Lock()):
            if not isinstance(data, dict):
                log.info("socketio: user_uttered without an object ignored")
                return
            text = data.get("message")
            if text is None or text == "":
                # The widget sends its initPayload once the session is confirmed: null, or no key at
                # all, when none is set. Nothing was said, so nothing is answered; a site that wants a
                # greeting sets initPayload "/greet", which presses the greeting like a button.
                return
            if not isinstance(text, str) or edge.text_problem(text):
                log.info("socketio: user_uttered with a message that is not storable text ignored")
                return
            sent = session_id_from(data)
            key = await self.conversation_key(sent) if sent is not None else self.sessions.get(sid)
            if key is None and sent is None:  # no session asked for: a new one, for this connection only
                key = await self.gate.senders.conversation_key(await self.gate.senders.issue())
            if key is None:
                log.info("socketio: user_uttered with a session id the server does not accept ignored")
                return
            await self.join(sid, key)
            if not self.gate.rates.allows(key):
                await self.server.emit("bot_uttered", {"text": self.gate.slow_down}, to=sid)
                return
            answer = await self.answer(Inbound(CHANNEL, key, text, message_id_from(data)))
            for reply in to_webchat(answer.replies or [], self.base_url):
                await self.server.emit("bot_uttered", reply, room=key)


def add_routes(
    app: web.Application, bot: Replier, apology: str, gate: Gate, cors_allowed_origins: str, base_url: str = ""
) -> WebchatChannel:
    """Serve the widget's socket.io endpoint (`/socket.io/`) on the bot's aiohttp app. No credentials are
    allowed cross-site: the widget needs no cookies."""
    server = socketio.AsyncServer(
        async_mode="aiohttp",
        cors_allowed_origins=origin_check(cors_allowed_origins, base_url),
        cors_credentials=False,
        max_http_buffer_size=MAX_PACKET,
        logger=False,
        engineio_logger=False,
    )
    server.attach(app, socketio_path=PATH)
    return WebchatChannel(server, bot, apology, gate, base_url)


class SocketIOSender:
    """Pushes outbox messages to a session's room (`bot_uttered`). A socket.io connection lives in one bot
    process: when nobody here has joined the room, the message is `Unreachable` here, and the worker puts it
    back for the process the citizen is connected to (or for when the citizen comes back)."""

    def __init__(self, server: socketio.AsyncServer, base_url: str = "") -> None:
        self.server = server
        self.base_url = base_url

    def connected(self, session: str) -> bool:
        return any(True for _ in self.server.manager.get_participants(NAMESPACE, session))

    async def send(self, recipient: str, messages: list[Outbound]) -> str | None:
        if not self.connected(recipient):
            raise Unreachable("no web chat connection for this session in this process")
        for reply in to_webchat(messages, self.base_url):
            await self.server.emit("bot_uttered", reply, room=recipient)
        return None
