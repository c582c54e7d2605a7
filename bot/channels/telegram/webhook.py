"""`POST /webhooks/telegram/webhook` on the bot's own aiohttp app, as PTB's customwebhookbot example does it.

An Application without an Updater; each request is checked, parsed with `Update.de_json` and handled with
`process_update` before the answer, so Telegram sees 200 only for an update that was dealt with.
Telegram sends the secret given to setWebhook in `X-Telegram-Bot-Api-Secret-Token`; a request without it
is not from Telegram and gets 403 before anything is read.

PTB needs one `getMe` before it handles updates. When the Bot API cannot be reached at start-up, the rest
of the bot still starts: the webhook answers 503 (Telegram delivers again later) while getMe is retried.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import secrets

from aiohttp import web
from telegram import Update
from telegram.error import InvalidToken, TelegramError

from bot.channels.telegram.channel import TelegramChannel, build_application
from bot.channels.telegram.group import GroupDesk, TelegramGroup
from bot.config import ConfigError, Settings
from bot.core.ports import PayloadTable, Replier

WEBHOOK_PATH = "/webhooks/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_ENV = "EMENTOR_TELEGRAM_WEBHOOK_SECRET"
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts as secret_token
RETRY_SECONDS = (1, 2, 5, 10, 30, 60)
log = logging.getLogger(__name__)


def webhook_secret(settings: Settings) -> str | None:
    secret = settings.telegram_webhook_secret
    if secret is not None and not _SECRET.fullmatch(secret):
        raise ConfigError(f"{SECRET_ENV}: 1 to 256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
    return secret


class Webhook:
    def __init__(self, channel: TelegramChannel, secret: str) -> None:
        self.channel = channel
        self.secret = secret.encode("utf-8")
        self.ready = False
        self._retry: asyncio.Task[None] | None = None

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8")
        if not secrets.compare_digest(given, self.secret):
            return web.Response(status=403, text="Forbidden")
        if not self.ready:
            return web.Response(status=503, text="The Telegram channel is starting")
        try:
            data = json.loads(await request.read())
            update = Update.de_json(data, self.channel.application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return web.Response(status=400, text="Not a Telegram update")
        await self.channel.application.process_update(update)
        return web.Response()

    async def start(self, _: web.Application) -> None:
        if not await self._initialize(first=True):
            self._retry = asyncio.create_task(self._keep_trying())

    async def stop(self, _: web.Application) -> None:
        if self._retry is not None:
            self._retry.cancel()
        if self.ready:
            await self.channel.application.shutdown()

    async def _initialize(self, first: bool) -> bool:
        """True when PTB is ready or never will be (a rejected token); False to try again later."""
        try:
            await self.channel.application.initialize()
        except InvalidToken:
            log.error("Telegram channel off: the Bot API rejected EMENTOR_TELEGRAM_TOKEN")
            return True
        except (TelegramError, OSError) as exc:
            (log.warning if first else log.debug)("Telegram Bot API not reachable yet (%s): webhook answers 503", exc)
            return False
        self.ready = True
        log.info("Telegram channel on %s", WEBHOOK_PATH)
        return True

    async def _keep_trying(self) -> None:
        for attempt in itertools.count():
            await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
            if await self._initialize(first=False):
                return


def mount(
    app: web.Application,
    bot: Replier,
    apology: str,
    payloads: PayloadTable,
    settings: Settings,
    desk: GroupDesk | None = None,
) -> None:
    """Serve the webhook when a bot token is set; otherwise log one line and leave the app without it."""
    if not settings.telegram_token:
        log.info("Telegram channel off: EMENTOR_TELEGRAM_TOKEN is not set")
        return
    secret = webhook_secret(settings)
    if secret is None:
        log.warning("Telegram webhook off: set %s (and give it to setWebhook) to receive updates", SECRET_ENV)
        return
    application = build_application(settings.telegram_token, settings.telegram.base_url, polling=False)
    group = TelegramGroup(desk) if desk is not None else None  # the eMentors' group, when configured
    hook = Webhook(TelegramChannel(application, bot, apology, payloads, group), secret)
    app.router.add_post(WEBHOOK_PATH, hook.handle)
    app.on_startup.append(hook.start)
    app.on_cleanup.append(hook.stop)
