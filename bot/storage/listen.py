"""LISTEN on PostgreSQL: a change announced in one bot process wakes every other process's watcher at once.

The watcher (bot/runtime.py) polls the live versions every `delivery.poll_seconds`, which alone keeps the
promise of "within seconds". On PostgreSQL `live.announce` also sends a NOTIFY; a listening process runs its
next tick on it instead of waiting for the poll, so a newly activated model answers within tens of
milliseconds. Polling stays: a listener connection that dropped is opened again on a later tick, and
SQLite has no listener at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)
RETRY_SECONDS = 60.0  # after a failed attempt to listen, the polling alone for this long


class Listener:
    """One connection that LISTENs on `channel` and calls `wake` for every notification."""

    def __init__(self, url: str, channel: str, wake: Callable[[], None]) -> None:
        parsed = make_url(url)
        self.enabled = parsed.get_backend_name() == "postgresql"
        self.dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self.channel = channel
        self.wake = wake
        self._conn: asyncpg.Connection | None = None
        self._next_try = 0.0

    async def ensure(self) -> None:
        """Listen, if not listening already (a dropped connection is opened again); after a failure the
        polling alone works for RETRY_SECONDS before the next attempt."""
        if not self.enabled or (self._conn is not None and not self._conn.is_closed()):
            return
        if time.monotonic() < self._next_try:
            return
        try:
            conn = await asyncpg.connect(self.dsn, timeout=5)
            await conn.add_listener(self.channel, self._notified)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.info("not listening for live changes (%s); polling only for a while", exc.__class__.__name__)
            self._next_try = time.monotonic() + RETRY_SECONDS
            return
        self._conn = conn

    def _notified(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self.wake()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            await conn.close()
