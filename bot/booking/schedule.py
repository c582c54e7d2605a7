"""Slot arithmetic, pure: opening hours → slots, minus holidays, closed dates, blocked time and bookings.

Times are wall-clock times in Europe/Copenhagen: a workshop that opens at 9.00 opens at 9.00 on both sides
of a daylight-saving change, so slots are built from local dates and times and only then made aware.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from bot.booking.holidays import is_holiday
from bot.core.clock import COPENHAGEN


@dataclass(frozen=True)
class OpeningHours:
    weekday: int  # Monday = 0
    opens: time
    closes: time


@dataclass(frozen=True)
class Location:
    id: str
    hours: tuple[OpeningHours, ...]
    slot_minutes: int = 30
    capacity: int = 1  # eMentors serving in parallel
    closed: frozenset[date] = field(default_factory=frozenset)


@dataclass(frozen=True, order=True)
class Slot:
    start: datetime  # aware
    end: datetime
    location: str
    capacity: int


def slots(location: Location, first_day: date, days: int) -> list[Slot]:
    """Every slot of `location` from `first_day` for `days` days, skipping holidays and closed dates."""
    out: list[Slot] = []
    step = timedelta(minutes=location.slot_minutes)
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        if is_holiday(day) or day in location.closed:
            continue
        for hours in location.hours:
            if hours.weekday != day.weekday():
                continue
            # aware datetimes with the same tzinfo add in wall-clock time, as opening hours mean
            start = datetime.combine(day, hours.opens, tzinfo=COPENHAGEN)
            closes = datetime.combine(day, hours.closes, tzinfo=COPENHAGEN)
            while (end := start + step) <= closes:
                out.append(Slot(start, end, location.id, location.capacity))
                start = end
    return sorted(out)


@dataclass(frozen=True)
class Block:
    """Time eMentors cannot serve at a location: `places` fewer places (None: the whole slot)."""

    start: datetime
    end: datetime
    places: int | None = None


def free_places(
    candidates: Iterable[Slot],
    blocked: Iterable[Block | tuple[datetime, datetime]],
    booked: Mapping[tuple[str, datetime], int],
    now: datetime,
) -> list[tuple[Slot, int]]:
    """(slot, free places) for future slots not full; a block takes its places from every slot it overlaps."""
    blocks = [b if isinstance(b, Block) else Block(b[0], b[1]) for b in blocked]
    out: list[tuple[Slot, int]] = []
    for slot in candidates:
        if slot.start <= now:
            continue
        free = slot.capacity - booked.get((slot.location, slot.start), 0)
        for block in blocks:
            if block.start < slot.end and slot.start < block.end:
                free -= slot.capacity if block.places is None else block.places
        if free > 0:
            out.append((slot, free))
    return out
