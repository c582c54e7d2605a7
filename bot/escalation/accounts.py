"""eMentor accounts: who may use the eMentor API, who is online to take a citizen now.

An account's API token is shown once, when it is made, and only its SHA-256 hash is stored: a leaked
database does not leak working tokens, and a lookup by hash needs no constant-time comparison. Tokens are
never logged. A Telegram user id links the account to the eMentors' group, where buttons are pressed.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import TypedDict, cast

from bot.core.ports import Tx

MAX_NAME = 80


class EmentorRow(TypedDict):
    """An account as it leaves storage: never its token hash."""

    id: int
    name: str
    telegram_user_id: int | None
    online_until: datetime | None
    active: int
    created_at: datetime


_PUBLIC = ", ".join(EmentorRow.__annotations__)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def first_name(name: str) -> str:
    """What the citizen is told: "Du taler nu med Anna" — the first name only."""
    return (name.split() or ["eMentor"])[0]


async def create_ementor(tx: Tx, name: str, telegram_user_id: int | None, now: datetime) -> tuple[int, str]:
    """A new account; its id and its API token (shown once: only the hash is kept)."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"an eMentor's name is 1 to {MAX_NAME} characters")
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
