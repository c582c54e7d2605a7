"""eMentor and admin accounts: who may use the consoles and the eMentor API, who is online to take a citizen.

One table for both: an account has a display name, a login (`username`, with an Argon2 password hash kept by
bot/consoles/auth.py) and a role (ementor | admin), and may have an API token and a Telegram user id. An
account's API token is shown once, when it is made, and only its SHA-256 hash is stored: a leaked database does
not leak working tokens, and a lookup by hash needs no constant-time comparison. Tokens are never logged. A
Telegram user id links the account to the eMentors' group, where buttons are pressed. Names are unique (case
and spaces aside), so an eMentor is never mistaken for a colleague.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from typing import TypedDict, cast

from bot.core.ports import Tx

MAX_NAME = 80


ROLES = ("ementor", "admin")
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,39}")


class EmentorRow(TypedDict):
    """An account as it leaves storage: never its token or password hash."""

    id: int
    name: str
    telegram_user_id: int | None
    online_until: datetime | None
    active: int
    created_at: datetime
    username: str | None
    role: str


_PUBLIC = ", ".join(EmentorRow.__annotations__)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def first_name(name: str) -> str:
    """What the citizen is told: "Du taler nu med Anna" — the first name only."""
    return (name.split() or ["eMentor"])[0]


def clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"an eMentor's name is 1 to {MAX_NAME} characters")
    return name


def clean_username(username: str) -> str:
    """A login: 2 to 40 of a-z, 0-9, '.', '_' and '-', lower case."""
    username = username.strip().lower()
    if not _USERNAME.fullmatch(username):
        raise ValueError("a login name is 2 to 40 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit")
    return username


async def by_name(tx: Tx, name: str) -> EmentorRow | None:
    rows = await tx.fetch(f"SELECT {_PUBLIC} FROM ementors WHERE LOWER(name) = :name", name=clean_name(name).lower())
    return cast(EmentorRow, rows[0]) if rows else None


async def by_username(tx: Tx, username: str) -> EmentorRow | None:
    rows = await tx.fetch(f"SELECT {_PUBLIC} FROM ementors WHERE username = :u", u=username.strip().lower()[:40])
    return cast(EmentorRow, rows[0]) if rows else None


async def by_id(tx: Tx, ementor_id: int) -> EmentorRow | None:
    rows = await tx.fetch(f"SELECT {_PUBLIC} FROM ementors WHERE id = :id", id=ementor_id)
    return cast(EmentorRow, rows[0]) if rows else None


async def create_ementor(tx: Tx, name: str, telegram_user_id: int | None, now: datetime) -> tuple[int, str]:
    """A new account; its id and its API token (shown once: only the hash is kept). A name already taken is
    refused (ValueError)."""
    name = clean_name(name)
    if await by_name(tx, name) is not None:
        raise ValueError(f"there is already an eMentor called {name!r}")
    token = secrets.token_urlsafe(32)
    rows = await tx.fetch(
        "INSERT INTO ementors (name, token_hash, telegram_user_id, active, created_at)"
        " VALUES (:name, :hash, :telegram, 1, :now) RETURNING id",
        name=name,
        hash=token_hash(token),
        telegram=telegram_user_id,
        now=now,
    )
    return int(rows[0]["id"]), token


async def authenticate(tx: Tx, token: str) -> EmentorRow | None:
    """The active account holding `token`, or None (an unknown and a disabled account look the same)."""
    if not token or len(token) > 200:
        return None
    rows = await tx.fetch(
        f"SELECT {_PUBLIC} FROM ementors WHERE token_hash = :hash AND active = 1", hash=token_hash(token)
    )
    return cast(EmentorRow, rows[0]) if rows else None


async def by_telegram_user(tx: Tx, telegram_user_id: int) -> EmentorRow | None:
    rows = await tx.fetch(
        f"SELECT {_PUBLIC} FROM ementors WHERE telegram_user_id = :telegram AND active = 1",
        telegram=telegram_user_id,
    )
    return cast(EmentorRow, rows[0]) if rows else None


async def new_token(tx: Tx, ementor_id: int) -> str | None:
    """A new API token for the account (the old one stops working at once); None for an unknown account."""
    token = secrets.token_urlsafe(32)
    changed = await tx.execute(
        "UPDATE ementors SET token_hash = :hash WHERE id = :id", hash=token_hash(token), id=ementor_id
    )
    return token if changed else None


async def set_active(tx: Tx, ementor_id: int, active: bool) -> bool:
    """Disable (or enable again) an account: a disabled one cannot log in, use the API or act in the group."""
    changed = await tx.execute("UPDATE ementors SET active = :a WHERE id = :id", a=1 if active else 0, id=ementor_id)
    return changed > 0


async def set_login(tx: Tx, ementor_id: int, username: str, role: str, password_hash: str) -> None:
    """Give an account a console login (or a new password or role)."""
    if role not in ROLES:
        raise ValueError(f"a role is one of {', '.join(ROLES)}")
    taken = await by_username(tx, username)
    if taken is not None and taken["id"] != ementor_id:
        raise ValueError(f"the login name {username!r} is taken")
    await tx.execute(
        "UPDATE ementors SET username = :u, role = :role, password_hash = :hash WHERE id = :id",
        u=clean_username(username),
        role=role,
        hash=password_hash,
        id=ementor_id,
    )


async def password_hash_of(tx: Tx, ementor_id: int) -> str | None:
    rows = await tx.fetch("SELECT password_hash FROM ementors WHERE id = :id AND active = 1", id=ementor_id)
    return str(rows[0]["password_hash"]) if rows and rows[0]["password_hash"] else None


async def list_ementors(tx: Tx) -> list[EmentorRow]:
    return cast(list[EmentorRow], await tx.fetch(f"SELECT {_PUBLIC} FROM ementors ORDER BY id"))


async def set_online(tx: Tx, ementor_id: int, until: datetime | None) -> bool:
    """Online until `until` (None: offline now); False for an unknown account."""
    changed = await tx.execute("UPDATE ementors SET online_until = :until WHERE id = :id", until=until, id=ementor_id)
    return changed > 0


async def online_count(tx: Tx, now: datetime) -> int:
    """eMentors who said they are online and whose time has not run out."""
    rows = await tx.fetch(
        "SELECT COUNT(*) AS n FROM ementors WHERE active = 1 AND online_until IS NOT NULL AND online_until > :now",
        now=now,
    )
    return int(rows[0]["n"])
