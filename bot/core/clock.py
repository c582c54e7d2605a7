"""The one clock of a bot process, and the one time zone the bot speaks in.

Everything that needs the time gets a `Clock` handed in by the composition root, so tests move time by
giving a `ManualClock`. Times are aware UTC inside; citizens and eMentors read Copenhagen wall-clock time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until told to move: the in-memory `Clock` for tests."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by
