"""`ementor user …`: console logins (the eMentor and admin consoles at /login).

A login is an eMentor account with a user name, a role (ementor | admin) and an Argon2 password hash. `add`
links the login to an existing eMentor API account when `--name` names one (so a colleague who already
answers in the Telegram group or through the API keeps one account), and otherwise makes the account. The
password is asked for twice on the terminal, or read from EMENTOR_NEW_PASSWORD (for scripts); there is never
a default, and it is never printed or logged. `passwd` and `disable` end the account's open console sessions.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from bot.config import ConfigError, Settings
from bot.core.ports import Tx

T = TypeVar("T")
PASSWORD_ENV = "EMENTOR_NEW_PASSWORD"


def add_commands(commands: Any) -> None:
    user = commands.add_parser("user", help="console logins (eMentors and admins)").add_subparsers(
        dest="user_command", required=True
    )
    add = user.add_parser("add", help="give a person a console login; asks for the password")
    add.add_argument("username", help="the login name: 2-40 of a-z, 0-9, '.', '_' and '-'")
    add.add_argument("--role", choices=("ementor", "admin"), required=True)
    add.add_argument("--name", help="the name colleagues and citizens see (default: the login name); an "
                     "existing eMentor account with this name gets the login")  # fmt: skip
    add.add_argument("--telegram-user-id", type=int, help="links a new account to this user in the eMentors' group")
    add.set_defaults(func=cmd_add)
    listing = user.add_parser("list", help="every account, with its login and role")
    listing.set_defaults(func=cmd_list)
    passwd = user.add_parser("passwd", help="set a new password (ends the user's open logins)")
    passwd.add_argument("username")
    passwd.set_defaults(func=cmd_passwd)
    disable = user.add_parser("disable", help="stop an account: no login, no API, no Telegram group")
    disable.add_argument("username")
    disable.set_defaults(func=cmd_disable, active=False)
    enable = user.add_parser("enable", help="let a disabled account in again")
    enable.add_argument("username")
    enable.set_defaults(func=cmd_disable, active=True)


def _run(settings: Settings, work: Callable[[Tx], Awaitable[T]]) -> T:
    from bot.runtime import in_transaction

    return in_transaction(settings, work)


def _now() -> datetime:
    from bot.core.clock import utc_now

    return utc_now()


def new_password() -> str:
    """From EMENTOR_NEW_PASSWORD, or asked twice on the terminal; checked for length, never echoed."""
    from bot.consoles.auth import MIN_PASSWORD

    given = os.environ.get(PASSWORD_ENV)
    if given is None:
        if not sys.stdin.isatty():
            raise ConfigError(f"no terminal to ask for the password: set {PASSWORD_ENV}")
        given = getpass.getpass("New password: ")
        if getpass.getpass("Once more: ") != given:
            raise ConfigError("the two passwords differ")
    if len(given) < MIN_PASSWORD:
        raise ConfigError(f"a password is at least {MIN_PASSWORD} characters")
    return given


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from bot.consoles.auth import hash_password
    from bot.escalation import accounts

    try:
        username = accounts.clean_username(args.username)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    password_hash = hash_password(new_password())

    async def work(tx: Tx) -> tuple[int, bool]:
        if await accounts.by_username(tx, username) is not None:
            raise ValueError(f"the login name {username!r} is taken")
        existing = await accounts.by_name(tx, args.name) if args.name else None
        if existing is not None:
            if existing["username"]:
                raise ValueError(f"{existing['name']!r} already logs in as {existing['username']!r}")
            account_id, linked = int(existing["id"]), True
        else:
            account_id, _ = await accounts.create_ementor(tx, args.name or username, args.telegram_user_id, _now())
            linked = False
        await accounts.set_login(tx, account_id, username, args.role, password_hash)
        return account_id, linked

    try:
        account_id, linked = _run(settings, work)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    how = "linked to the existing eMentor account" if linked else "a new account"
    print(
        f"{username} ({args.role}, account #{account_id}, {how}) can now log in at {settings.server.base_url()}/login"
    )
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from bot.escalation.accounts import list_ementors

    rows = _run(settings, list_ementors)
    for row in rows:
        login = row["username"] or "(no login)"
        state = "active" if row["active"] else "disabled"
        telegram = f", telegram {row['telegram_user_id']}" if row["telegram_user_id"] else ""
        print(f"#{row['id']}  {login}  {row['name']}  {row['role']}  {state}{telegram}")
    if not rows:
        print("no accounts yet: add one with `ementor user add NAME --role admin`")
    return 0


def _find(settings: Settings, username: str) -> int:
    from bot.escalation.accounts import by_username

    row = _run(settings, lambda tx: by_username(tx, username))
    if row is None:
        raise ConfigError(f"no login {username!r} (see `ementor user list`)")
    return int(row["id"])


def cmd_passwd(args: argparse.Namespace, settings: Settings) -> int:
    from bot.consoles.auth import close_sessions_of, hash_password
    from bot.escalation import accounts

    account_id = _find(settings, args.username)
    password_hash = hash_password(new_password())

    async def work(tx: Tx) -> None:
        row = await accounts.by_id(tx, account_id)
        assert row is not None and row["username"]
        await accounts.set_login(tx, account_id, row["username"], row["role"], password_hash)
        await close_sessions_of(tx, account_id)

    _run(settings, work)
    print(f"new password set for {args.username}; their open logins have ended")
    return 0


def cmd_disable(args: argparse.Namespace, settings: Settings) -> int:
    from bot.consoles.auth import close_sessions_of
    from bot.escalation import accounts

    account_id = _find(settings, args.username)

    async def work(tx: Tx) -> None:
        await accounts.set_active(tx, account_id, args.active)
        if not args.active:
            await close_sessions_of(tx, account_id)

    _run(settings, work)
    print(f"{args.username} {'enabled' if args.active else 'disabled: no login, API or Telegram group'}")
    return 0
