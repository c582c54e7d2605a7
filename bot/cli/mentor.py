"""`ementor mentor …`: eMentor accounts and blocked time from the command line (until the web consoles).

`add` prints the new account's API token once; only its hash is kept, so a lost token means a new account.
`block` and `unblock` take local (Copenhagen) times as a job centre writes them: "2026-12-03 10:00".
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from bot.config import ConfigError, Settings
from bot.core.ports import Tx

T = TypeVar("T")


def add_commands(commands: Any) -> None:
    """The `mentor` sub-commands, added to the CLI's sub-parsers."""
    mentor = commands.add_parser("mentor", help="eMentor accounts and blocked time").add_subparsers(
        dest="mentor_command", required=True
    )
    add = mentor.add_parser("add", help="create an eMentor account and print its API token (shown only once)")
    add.add_argument("name")
    add.add_argument("--telegram-user-id", type=int, help="links the account to this user in the eMentors' group")
    add.set_defaults(func=cmd_add)
    listing = mentor.add_parser("list", help="the eMentor accounts")
    listing.set_defaults(func=cmd_list)
    block = mentor.add_parser("block", help='block time at a location: FROM and TO like "2026-12-03 10:00"')
    block.add_argument("location")
    block.add_argument("start", metavar="FROM")
    block.add_argument("end", metavar="TO")
    block.add_argument("--places", type=int, help="places blocked (default: all)")
    block.add_argument("--reason", default="", help="shown to other eMentors")
    block.set_defaults(func=cmd_block)
    unblock = mentor.add_parser("unblock", help="remove a block by its id (see `ementor mentor block`)")
    unblock.add_argument("id", type=int)
    unblock.set_defaults(func=cmd_unblock)


def _run(settings: Settings, work: Callable[[Tx], Awaitable[T]]) -> T:
    from bot.runtime import in_transaction

    return in_transaction(settings, work)


def _now() -> datetime:
    from bot.core.clock import utc_now

    return utc_now()


def local_time(text: str, name: str) -> datetime:
    from bot.booking.availability import parse_local

    moment = parse_local(text)
    if moment is None:
        raise ConfigError(f'{name}: "{text}" is not a time like "2026-12-03 10:00"')
    return moment


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from bot.escalation.accounts import create_ementor

    try:
        ementor_id, token = _run(settings, lambda tx: create_ementor(tx, args.name, args.telegram_user_id, _now()))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    print(f"eMentor #{ementor_id} {' '.join(args.name.split())} created.")
    print(f"API token: {token}")
    print("The token is shown only now: keep it safe (only a hash of it is stored).")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from bot.escalation.accounts import list_ementors

    rows = _run(settings, list_ementors)
    now = _now()
    for row in rows:
        online = row["online_until"] is not None and row["online_until"] > now
        telegram = f"telegram {row['telegram_user_id']}" if row["telegram_user_id"] else "no telegram"
        print(f"#{row['id']}  {row['name']}  ({telegram}, {'online' if online else 'offline'})")
    if not rows:
        print("no eMentors yet: add one with `ementor mentor add NAME`")
    return 0


def cmd_block(args: argparse.Namespace, settings: Settings) -> int:
    from bot.booking.blocks import add_block
    from bot.booking.places import find_location

    if find_location(settings.booking, args.location) is None:
        known = ", ".join(loc.id for loc in settings.booking.locations) or "none configured"
        raise ConfigError(f"location {args.location!r} is not in booking.locations ({known})")
    start, end = local_time(args.start, "FROM"), local_time(args.end, "TO")
    if end <= start:
        raise ConfigError("TO must be after FROM")
    if args.places is not None and args.places < 1:
        raise ConfigError("--places must be at least 1")
    block_id = _run(
        settings, lambda tx: add_block(tx, args.location, start, end, args.places, args.reason, None, _now())
    )
    places = "all places" if args.places is None else f"{args.places} place(s)"
    print(f"block #{block_id}: {args.location} {args.start} – {args.end}, {places}")
    print(f"remove it with: ementor mentor unblock {block_id}")
    return 0


def cmd_unblock(args: argparse.Namespace, settings: Settings) -> int:
    from bot.booking.blocks import remove_block

    if not _run(settings, lambda tx: remove_block(tx, args.id)):
        print(f"no block #{args.id}")
        return 1
    print(f"block #{args.id} removed: the time is bookable again")
    return 0
