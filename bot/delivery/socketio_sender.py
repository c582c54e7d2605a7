"""Pushing outbox messages to the web chat widget over socket.io (`bot_uttered` to the session's room).

A socket.io connection lives in one bot process. When nobody in this process has joined the session's
room, the message is `Unreachable` here: the worker puts it back for the process the citizen is connected
to (or for when the citizen comes back).
"""

from __future__ import annotations

import socketio

from bot.channels.socketio import to_webchat
from bot.core.messages import Outbound
from bot.delivery.sender import Unreachable

NAMESPACE = "/"


class SocketIOSender:
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
