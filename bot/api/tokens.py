"""Limits on the eMentor and admin JSON APIs: a pace per account, and a pause for an address guessing tokens.

A token (or a console session) may make `limits.account_per_minute` calls, kept in memory like the other
token buckets (bot/core/limits.py), so one script in a loop cannot take the database from everyone else.
Wrong tokens are counted per address in the database (`login_failures`, the console's own counter table,
under `token:<keyed hash of the address>`), so every bot process agrees: after `limits.token_max_failures`
within `limits.token_lock_minutes` that address gets 429 until the pause ends. The pause is logged once, in
one line, by the one request whose count reached the limit (an atomic increment decides which) — never with
the token or the address in it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.config import LimitSettings
from bot.core.limits import TokenBuckets
from bot.core.ports import Tx

log = logging.getLogger(__name__)


@dataclass
class TokenGuard:
    limits: LimitSettings
    secret: str  # keys the address hash: an address is personal data, a plain hash of one is easy to undo
    accounts: TokenBuckets = field(init=False)

    def __post_init__(self) -> None:
        self.accounts = TokenBuckets(self.limits.account_per_minute, self.limits.account_burst)

    def _keyed(self, value: str) -> str:
        return hmac.new(self.secret.encode(), value.encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:40]

    def key_of(self, address: str) -> str:
        return f"token:{self._keyed(address)}"

    def account_wait(self, credential: str) -> float:
        """Seconds before this token or session may call again (0.0: now), counted under a keyed hash."""
        return self.accounts.take(self._keyed(credential))

    async def paused_until(self, tx: Tx, address: str, now: datetime) -> datetime | None:
        rows = await tx.fetch("SELECT locked_until FROM login_failures WHERE key = :key", key=self.key_of(address))
        until = rows[0]["locked_until"] if rows else None
        return until if until is not None and until > now else None

    async def wrong(self, tx: Tx, address: str, now: datetime) -> bool:
        """Count a wrong token from `address`; the call that reaches the limit starts the pause and logs it.
        True when this call is past the limit: one that raced the pause (it checked before the pause was
        written) is answered as paused too, so at most `token_max_failures` wrong tokens are ever told 401."""
        key = self.key_of(address)
        window = timedelta(minutes=self.limits.token_lock_minutes)
        rows = await tx.fetch("SELECT first_at FROM login_failures WHERE key = :key", key=key)
        if not rows:
            await tx.execute(
                "INSERT INTO login_failures (key, failures, first_at) VALUES (:key, 0, :now) ON CONFLICT DO NOTHING",
                key=key,
                now=now,
            )
        elif now - rows[0]["first_at"] > window:  # an old count (and pause) is forgotten
            await tx.execute(
                "UPDATE login_failures SET failures = 0, first_at = :now, locked_until = NULL WHERE key = :key",
                key=key,
                now=now,
            )
        counted = await tx.fetch(
            "UPDATE login_failures SET failures = failures + 1 WHERE key = :key RETURNING failures", key=key
        )
        count = int(counted[0]["failures"]) if counted else 0
        if count == self.limits.token_max_failures:
            await tx.execute(
                "UPDATE login_failures SET locked_until = :until WHERE key = :key", until=now + window, key=key
            )
            log.warning(
                "API tokens: an address paused for %d min after %d wrong tokens",
                self.limits.token_lock_minutes,
                self.limits.token_max_failures,
            )
        return count > self.limits.token_max_failures
