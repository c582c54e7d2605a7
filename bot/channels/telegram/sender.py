"""Pushing outbox messages to Telegram chats (citizens, and the eMentors' group) through the Bot API.

The sender has a Bot of its own, so reminders go out whether updates arrive by webhook, by polling in
another process, or not at all. It is initialised on the first send: a Bot API that is away at start-up
only delays the messages (they are retried).

Telegram's refusals are sorted for the worker: the citizen blocked the bot (Forbidden) or the request itself
is wrong (BadRequest, e.g. "chat not found") will not get better by trying again, so the row fails at once;
flood control (RetryAfter) is retried when Telegram says, without counting an attempt; network trouble is
retried later.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter

from bot.channels.telegram.buttons import CallbackData
from bot.channels.telegram.send import send
from bot.core.messages import Outbound
from bot.core.ports import PayloadTable
from bot.delivery.sender import PermanentFailure, RetryLater


class TelegramSender:
    def __init__(self, bot: Bot, payloads: PayloadTable) -> None:
        self.bot = bot
        self.callback_data = CallbackData(payloads)
        self._ready = False
        self._starting = asyncio.Lock()

    @classmethod
    def from_token(cls, token: str, base_url: str, payloads: PayloadTable) -> TelegramSender:
        return cls(Bot(token, base_url=base_url), payloads)

    async def _initialize(self) -> None:
        async with self._starting:
            if not self._ready:
                await self.bot.initialize()
                self._ready = True

    async def send(self, recipient: str, messages: list[Outbound]) -> str | None:
        try:
            chat_id = int(recipient)
        except ValueError:
            raise PermanentFailure(f"not a Telegram chat id: {recipient[:40]!r}") from None
        await self._initialize()
        try:
            sent = await send(self.bot, chat_id, messages, self.callback_data)
        except (Forbidden, BadRequest) as exc:
            raise PermanentFailure(f"{type(exc).__name__}: {exc}") from exc
        except RetryAfter as exc:
            wait = exc.retry_after  # a timedelta (telegram_send opts in to PTB's coming type), or seconds
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            raise RetryLater(seconds, str(exc)) from exc
        return str(sent[-1]) if sent else None

    async def close(self) -> None:
        if self._ready:
            self._ready = False
            await self.bot.shutdown()
