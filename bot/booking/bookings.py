"""Bookings rows: reserve a place, confirm, cancel, move, attendance — the one place that writes `bookings`.

A slot (or a workshop date) is a `resource` with `capacity` places. Reserving tries each place with
INSERT … ON CONFLICT DO NOTHING: the partial unique index `bookings_one_per_place` lets only one live row
hold a place, so two citizens (two bot processes, two databases' worth of races) can never share one; a full
slot simply gives no row. A `held` place (the citizen is still typing name and phone) lapses after
HOLD_MINUTES, so an abandoned booking never blocks a slot for long.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict, cast

from bot.booking import audit
from bot.core.ports import Row, Tx
from bot.core.statuses import ATTENDANCE, LIVE_BOOKING, BookingStatus, sql_list
from bot.delivery.outbox import cancel_for_booking

HOLD_MINUTES = 15
CORRECTION_DAYS = 7  # attendance can be marked (and corrected) until this long after the appointment's end
MARKS = (*ATTENDANCE, BookingStatus.BOOKED)  # booked: undo a mark
REFERENCE_ALPHABET = "ACDEFHJKLMNPRTWXY3479"  # no 0/O, 1/I/L look-alikes, no 5/S, 8/B, 2/Z


class BookingRow(TypedDict):
    id: int
    reference: str
    kind: str  # slot | workshop
    resource: str
    place: int
    location: str
    workshop: str | None
    starts_at: datetime
    ends_at: datetime
    channel: str
    sender: str
    language: str
    topic: str | None
    tried: str  # JSON list of {"flow", "step", "outcome"}
    name: str | None
    phone: str | None
    status: BookingStatus
    moved_to: int | None
    calendar_key: str
    created_at: datetime
    updated_at: datetime
    marked_by: int | None  # the eMentor account that marked attendance
    marked_at: datetime | None


_COLUMNS = ", ".join(BookingRow.__annotations__)
_INSERTED = _COLUMNS.removeprefix("id, ").removesuffix(", marked_by, marked_at")
_LIVE_SQL = f"(status IN {sql_list(LIVE_BOOKING)} OR (status = '{BookingStatus.HELD}' AND created_at > :hold_cutoff))"


def _booking(row: Row) -> BookingRow:
    return cast(BookingRow, {**row, "status": BookingStatus(row["status"])})


def resource_of(kind: str, key: str, start: datetime) -> str:
    """`slot:<location>:<UTC start>` or `workshop:<id>:<UTC start>`: one name per bookable time."""
    return f"{kind}:{key}:{start.astimezone(UTC).strftime('%Y-%m-%dT%H:%MZ')}"


def new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def hold_cutoff(now: datetime) -> datetime:
    return now - timedelta(minutes=HOLD_MINUTES)


@dataclass(frozen=True)
class Request:
    """Who wants which time; what the eMentor needs to know about why."""

    kind: str  # slot | workshop
    resource: str
    capacity: int
    location: str
    starts_at: datetime
    ends_at: datetime
    channel: str
    sender: str
    language: str
    workshop: str | None = None
    topic: str | None = None
    tried: list[dict[str, str]] = field(default_factory=list)
    name: str | None = None
    phone: str | None = None


async def _lapse_holds(tx: Tx, resource: str, now: datetime) -> None:
    await tx.execute(
        "UPDATE bookings SET status = :cancelled, updated_at = :now"
        " WHERE resource = :resource AND status = :held AND created_at <= :hold_cutoff",
        cancelled=BookingStatus.CANCELLED,
        held=BookingStatus.HELD,
        resource=resource,
        now=now,
        hold_cutoff=hold_cutoff(now),
    )


async def reserve(tx: Tx, request: Request, status: BookingStatus, now: datetime) -> BookingRow | None:
    """A new booking in the first free place of the resource (status `held` or `booked`); None when full."""
    await tx.durable()
    await _lapse_holds(tx, request.resource, now)
    for _ in range(3):
        reference = new_reference()
        for place in range(request.capacity):
            rows = await tx.fetch(
                f"INSERT INTO bookings ({_INSERTED}) VALUES (:reference, :kind, :resource,"
                " :place, :location, :workshop, :starts_at, :ends_at, :channel, :sender, :language, :topic, :tried,"
                " :name, :phone, :status, NULL, :calendar_key, :now, :now) ON CONFLICT DO NOTHING RETURNING id",
                reference=reference,
                kind=request.kind,
                resource=request.resource,
                place=place,
                location=request.location,
                workshop=request.workshop,
                starts_at=request.starts_at,
                ends_at=request.ends_at,
                channel=request.channel,
                sender=request.sender,
                language=request.language,
                topic=request.topic,
                tried=json.dumps(request.tried, ensure_ascii=False),
                name=request.name,
                phone=request.phone,
                status=status,
                calendar_key=secrets.token_urlsafe(24),
                now=now,
            )
            if rows:
                if status == BookingStatus.BOOKED:  # booked at once (a move, a workshop): counted as booked now
                    booked_id = rows[0]["id"]
                    await tx.execute("UPDATE bookings SET confirmed_at = :now WHERE id = :id", now=now, id=booked_id)
                return await by_id(tx, int(rows[0]["id"]))
        if not await tx.fetch("SELECT 1 AS x FROM bookings WHERE reference = :r", r=reference):
            return None  # every place taken (not a clash of references)
    return None


def tried_of(row: BookingRow) -> list[dict[str, str]]:
    tried: list[dict[str, str]] = json.loads(row["tried"] or "[]")
    return tried


async def by_id(tx: Tx, booking_id: int) -> BookingRow | None:
    rows = await tx.fetch(f"SELECT {_COLUMNS} FROM bookings WHERE id = :id", id=booking_id)
    return _booking(rows[0]) if rows else None


async def by_reference(tx: Tx, reference: str) -> BookingRow | None:
    rows = await tx.fetch(f"SELECT {_COLUMNS} FROM bookings WHERE reference = :r", r=reference.strip().upper()[:12])
    return _booking(rows[0]) if rows else None


async def by_calendar_key(tx: Tx, key: str) -> BookingRow | None:
    rows = await tx.fetch(f"SELECT {_COLUMNS} FROM bookings WHERE calendar_key = :k", k=key[:40])
    return _booking(rows[0]) if rows else None


async def owned(tx: Tx, reference: str, channel: str, sender: str, now: datetime) -> BookingRow | None:
    """The citizen's own booked, future booking with this reference; None for anyone else's or a past one."""
    row = await by_reference(tx, reference)
    if row is None or (row["channel"], row["sender"]) != (channel, sender):
        return None
    if row["status"] != BookingStatus.BOOKED or row["starts_at"] <= now:
        return None
    return row


async def confirm(tx: Tx, booking_id: int, name: str | None, phone: str | None, now: datetime) -> BookingRow | None:
    """A held place becomes booked (with the name and phone given); None when the hold has lapsed."""
    await tx.durable()
    changed = await tx.execute(
        "UPDATE bookings SET status = :booked, name = :name, phone = :phone, updated_at = :now,"
        " confirmed_at = :now WHERE id = :id AND status = :held",
        booked=BookingStatus.BOOKED,
        held=BookingStatus.HELD,
        id=booking_id,
        name=name,
        phone=phone,
        now=now,
    )
    return await by_id(tx, booking_id) if changed else None


async def release_hold(tx: Tx, booking_id: int, now: datetime) -> bool:
    """A place held for a citizen who went on to something else is free again at once."""
    return await _release(tx, booking_id, now, BookingStatus.CANCELLED, (BookingStatus.HELD,))


async def cancel(tx: Tx, booking_id: int, now: datetime) -> bool:
    """Free the place at once and drop the reminders not yet sent."""
    return await _release(tx, booking_id, now, BookingStatus.CANCELLED, (BookingStatus.HELD, BookingStatus.BOOKED))


async def mark_moved(tx: Tx, booking_id: int, moved_to: int, now: datetime) -> bool:
    """The old booking of a move: `moved`, pointing to the new one; its place is free at once."""
    return await _release(tx, booking_id, now, BookingStatus.MOVED, (BookingStatus.BOOKED,), moved_to)


async def _release(
    tx: Tx,
    booking_id: int,
    now: datetime,
    status: BookingStatus,
    was: Sequence[BookingStatus],
    moved_to: int | None = None,
) -> bool:
    """A live booking (in one of the statuses `was`) leaves its place, and its unsent reminders go too."""
    changed = await tx.execute(
        "UPDATE bookings SET status = :status, moved_to = COALESCE(:moved_to, moved_to), updated_at = :now"
        f" WHERE id = :id AND status IN {sql_list(was)}",
        id=booking_id,
        status=status,
        moved_to=moved_to,
        now=now,
    )
    if changed:
        await cancel_for_booking(tx, booking_id)
    return changed > 0


async def for_owner(tx: Tx, channel: str, sender: str, now: datetime) -> list[BookingRow]:
    """The citizen's booked times still to come, soonest first."""
    rows = await tx.fetch(
        f"SELECT {_COLUMNS} FROM bookings WHERE channel = :channel AND sender = :sender AND status = :booked"
        " AND starts_at > :now ORDER BY starts_at, id",
        channel=channel,
        sender=sender,
        booked=BookingStatus.BOOKED,
        now=now,
    )
    return [_booking(r) for r in rows]


async def has_place(tx: Tx, resource: str, channel: str, sender: str, now: datetime) -> bool:
    """The citizen already holds a live place in this slot or workshop date."""
    rows = await tx.fetch(
        f"SELECT 1 AS x FROM bookings WHERE resource = :resource AND channel = :channel AND sender = :sender"
        f" AND {_LIVE_SQL}",
        resource=resource,
        channel=channel,
        sender=sender,
        hold_cutoff=hold_cutoff(now),
    )
    return bool(rows)


async def taken_places(tx: Tx, kind: str, start: datetime, end: datetime, now: datetime) -> dict[str, int]:
    """Live places per resource for bookings of `kind` starting in [start, end)."""
    rows = await tx.fetch(
        f"SELECT resource, COUNT(*) AS n FROM bookings WHERE kind = :kind AND starts_at >= :start"
        f" AND starts_at < :end AND {_LIVE_SQL} GROUP BY resource",
        kind=kind,
        start=start,
        end=end,
        hold_cutoff=hold_cutoff(now),
    )
    return {str(r["resource"]): int(r["n"]) for r in rows}


@dataclass(frozen=True)
class Marked:
    """What became of an attendance mark: `marked` (row: the booking now), `too_early` (before the appointment's
    start: the citizen may still come; row: the booking unchanged), `too_late` (more than CORRECTION_DAYS after
    it), or `unknown` (no such reference, or a booking that is not live: cancelled, moved, held)."""

    outcome: str  # marked | too_early | too_late | unknown
    row: BookingRow | None


async def mark_attendance(
    tx: Tx, reference: str, status: BookingStatus, now: datetime, ementor_id: int | None
) -> Marked:
    """An eMentor marks a booking attended or no-show, or undoes a mark (status `booked`).

    Only from the appointment's start: a no-show marked days before would free nothing yet stop the reminders
    and hide the time from the citizen's "mine tider". A mark can be corrected (attended ↔ no_show, or back to
    booked) until CORRECTION_DAYS after the end. Who marked it and when is kept on the booking, and every mark
    is a line in the audit log."""
    if status not in MARKS:
        raise ValueError(f"status must be one of {', '.join(MARKS)}")
    row = await by_reference(tx, reference)
    if row is None or row["status"] not in LIVE_BOOKING:
        return Marked("unknown", None)
    if now < row["starts_at"]:
        return Marked("too_early", row)
    if now > row["ends_at"] + timedelta(days=CORRECTION_DAYS):
        return Marked("too_late", row)
    marked = status in ATTENDANCE
    await tx.execute(
        "UPDATE bookings SET status = :status, marked_by = :by, marked_at = :at, updated_at = :now WHERE id = :id",
        id=row["id"],
        status=status,
        by=ementor_id if marked else None,
        at=now if marked else None,
        now=now,
    )
    if marked:
        await cancel_for_booking(tx, int(row["id"]))  # the reminders are past by now; none may follow
    await audit.record(
        tx, now, ementor_id, "attendance", row["reference"], {"status": str(status), "was": str(row["status"])}
    )
    return Marked("marked", await by_id(tx, int(row["id"])))


async def list_bookings(
    tx: Tx,
    start: datetime | None,
    end: datetime | None,
    status: BookingStatus | None,
    location: str | None = None,
) -> list[BookingRow]:
    """Bookings starting in [start, end) (open ends allowed), optionally of one status and one location id,
    soonest first."""
    where = ["1 = 1"]
    params: dict[str, Any] = {}
    if start is not None:
        where.append("starts_at >= :start")
        params["start"] = start
    if end is not None:
        where.append("starts_at < :end")
        params["end"] = end
    if status is not None:
        where.append("status = :status")
        params["status"] = status
    if location is not None:
        where.append("location = :location")
        params["location"] = location
    rows = await tx.fetch(
        f"SELECT {_COLUMNS} FROM bookings WHERE {' AND '.join(where)} ORDER BY starts_at, id", **params
    )
    return [_booking(r) for r in rows]
