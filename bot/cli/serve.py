"""`ementor run | chat | telegram | db upgrade`: the bot's processes, each built through bot/runtime.py."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.config import Settings


def add_commands(commands: Any) -> None:
    run = commands.add_parser("run", help="serve the bot (trains the model first when needed)")
    run.set_defaults(func=cmd_run)

    telegram = commands.add_parser("telegram", help="the Telegram channel: polling, or registering the webhook")
    mode = telegram.add_mutually_exclusive_group(required=True)
    mode.add_argument("--polling", action="store_true", help="fetch updates with getUpdates (no public URL needed)")
    mode.add_argument("--set-webhook", metavar="URL", help="have Telegram post to URL (…/webhooks/telegram/webhook)")
    telegram.set_defaults(func=cmd_telegram)

    chat = commands.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument("--sender", help="conversation id (default: your user name)")
    chat.set_defaults(func=cmd_chat)

    db = commands.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db_upgrade = db.add_parser("upgrade", help="apply the database migrations")
    db_upgrade.set_defaults(func=cmd_db_upgrade)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import run

    run(settings)
    return 0


def cmd_telegram(args: argparse.Namespace, settings: Settings) -> int:
    from telegram.error import TelegramError

    from bot.cli.telegram import require_token, run_polling, set_webhook

    require_token(settings)
    try:
        if args.set_webhook:
            asyncio.run(set_webhook(settings, args.set_webhook))
            print(f"Telegram now posts updates to {args.set_webhook}")
        else:
            run_polling(settings)
    except TelegramError as exc:
        print(f"telegram error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.channels.terminal import chat
    from bot.runtime import build_runtime, open_store, prepare_model, serve_edits

    model = prepare_model(settings)
    store = open_store(settings)

    async def session() -> None:
        runtime = build_runtime(settings, model, store)
        await serve_edits(store, Path(settings.conversation.flows))  # no worker here: the edited texts once
        try:
            await chat(runtime.dispatcher, sender=args.sender)
        finally:
            await runtime.close()

    asyncio.run(session())
    return 0


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from bot.storage.migrate import upgrade

    upgrade(settings.database.url)
    print(f"database at {settings.database.url} is up to date")
    return 0
