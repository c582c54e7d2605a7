"""Free times, from the database: the schedule minus blocked time minus live bookings, future only.

Also the check a payload's time must pass before anything is written: a real slot of a known location, not
past, at least `min_notice_minutes` ahead, not full. The final word on "full" is the database's unique index
(bookings.reserve); this check only lets the bot answer kindly before it tries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.booking import bookings
from bot.booking.blocks import blocks_between
from bot.booking.places import Session, find_location, find_workshop, location_of, sessions
from bot.booking.schedule import Slot, free_places, slots
from bot.config import BookingSettings, LocationSettings, WorkshopSettings
from bot.core.clock import COPENHAGEN
from bot.core.ports import Tx


def earliest(settings: BookingSettings, now: datetime) -> datetime:
    return now + timedelta(minutes=settings.min_notice_minutes)


def parse_local(text: str) -> datetime | None:
    """A payload's wall-clock time "2026-12-03T10:30" as an aware Copenhagen time; None for anything else."""
    try:
        moment = datetime.fromisoformat(text.strip()[:32])
    except ValueError:
        return None
    if moment.tzinfo is not None:
        return None
    return moment.replace(tzinfo=COPENHAGEN)


def local_text(moment: datetime) -> str:
    return moment.astimezone(COPENHAGEN).strftime("%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class Free:
    slot: Slot
    places: int  # free now
    capacity: int  # places not blocked: reserve tries these


async def free_slots(
    tx: Tx,
    settings: BookingSettings,
    location: LocationSettings,
    now: datetime,
    after: datetime | None = None,
    limit: int | None = None,
) -> list[Free]:
    """Free slots of `location` from now (or after `after`) to `days_ahead` days ahead, soonest first; with
    `limit`, at least that many when there are. A page of buttons needs few, so they are looked up a day,
    then 2, 4, 8 … days at a time: a busy workshop costs a few small queries, not all its weeks."""
    floor = after or now
    day = max(now, floor).astimezone(COPENHAGEN).date()
    last_day = now.astimezone(COPENHAGEN).date() + timedelta(days=settings.days_ahead)
    step = (last_day - day).days + 1 if limit is None else 1
    found: list[Free] = []
    while day <= last_day and (limit is None or len(found) < limit):
        days = min(step, (last_day - day).days + 1)
        candidates = [s for s in slots(location_of(location), day, days) if s.start > floor]
        found += await _free(tx, settings, location, candidates, now, after)
        day += timedelta(days=days)
        step *= 2
    return found


async def _free(
    tx: Tx,
    settings: BookingSettings,
    location: LocationSettings,
    candidates: list[Slot],
    now: datetime,
    after: datetime | None,
) -> list[Free]:
    if not candidates:
        return []
    start, end = candidates[0].start, candidates[-1].end
    blocks = await blocks_between(tx, location.id, start, end)
    taken = await bookings.taken_places(tx, "slot", start, end, now)
    booked = {
        (s.location, s.start): taken.get(bookings.resource_of("slot", s.location, s.start), 0) for s in candidates
    }
    floor = max(earliest(settings, now) - timedelta(microseconds=1), after or now)  # free_places: start > floor
    out = []
    for slot, free in free_places(candidates, blocks, booked, floor):
        blocked = slot.capacity - free - booked[(slot.location, slot.start)]
        out.append(Free(slot, free, slot.capacity - blocked))
    return out


async def check_slot(
    tx: Tx, settings: BookingSettings, location_id: str, start_text: str, now: datetime
) -> tuple[str, LocationSettings | None, Free | None]:
    """("ok", location, free) or (why not: "unknown" | "past" | "full", location or None, None)."""
    location = find_location(settings, location_id)
    start = parse_local(start_text)
    if location is None or start is None:
        return "unknown", location, None
    day = start.date()
    if not 0 <= (day - now.astimezone(COPENHAGEN).date()).days <= settings.days_ahead:
        return ("past" if start <= now else "unknown"), location, None
    candidates = [s for s in slots(location_of(location), day, 1) if s.start == start]
    if not candidates:
        return "unknown", location, None
    if start < earliest(settings, now):
        return "past", location, None
    free = await _free(tx, settings, location, candidates, now, None)
    if not free:
        return "full", location, None
    return "ok", location, free[0]


@dataclass(frozen=True)
class SessionFree:
    session: Session
    places: int


async def workshop_sessions(tx: Tx, settings: BookingSettings, now: datetime) -> list[SessionFree]:
    """Upcoming workshop dates (soonest first) with their free seats, full ones included (places 0)."""
    first_day = now.astimezone(COPENHAGEN).date()
    found = [s for w in settings.workshops for s in sessions(w, first_day, settings.days_ahead + 1)]
    found = sorted((s for s in found if s.start >= earliest(settings, now)), key=lambda s: (s.start, s.workshop.id))
    if not found:
        return []
    taken = await bookings.taken_places(tx, "workshop", found[0].start, found[-1].end, now)
    return [
        SessionFree(
            s, max(0, s.workshop.places - taken.get(bookings.resource_of("workshop", s.workshop.id, s.start), 0))
        )
        for s in found
    ]


async def check_session(
    tx: Tx, settings: BookingSettings, workshop_id: str, start_text: str, now: datetime
) -> tuple[str, WorkshopSettings | None, Session | None]:
    """("ok", workshop, session) or ("unknown" | "past" | "full", …)."""
    workshop = find_workshop(settings, workshop_id)
    start = parse_local(start_text)
    if workshop is None or start is None:
        return "unknown", workshop, None
    if start < earliest(settings, now):
        return "past", workshop, None
    for item in await workshop_sessions(tx, settings, now):
        if item.session.workshop.id == workshop.id and item.session.start == start:
            return ("ok" if item.places > 0 else "full"), workshop, item.session
    return "unknown", workshop, None
