"""The `ementor` command: run the bot and its channels, train and test the intent model, manage eMentors.

Each family of sub-commands is a module of this package with `add_commands`; the ones that need the
database or the running bot build it through bot/runtime.py, the one composition path.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot.cli import flows, mentor, nlu, outbox, serve, user
from bot.config import ConfigError, load_settings
from bot.core import logs
from bot.nlu.model_store import ModelError
from bot.nlu.training_data import TrainingDataError

EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
        logs.configure(settings.log_level, settings.logging.format)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        result: int = args.func(args, settings)
        return result
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
    except TrainingDataError as exc:
        print(f"training data error: {exc}", file=sys.stderr)
    except ModelError as exc:
        print(f"model error: {exc}", file=sys.stderr)
    return EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ementor", description=__doc__)
    parser.add_argument("--config", help="settings file (default: $EMENTOR_CONFIG or ./config.yml)")
    commands = parser.add_subparsers(dest="command", required=True)
    for family in (serve, nlu, mentor, user, outbox, flows):
        family.add_commands(commands)
    return parser
