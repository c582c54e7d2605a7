"""Whether a citizen asking for a person can get one now: an eMentor online, at a time eMentors work.

An eMentor says they are online (API or `/online` in the group) for a few hours; the opening hours of the
locations (booking settings, holidays and closed dates included) say when eMentors work at all. With no
locations configured, being online is enough.
"""

from __future__ import annotations

from datetime import datetime

from bot.booking.places import location_of
from bot.booking.schedule import slots
from bot.config import BookingSettings, Settings
from bot.core.clock import COPENHAGEN
from bot.core.ports import Tx
from bot.escalation.accounts import online_count


def open_now(booking: BookingSettings, now: datetime) -> bool:
    """Some location is open at `now` (always true when none is configured)."""
    if not booking.locations:
        return True
    today = now.astimezone(COPENHAGEN).date()
    return any(s.start <= now < s.end for loc in booking.locations for s in slots(location_of(loc), today, 1))


async def unavailable_because(tx: Tx, settings: Settings, now: datetime) -> str | None:
    """None when an eMentor can take a citizen now; else the phrase key saying why not (closed, nobody online)."""
    if not open_now(settings.booking, now):
        return "closed_now"
    if await online_count(tx, now) == 0:
        return "nobody_online"
    return None
