"""The vocabulary of what can happen to a booking, a hand-over and an outbox message: one enum each.

The SQL (partial indexes, conditional UPDATEs), the eMentor API, the calendar link and the tests all use
these, so a status cannot be misspelt in one place and silently never match.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class BookingStatus(StrEnum):
    HELD = "held"  # reserved while the citizen types name and phone; lapses after a while
    BOOKED = "booked"
    CANCELLED = "cancelled"
    MOVED = "moved"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


# a place is taken by these (and by a `held` one while it is fresh)
PLACE_TAKEN = (BookingStatus.HELD, BookingStatus.BOOKED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW)
LIVE_BOOKING = (BookingStatus.BOOKED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW)
ATTENDANCE = (BookingStatus.ATTENDED, BookingStatus.NO_SHOW)


class HandoverStatus(StrEnum):
    WAITING = "waiting"
    ACTIVE = "active"
    ENDED = "ended"
    EXPIRED = "expired"  # waited past the limit: offered a booking
    LEFT = "left"  # the citizen left the queue


OPEN_HANDOVER = (HandoverStatus.WAITING, HandoverStatus.ACTIVE)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


def sql_list(statuses: Iterable[StrEnum]) -> str:
    """ "('held', 'booked')": statuses written into SQL (they are constants, never citizen input)."""
    return "(" + ", ".join(f"'{status.value}'" for status in statuses) + ")"


class ModelStatus(StrEnum):
    """A trained model version (bot/nlu/registry.py): one is `active` at a time."""

    CANDIDATE = "candidate"  # trained and scored, not answering (the gate said no, or not yet activated)
    ACTIVE = "active"  # answers citizens in every bot process
    RETIRED = "retired"  # answered before; a roll back brings it back


class JobStatus(StrEnum):
    """A background job of the admin console (bot/nlu/jobs.py), shared through the database."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
