"""The Telegram channel: Bot API updates in, the dispatcher's replies out, through python-telegram-bot.

Telegram is transport only. PTB parses updates and calls the Bot API; the conversation (its state, its
order, dropping a repeated delivery) is the dispatcher's. Every message and every pressed button becomes
one `Inbound("telegram", chat id, text, message_id=update id)`, so an update Telegram delivers twice is
handled once, and the reply given the first time is sent again (Telegram delivers again when the first
delivery failed: the reply may never have reached the citizen). A message without text (photo, sticker,
voice) goes in with empty text, which the dispatcher answers with `not_understood_media`. Edited messages
are not answered a second time.

The webhook (`POST /webhooks/telegram/webhook`, telegram_webhook.py) and polling (`ementor telegram
--polling`, polling.py) both drive this one channel.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import CallbackQuery, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.channels.base import Channel
from bot.channels.telegram.buttons import CallbackData
from bot.channels.telegram.group import TelegramGroup
from bot.channels.telegram.send import send
from bot.core.messages import Inbound, Outbound
from bot.core.ports import PayloadTable, Replier, StorageUnavailable

CHANNEL = "telegram"
ALLOWED_UPDATES = ("message", "callback_query")
# Telegram's apps send /start when a citizen opens the bot (a deep link adds a parameter): that is a hello.
_START = re.compile(r"/start(@\w+)?(\s.*)?", re.DOTALL)
GREETING = "/greet"

PtbApplication = Application[Any, Any, Any, Any, Any, Any]
log = logging.getLogger(__name__)
# httpx logs every request URL at INFO, and a Bot API URL holds the token
logging.getLogger("httpx").setLevel(logging.WARNING)


def build_application(token: str, base_url: str, *, polling: bool) -> PtbApplication:
    """PTB's Application; without an Updater for the webhook, which our own aiohttp app serves."""
    builder = Application.builder().token(token).base_url(base_url)
    if polling:
        return builder.build()
    return builder.updater(None).build()


class TelegramChannel(Channel):
    name = CHANNEL

    def __init__(
        self,
        application: PtbApplication,
        bot: Replier,
        apology: str,
        payloads: PayloadTable,
        group: TelegramGroup | None = None,
    ) -> None:
        super().__init__(bot, apology)
        self.application = application
        self.group = group  # the eMentors' group: its updates never reach the dispatcher
        self.callback_data = CallbackData(payloads)
        application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, self.on_message))
        application.add_handler(CallbackQueryHandler(self.on_callback))
        application.add_error_handler(self.on_error)

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, chat = update.message, update.effective_chat
        if message is None or chat is None:
            return
        if self.group is not None and self.group.handles(chat.id):
            await self._in_group(update, context, lambda group: group.on_message(update, context))
            return
        text = message.text or ""
        if _START.fullmatch(text):
            text = GREETING
        replies = await self.turn(chat.id, text, update.update_id)
        if replies:
            await send(context.bot, chat.id, replies, self.callback_data)

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, chat = update.callback_query, update.effective_chat
        if query is None:
            return
        if chat is None or not query.data:  # a game or an inline-mode message: not ours
            await query.answer()
            return
        if self.group is not None and self.group.handles(chat.id):
            data = query.data
            await self._in_group(update, context, lambda group: self._group_button(group, query, data))
            return
        replies = await self.turn(chat.id, query.data, update.update_id, pressed=True)
        if replies is None:
            return  # a repeated delivery whose reply was not kept: the first one answered the query
        try:
            await query.answer()
        except TelegramError as exc:  # a query answered too late is refused; the replies still matter
            log.warning("telegram update %s: callback query not answered: %s", update.update_id, exc)
        await send(context.bot, chat.id, replies, self.callback_data)

    async def _in_group(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        act: Callable[[TelegramGroup], Awaitable[None]],
    ) -> None:
        """An eMentors' group update, once (a repeated delivery is dropped); with the database away, the
        eMentor is told to try again rather than their reply or button being lost without a word."""
        assert self.group is not None
        try:
            if await self.group.desk.first_delivery(update.update_id):
                await act(self.group)
        except StorageUnavailable:
            await self.group.unavailable(update, context, self.apology)

    async def _group_button(self, group: TelegramGroup, query: CallbackQuery, data: str) -> None:
        await group.on_button(query, await self.callback_data.decode(data))

    async def turn(self, chat_id: int, text: str, update_id: int, pressed: bool = False) -> list[Outbound] | None:
        """The bot's replies (None for a repeated update); a kind word when the database is away."""
        try:
            if pressed:
                text = await self.callback_data.decode(text)
        except StorageUnavailable:
            return [Outbound(self.apology)]
        answer = await self.answer(Inbound(CHANNEL, str(chat_id), text, message_id=str(update_id)))
        return answer.replies

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        if isinstance(context.error, TelegramError):  # e.g. the citizen blocked the bot: one line is enough
            log.warning("telegram update %s: %s: %s", update_id, type(context.error).__name__, context.error)
        else:
            log.error("telegram update %s failed", update_id, exc_info=context.error)
