"""The `booking:` settings as the slot arithmetic needs them, checked at start-up.

Hours are written the way a Danish notice board writes them ("9.00-12.00, 13.00-15.00", "9:00-12"), so a
job centre can copy them. A mistake stops the bot with the setting's path, e.g.
"booking.locations[1].hours.monday: ...", instead of a citizen finding no times.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.booking.schedule import Location, OpeningHours
from bot.config import BookingSettings, ConfigError, LocationSettings, WorkshopSettings
from bot.core.clock import COPENHAGEN

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = re.compile(r"^(\d{1,2})(?:[.:](\d{2}))?$")


def parse_time(text: str, where: str) -> time:
    match = _TIME.match(text.strip())
    if match is None:
        raise ConfigError(f"{where}: '{text.strip()}' is not a time like 9.00 or 13:30")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        raise ConfigError(f"{where}: '{text.strip()}' is not a time of day")
    return time(hour, minute)


def parse_hours(text: str, where: str) -> list[tuple[time, time]]:
    """ "9.00-12.00, 13.00-15.00" → [(9:00, 12:00), (13:00, 15:00)]; empty → closed. Overlaps are refused."""
    spans: list[tuple[time, time]] = []
    for part in (p for p in text.split(",") if p.strip()):
        bits = re.split(r"\s*[-–]\s*", part.strip())
        if len(bits) != 2:
            raise ConfigError(f"{where}: '{part.strip()}' should be like 9.00-12.00")
        opens, closes = parse_time(bits[0], where), parse_time(bits[1], where)
        if closes <= opens:
            raise ConfigError(f"{where}: '{part.strip()}' closes before it opens")
        spans.append((opens, closes))
    spans.sort()
    for (_, end), (start, _) in itertools.pairwise(spans):
        if start < end:
            raise ConfigError(f"{where}: opening hours overlap")
    return spans


def parse_date(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{where}: '{text}' is not a date like 2026-12-24") from None


@functools.lru_cache(maxsize=64)  # settings are frozen: parse each location's hours once
def location_of(settings: LocationSettings, where: str = "booking.locations") -> Location:
    hours: list[OpeningHours] = []
    for weekday, name in enumerate(WEEKDAYS):
        for opens, closes in parse_hours(getattr(settings.hours, name), f"{where}.hours.{name}"):
            hours.append(OpeningHours(weekday, opens, closes))
    closed = frozenset(parse_date(d, f"{where}.closed") for d in settings.closed)
    return Location(settings.id, tuple(hours), settings.slot_minutes, settings.places, closed)


@dataclass(frozen=True)
class Session:
    """One date of a workshop."""

    workshop: WorkshopSettings
    start: datetime  # aware, Copenhagen
    end: datetime


def sessions(workshop: WorkshopSettings, first_day: date, days: int, where: str = "booking.workshops") -> list[Session]:
    """The workshop's dates from `first_day` for `days` days (weekly on `weekday`, and the listed `dates`)."""
    starts = parse_time(workshop.starts, f"{where}.starts")
    wanted: set[date] = {parse_date(d, f"{where}.dates") for d in workshop.dates}
    if workshop.weekday:
        if workshop.weekday not in WEEKDAYS:
            raise ConfigError(f"{where}.weekday: '{workshop.weekday}' is not one of {', '.join(WEEKDAYS)}")
        weekday = WEEKDAYS.index(workshop.weekday)
        wanted |= {
            first_day + timedelta(days=i) for i in range(days) if (first_day + timedelta(days=i)).weekday() == weekday
        }
    last = first_day + timedelta(days=days)
    out = []
    for day in sorted(d for d in wanted if first_day <= d < last):
        start = datetime.combine(day, starts, COPENHAGEN)
        out.append(Session(workshop, start, start + timedelta(minutes=workshop.minutes)))
    return out


def validate(settings: BookingSettings) -> None:
    """Raise ConfigError naming the first wrong `booking.` setting."""
    ids = {loc.id for loc in settings.locations}
    for i, loc in enumerate(settings.locations):
        where = f"booking.locations[{i}]"
        if not re.fullmatch(r"[a-z0-9_-]{1,40}", loc.id):
            raise ConfigError(f"{where}.id: use lower-case letters, digits, - and _ (got '{loc.id}')")
        location_of(loc, where)
    for i, workshop in enumerate(settings.workshops):
        where = f"booking.workshops[{i}]"
        if not re.fullmatch(r"[a-z0-9_-]{1,40}", workshop.id):
            raise ConfigError(f"{where}.id: use lower-case letters, digits, - and _ (got '{workshop.id}')")
        if workshop.location not in ids:
            raise ConfigError(f"{where}.location: no location '{workshop.location}' in booking.locations")
        if not workshop.weekday and not workshop.dates:
            raise ConfigError(f"{where}: give a weekday or dates")
        sessions(workshop, date(2000, 1, 1), 7, where)


def find_location(settings: BookingSettings, location_id: str) -> LocationSettings | None:
    return next((loc for loc in settings.locations if loc.id == location_id), None)


def find_workshop(settings: BookingSettings, workshop_id: str) -> WorkshopSettings | None:
    return next((w for w in settings.workshops if w.id == workshop_id), None)
