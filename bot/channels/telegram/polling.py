"""Polling: the Telegram channel for a bot without a public URL (`ementor telegram --polling`).

PTB's Updater long-polls getUpdates (it removes a registered webhook first, as the Bot API requires) and
the Application handles one update after another, so a citizen's messages are answered in their order.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram.error import TelegramError

from bot.channels.telegram.channel import ALLOWED_UPDATES, TelegramChannel

log = logging.getLogger(__name__)


def _poll_failed(exc: TelegramError) -> None:
    """One line per failed getUpdates (PTB retries, waiting longer each time) instead of a traceback."""
    log.warning("Telegram getUpdates failed, trying again: %s", exc)


async def poll(channel: TelegramChannel, stop: asyncio.Event, timeout: float = 10.0) -> None:
    """Answer updates until `stop` is set; `timeout` is how long one getUpdates waits for news."""
    application = channel.application
    if application.updater is None:
        raise ValueError("polling needs an Application built with an Updater")
    async with application:
        await application.updater.start_polling(
            timeout=timedelta(seconds=timeout), allowed_updates=list(ALLOWED_UPDATES), error_callback=_poll_failed
        )
        await application.start()
        log.info("Telegram channel polling as @%s", application.bot.username)
        try:
            await stop.wait()
        finally:
            await application.updater.stop()
            await application.stop()
