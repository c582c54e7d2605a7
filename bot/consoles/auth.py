"""Console logins: Argon2 passwords, sessions in the database, CSRF tokens, and throttled failed logins.

A session is a random value in a cookie; the table keeps only its SHA-256, with the account, a CSRF token and
when it was made and last used, so any bot process can check it, and a leaked table opens no session. It ends
after `session_idle_minutes` without use and after `session_max_hours` whatever happens. Failed logins are
counted per account and address together, per address and per account (addresses kept only as keyed hashes),
each paused for `login_lock_minutes` at its own limit (see FACTORS), and the pause is logged, with neither the
name typed nor the address.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.config import ConsoleSettings
from bot.core.ports import ConversationStore, Tx
from bot.escalation import accounts
from bot.escalation.accounts import EmentorRow

log = logging.getLogger(__name__)
_HASHER = PasswordHasher()
# an Argon2 hash of nothing anyone types: checked when the account does not exist, so both cost the same
_DUMMY = _HASHER.hash(secrets.token_urlsafe(16))
MIN_PASSWORD = 10
COOKIE = "ementor_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password is at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def password_matches(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY, password[:1000]) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Session:
    user: EmentorRow
    csrf: str

    @property
    def is_admin(self) -> bool:
        return self.user["role"] == "admin"


async def open_session(tx: Tx, user: EmentorRow, now: datetime) -> str:
    """A new session for `user`; the value for the cookie (only its hash is stored)."""
    value = secrets.token_urlsafe(32)
    await tx.execute(
        "INSERT INTO console_sessions (id, ementor_id, csrf, created_at, seen_at)"
        " VALUES (:id, :user, :csrf, :now, :now)",
        id=_digest(value),
        user=user["id"],
        csrf=secrets.token_urlsafe(24),
        now=now,
    )
    return value


async def session_of(
    tx: Tx, value: str, settings: ConsoleSettings, now: datetime, touch: bool = True
) -> Session | None:
    """The live session behind a cookie value (its last use moved to `now` unless `touch` is False: a page
    left open that only listens for news is not use, and must not keep a login alive), or None."""
    if not value or len(value) > 100:
        return None
    rows = await tx.fetch(
        "SELECT ementor_id, csrf, created_at, seen_at FROM console_sessions WHERE id = :id", id=_digest(value)
    )
    if not rows:
        return None
    row = rows[0]
    idle = now - row["seen_at"] > timedelta(minutes=settings.session_idle_minutes)
    old = now - row["created_at"] > timedelta(hours=settings.session_max_hours)
    user = await accounts.by_id(tx, int(row["ementor_id"]))
    if idle or old or user is None or not user["active"]:
        await close_session(tx, value)
        return None
    if touch:
        await tx.execute("UPDATE console_sessions SET seen_at = :now WHERE id = :id", now=now, id=_digest(value))
    return Session(user, str(row["csrf"]))


async def close_session(tx: Tx, value: str) -> None:
    await tx.execute("DELETE FROM console_sessions WHERE id = :id", id=_digest(value))


async def close_sessions_of(tx: Tx, ementor_id: int) -> None:
    """Every login of an account ends (its password changed, or it was disabled)."""
    await tx.execute("DELETE FROM console_sessions WHERE ementor_id = :id", id=ementor_id)


def csrf_ok(session: Session, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(session.csrf.encode(), given.encode()[:200])


# ---- throttling ---------------------------------------------------------------------------------------------
# A key counts failed logins; each kind pauses after `login_max_failures` times its factor. The pair (this
# account from this address) pauses first: someone guessing one eMentor's password from one place. The address
# alone pauses later (guessing many names from one place), the account alone much later (guessing one name
# from many places) — so nobody can lock an eMentor out from their own desk by typing wrong passwords for
# their name somewhere else.
FACTORS = {"pair": 1, "address": 4, "account": 10}


def throttle_keys(username: str, address: str, secret: str) -> tuple[str, ...]:
    """The counters a login attempt counts against (the address only as a keyed hash)."""
    name = username.strip().lower()[:40]

    def keyed(value: str) -> str:
        return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()[:40]

    return f"pair:{keyed(name + chr(0) + address)}", f"address:{keyed(address)}", f"account:{name}"


async def locked_until(tx: Tx, keys: tuple[str, ...], now: datetime) -> datetime | None:
    """When the latest pause on any of `keys` ends, if one is running."""
    found: list[datetime] = []
    for key in keys:
        rows = await tx.fetch("SELECT locked_until FROM login_failures WHERE key = :key", key=key)
        if rows and rows[0]["locked_until"] is not None and rows[0]["locked_until"] > now:
            found.append(rows[0]["locked_until"])
    return max(found) if found else None


async def failed(tx: Tx, keys: tuple[str, ...], settings: ConsoleSettings, now: datetime) -> None:
    """Count a failed login against each key; pause a key when it reaches its limit."""
    window = timedelta(minutes=settings.login_lock_minutes)
    for key in keys:
        rows = await tx.fetch("SELECT failures, first_at FROM login_failures WHERE key = :key", key=key)
        if not rows or now - rows[0]["first_at"] > window:
            await tx.execute("DELETE FROM login_failures WHERE key = :key", key=key)
            await tx.execute(
                "INSERT INTO login_failures (key, failures, first_at) VALUES (:key, 1, :now)", key=key, now=now
            )
            count = 1
        else:
            count = int(rows[0]["failures"]) + 1
            await tx.execute("UPDATE login_failures SET failures = :n WHERE key = :key", n=count, key=key)
        kind = key.split(":", 1)[0]
        if count >= settings.login_max_failures * FACTORS.get(kind, 1):
            await tx.execute(
                "UPDATE login_failures SET locked_until = :until WHERE key = :key", until=now + window, key=key
            )
            log.warning("console login paused for %d min after %d failures (%s)", window.seconds // 60, count, kind)


async def succeeded(tx: Tx, keys: tuple[str, ...]) -> None:
    """A right password clears this account's and this place's counts (not the account's from elsewhere)."""
    for key in keys[:2]:
        await tx.execute("DELETE FROM login_failures WHERE key = :key", key=key)


async def login(
    store: ConversationStore,
    username: str,
    password: str,
    address: str,
    secret: str,
    settings: ConsoleSettings,
    now: datetime,
) -> tuple[str | None, datetime | None]:
    """(cookie value, None) for a right login; (None, pause end) when paused; (None, None) when wrong.

    Three steps, so the slow Argon2 check (tens of milliseconds, on purpose) runs in a thread and outside any
    transaction: nothing waits on a database lock while a password is checked."""
    keys = throttle_keys(username, address, secret)

    async def look_up(tx: Tx) -> tuple[datetime | None, EmentorRow | None, str | None]:
        paused = await locked_until(tx, keys, now)
        user = await accounts.by_username(tx, username) if username.strip() and paused is None else None
        stored = await accounts.password_hash_of(tx, user["id"]) if user is not None else None
        return paused, user, stored

    paused, user, stored = await store.transaction(look_up)
    if paused is not None:
        return None, paused
    right = await asyncio.to_thread(password_matches, stored, password)

    async def settle(tx: Tx) -> tuple[str | None, datetime | None]:
        if user is None or not right:
            await failed(tx, keys, settings, now)
            return None, await locked_until(tx, keys, now)
        await succeeded(tx, keys)
        return await open_session(tx, user, now), None

    return await store.transaction(settle)
