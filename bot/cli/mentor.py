"""`ementor mentor …`: eMentor accounts and blocked time from the command line (until the web consoles).

`add` prints the new account's API token once; only its hash is kept, so a lost or leaked token is replaced
with `token NAME` (the old one stops at once). Names are unique: a second "Anna Hansen" is refused, so a
citizen and a colleague never mistake one eMentor for another. `disable NAME` stops an account (no API, no
Telegram group, no console login; it goes offline, and when it was the last one online the waiting citizens
are offered a booking), `enable NAME` lets it in again. `block` and `unblock` take local (Copenhagen) times
as a job centre writes them: "2026-12-03 10:00"; a block over booked citizens lists them and changes nothing
unless `--cancel-bookings` says to cancel them (each citizen is told).
"""

from __future__ import annotations

import argparse
import sys
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
    token = mentor.add_parser("token", help="a new API token for NAME, shown once (the old one stops working)")
    token.add_argument("name")
    token.set_defaults(func=cmd_token)
    disable = mentor.add_parser("disable", help="stop NAME's account: no API, no Telegram group, no login")
    disable.add_argument("name")
    disable.set_defaults(func=cmd_active, active=False)
    enable = mentor.add_parser("enable", help="let NAME's disabled account in again")
    enable.add_argument("name")
    enable.set_defaults(func=cmd_active, active=True)
    block = mentor.add_parser("block", help='block time at a location: FROM and TO like "2026-12-03 10:00"')
    block.add_argument("location")
    block.add_argument("start", metavar="FROM")
    block.add_argument("end", metavar="TO")
    block.add_argument("--places", type=int, help="places blocked (default: all)")
    block.add_argument("--reason", default="", help="shown to other eMentors")
    block.add_argument(
        "--cancel-bookings",
        action="store_true",
        help="cancel the bookings the block takes (each citizen is told); without it they are only listed",
    )
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
    except ValueError as exc:  # a name already taken, or an empty or too long one
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"eMentor #{ementor_id} {' '.join(args.name.split())} created.")
    print(f"API token: {token}")
    print("The token is shown only now: keep it safe (only a hash of it is stored).")
    return 0


def _account_id(settings: Settings, name: str) -> int | None:
    """The account called `name` (case and spaces aside); None, with the reason printed, when there is none."""
    from bot.escalation.accounts import by_name

    try:
        row = _run(settings, lambda tx: by_name(tx, name))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    if row is None:
        print(f"error: no eMentor called {' '.join(name.split())!r} (see `ementor mentor list`)", file=sys.stderr)
        return None
    return int(row["id"])


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    from bot.escalation.accounts import new_token

    account_id = _account_id(settings, args.name)
    if account_id is None:
        return 1
    token = _run(settings, lambda tx: new_token(tx, account_id))
    if token is None:
        print(f"error: no eMentor #{account_id}", file=sys.stderr)
        return 1
    print(f"New API token for eMentor #{account_id}: {token}")
    print("The old token no longer works. The new one is shown only now: keep it safe.")
    return 0


def cmd_active(args: argparse.Namespace, settings: Settings) -> int:
    from bot.consoles.auth import close_sessions_of
    from bot.escalation import accounts, handover

    account_id = _account_id(settings, args.name)
    if account_id is None:
        return 1

    async def work(tx: Tx) -> None:
        await accounts.set_active(tx, account_id, args.active)
        if not args.active:
            await accounts.set_online(tx, account_id, None)
            await close_sessions_of(tx, account_id)
            await handover.close_queue_if_nobody_online(tx, settings, _now())

    _run(settings, work)
    if args.active:
        print(f"eMentor #{account_id} enabled")
    else:
        print(f"eMentor #{account_id} disabled: its token, Telegram link and login no longer work")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from bot.escalation.accounts import list_ementors

    rows = _run(settings, list_ementors)
    now = _now()
    for row in rows:
        online = row["online_until"] is not None and row["online_until"] > now
        telegram = f"telegram {row['telegram_user_id']}" if row["telegram_user_id"] else "no telegram"
        state = ("online" if online else "offline") if row["active"] else "disabled"
        print(f"#{row['id']}  {row['name']}  ({telegram}, {state})")
    if not rows:
        print("no eMentors yet: add one with `ementor mentor add NAME`")
    return 0


def cmd_block(args: argparse.Namespace, settings: Settings) -> int:
    from bot.booking.blocks import bookings_under
    from bot.booking.cancel_notice import block_over_bookings
    from bot.booking.places import find_location
    from bot.core import words

    location = find_location(settings.booking, args.location)
    if location is None:
        known = ", ".join(loc.id for loc in settings.booking.locations) or "none configured"
        raise ConfigError(f"location {args.location!r} is not in booking.locations ({known})")
    start, end = local_time(args.start, "FROM"), local_time(args.end, "TO")
    if end <= start:
        raise ConfigError("TO must be after FROM")
    if args.places is not None and args.places < 1:
        raise ConfigError("--places must be at least 1")
    if end <= _now():
        raise ConfigError("TO is in the past: a block must end in the future")
    under = _run(settings, lambda tx: bookings_under(tx, location, start, end, args.places, _now()))
    if under and not args.cancel_bookings:
        print(f"the block would cancel {len(under)} booking(s); nothing was changed:", file=sys.stderr)
        for row in under:
            print(f"  {row['reference']}  {words.when(row['starts_at'], 'da')}  {row['name'] or ''}", file=sys.stderr)
        print("run it again with --cancel-bookings to block and cancel them (each citizen is told)", file=sys.stderr)
        return 1
    block_id, cancelled = _run(
        settings,
        lambda tx: block_over_bookings(tx, settings, _now(), location.id, start, end, args.places, args.reason, None),
    )
    places = "all places" if args.places is None else f"{args.places} place(s)"
    print(f"block #{block_id}: {args.location} {args.start} – {args.end}, {places}")
    if cancelled:
        print(f"cancelled, citizens told: {', '.join(row['reference'] for row in cancelled)}")
    print(f"remove it with: ementor mentor unblock {block_id}")
    return 0


def cmd_unblock(args: argparse.Namespace, settings: Settings) -> int:
    from bot.booking.blocks import remove_block

    if not _run(settings, lambda tx: remove_block(tx, args.id)):
        print(f"no block #{args.id}")
        return 1
    print(f"block #{args.id} removed: the time is bookable again")
    return 0
