"""The day list: a location's bookings on one Copenhagen day, as an eMentor reads them and as CSV. Pure.

A day is a Copenhagen calendar day, whatever the server's zone and across daylight-saving changes (a day may
be 23 or 25 hours long). What the citizen tried comes in the bot's own words (bot/flows/topic.py), never what
they typed; the phone number only for a call-back, where the eMentor needs it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.booking.bookings import BookingRow
from bot.config import BookingSettings, LocationSettings
from bot.core import words
from bot.core.clock import COPENHAGEN
from bot.core.statuses import BookingStatus
from bot.flows.model import Flow
from bot.flows.topic import described, failed_step, step_text

SHOWN = (BookingStatus.BOOKED, BookingStatus.HELD, BookingStatus.ATTENDED, BookingStatus.NO_SHOW)
CSV_DANGER = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run a cell starting so as a formula


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a Copenhagen calendar day, as aware datetimes."""
    start = datetime.combine(day, time(0), COPENHAGEN)
    end = datetime.combine(day + timedelta(days=1), time(0), COPENHAGEN)
    return start, end


FIRST_YEAR, LAST_YEAR = 2000, 2100  # days outside these are typing mistakes (and would overflow the arithmetic)


def valid_day(raw: str | None) -> date | None:
    """ "2026-12-03" → that day; anything else, or a year outside 2000-2100, → None."""
    try:
        day = date.fromisoformat(raw) if raw and len(raw) == 10 else None
    except ValueError:
        return None
    return day if day is not None and FIRST_YEAR <= day.year <= LAST_YEAR else None


def parse_day(raw: str | None, today: date) -> date:
    """ "2026-12-03" → that day; anything else → `today` (a default)."""
    return valid_day(raw) or today


@dataclass(frozen=True)
class BookingLine:
    row: BookingRow
    time: str
    location: str
    phone: str  # only for a call-back
    topic: str
    tried: tuple[dict[str, str], ...]  # {"text", "answer"}
    stuck_at: str
    language: str
    status: str
    can_mark: bool  # the appointment has started
    marked_by: str  # "Anna, 10.05", or ""


def booking_line(
    row: BookingRow,
    settings: BookingSettings,
    flows: Mapping[str, Flow],
    now: datetime,
    lang: str,
    t: Callable[..., str],
    names: Mapping[int, str],
) -> BookingLine:
    location = next((loc for loc in settings.locations if loc.id == row["location"]), None)
    flow = flows.get(row["topic"] or "")
    steps = json.loads(row["tried"] or "[]")
    stuck = failed_step(steps)
    marked = ""
    marked_by = row.get("marked_by")
    marked_at = row.get("marked_at")
    if marked_by is not None and isinstance(marked_at, datetime):
        marked = t("marked_by", name=names.get(int(marked_by), "?"), time=words.clock(marked_at, lang))
    return BookingLine(
        row=row,
        time=words.clock(row["starts_at"], lang),
        location=_location_name(location, row["location"], lang),
        phone=(row["phone"] or "") if location is not None and location.kind == "phone" else "",
        topic=_topic(row, flow, settings, lang, t),
        tried=tuple(described(flow, steps, lang)),
        stuck_at=step_text(flow, stuck, lang) if stuck else "",
        language=t(f"lang_{row['language']}") if row["language"] in ("da", "en") else row["language"],
        status=t(f"status_{row['status']}"),
        can_mark=row["starts_at"] <= now,
        marked_by=marked,
    )


def _topic(row: BookingRow, flow: Flow | None, settings: BookingSettings, lang: str, t: Callable[..., str]) -> str:
    """The flow's title; for a workshop sign-up, the workshop's title."""
    if row["kind"] == "workshop":
        workshop = next((w for w in settings.workshops if w.id == row["workshop"]), None)
        return workshop.title.get(lang) if workshop is not None else (row["workshop"] or t("no_topic"))
    return flow.title.get(lang) if flow is not None else (row["topic"] or t("no_topic"))


def _location_name(location: LocationSettings | None, fallback: str, lang: str) -> str:
    return location.name.get(lang) if location is not None else fallback


@dataclass(frozen=True)
class WorkshopDate:
    title: str
    time: str
    location: str
    places: int
    participants: tuple[BookingLine, ...]


def workshop_dates(lines: Iterable[BookingLine], settings: BookingSettings, lang: str) -> list[WorkshopDate]:
    """Workshop bookings grouped per workshop and time, with the places it has."""
    groups: dict[tuple[str, datetime], list[BookingLine]] = {}
    for line in lines:
        if line.row["kind"] == "workshop":
            groups.setdefault((line.row["workshop"] or "", line.row["starts_at"]), []).append(line)
    out = []
    for (workshop_id, starts_at), members in sorted(groups.items(), key=lambda item: item[0][1]):
        workshop = next((w for w in settings.workshops if w.id == workshop_id), None)
        out.append(
            WorkshopDate(
                title=workshop.title.get(lang) if workshop is not None else workshop_id,
                time=words.clock(starts_at, lang),
                location=members[0].location,
                places=workshop.places if workshop is not None else len(members),
                participants=tuple(members),
            )
        )
    return out


def _cell(value: str) -> str:
    return "'" + value if value.startswith(CSV_DANGER) else value


def as_csv(lines: Sequence[BookingLine], day: date, t: Callable[..., str]) -> str:
    """The day list as CSV (semicolons, as Danish spreadsheets expect; UTF-8 with a byte order mark so Excel
    reads æøå)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    keys = ("col_time", "col_place", "col_reference", "col_name", "col_phone", "col_topic", "col_tried",
            "col_stuck", "col_language", "col_status")  # fmt: skip
    writer.writerow([t("col_date"), *(t(k) for k in keys)])
    for line in lines:
        tried = "; ".join(f"{s['text']} → {s['answer']}" for s in line.tried)
        row = line.row
        values = (day.isoformat(), line.time, line.location, row["reference"], row["name"] or "", line.phone,
                  line.topic, tried, line.stuck_at, line.language, line.status)  # fmt: skip
        writer.writerow([_cell(v) for v in values])
    return "\ufeff" + out.getvalue()
