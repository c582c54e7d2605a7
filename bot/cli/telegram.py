"""`ementor telegram`: the Telegram channel as a process of its own (polling), and registering the webhook.

Composed like `ementor run` (bot/runtime.py): the same model, flows, database and dispatcher; only the way
updates arrive differs.
"""

from __future__ import annotations

import asyncio
import signal

from telegram import Bot
from telegram.error import InvalidToken

from bot.channels.telegram.channel import ALLOWED_UPDATES, TelegramChannel, build_application
from bot.channels.telegram.group import TelegramGroup
from bot.channels.telegram.polling import poll
from bot.channels.telegram.webhook import SECRET_ENV, webhook_secret
from bot.config import ConfigError, Settings
from bot.nlu.classifier import IntentModel
from bot.runtime import build_runtime, open_store, prepare_model
from bot.storage.store import Store

REJECTED = "EMENTOR_TELEGRAM_TOKEN: the Telegram Bot API rejected this token"


def require_token(settings: Settings) -> str:
    if not settings.telegram_token:
        raise ConfigError("EMENTOR_TELEGRAM_TOKEN is not set: put the bot's token from @BotFather there")
    return settings.telegram_token


async def poll_telegram(
    settings: Settings, model: IntentModel, store: Store, stop: asyncio.Event, timeout: float = 10.0
) -> None:
    """Answer Telegram updates fetched with getUpdates until `stop` is set; meanwhile send the outbox's
    Telegram messages."""
    token = require_token(settings)
    runtime = build_runtime(settings, model, store)
    worker = runtime.worker()  # reminders and replies to Telegram chats, and the hand-over timeouts
    try:
        application = build_application(token, settings.telegram.base_url, polling=True)
        group = TelegramGroup(runtime.desk())  # the eMentors' group
        channel = TelegramChannel(application, runtime.dispatcher, runtime.apology, store, group)
        await worker.start()
        await poll(channel, stop, timeout)
    except InvalidToken:
        raise ConfigError(REJECTED) from None  # PTB's own message repeats the token
    finally:
        await worker.stop()
        await runtime.close()


def run_polling(settings: Settings) -> None:
    """`ementor telegram --polling`: until Ctrl-C or SIGTERM."""
    require_token(settings)
    model = prepare_model(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        store = open_store(settings)
        try:
            await poll_telegram(settings, model, store, stop)
        finally:
            await store.close()

    asyncio.run(main())


async def set_webhook(settings: Settings, url: str) -> None:
    """Tell Telegram to deliver updates to `url` (…/webhooks/telegram/webhook) with our secret."""
    token = require_token(settings)
    secret = webhook_secret(settings)
    if secret is None:
        raise ConfigError(f"{SECRET_ENV} is not set: the webhook refuses updates without it")
    if not url.startswith("https://"):
        raise ConfigError(f"--set-webhook {url}: Telegram delivers only to https:// URLs")
    try:
        async with Bot(token, base_url=settings.telegram.base_url) as bot:
            await bot.set_webhook(url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES))
    except InvalidToken:
        raise ConfigError(REJECTED) from None
