"""Blocked time: an eMentor away, a room in use. Free slots = schedule − blocks − live bookings.

A block removes `places` places (None: every place) from each slot of its location that it overlaps. It does
not cancel the bookings it lands on by itself: `bookings_under` tells which citizens it would take a time from,
so the eMentor is warned first, and with their confirmation those bookings are cancelled and the citizens told
(bot/booking/cancel_notice.py). A block that is already over is refused: it would change nothing but the list.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict, cast

from bot.booking.bookings import BookingRow, by_id
from bot.booking.schedule import Block
from bot.config import LocationSettings
from bot.core.ports import Tx
from bot.core.statuses import BookingStatus


def check(starts_at: datetime, ends_at: datetime, places: int | None, now: datetime) -> None:
    """ValueError for a block that cannot be: ending before it starts, already over, or taking no place."""
    if ends_at <= starts_at:
        raise ValueError("a block must end after it starts")
    if ends_at <= now:
        raise ValueError("a block must end in the future")
    if places is not None and places < 1:
        raise ValueError("places must be at least 1 (or None for all)")


async def add_block(
    tx: Tx,
    location: str,
    starts_at: datetime,
    ends_at: datetime,
    places: int | None,
    reason: str,
    ementor_id: int | None,
    now: datetime,
) -> int:
    """Store a block; its id. `ends_at` must be after `starts_at` and after `now`, `places` positive or None."""
    check(starts_at, ends_at, places, now)
    rows = await tx.fetch(
        "INSERT INTO blocks (location, starts_at, ends_at, places, reason, ementor_id, created_at)"
        " VALUES (:location, :starts_at, :ends_at, :places, :reason, :ementor_id, :now) RETURNING id",
        location=location,
        starts_at=starts_at,
        ends_at=ends_at,
        places=places,
        reason=reason[:200],
        ementor_id=ementor_id,
        now=now,
    )
    return int(rows[0]["id"])


class BlockRow(TypedDict):
    id: int
    location: str
    starts_at: datetime
    ends_at: datetime
    places: int | None  # None: every place
    reason: str
    ementor_id: int | None
    created_at: datetime


async def list_blocks(tx: Tx, after: datetime) -> list[BlockRow]:
    """Blocks that end after `after`, earliest first."""
    rows = await tx.fetch(
        f"SELECT {', '.join(BlockRow.__annotations__)} FROM blocks WHERE ends_at > :after ORDER BY starts_at, id",
        after=after,
    )
    return cast(list[BlockRow], rows)


async def remove_block(tx: Tx, block_id: int) -> bool:
    """Delete a block; False when there was none with that id. The time is bookable again at once."""
    return await tx.execute("DELETE FROM blocks WHERE id = :id", id=block_id) > 0


async def blocks_between(tx: Tx, location: str, start: datetime, end: datetime) -> list[Block]:
    """The blocks of `location` overlapping [start, end), for the slot arithmetic."""
    rows = await tx.fetch(
        "SELECT starts_at, ends_at, places FROM blocks"
        " WHERE location = :location AND starts_at < :end AND ends_at > :start",
        location=location,
        start=start,
        end=end,
    )
    return [Block(r["starts_at"], r["ends_at"], r["places"]) for r in rows]


async def bookings_under(
    tx: Tx,
    location: str | LocationSettings,
    starts_at: datetime,
    ends_at: datetime,
    places: int | None,
    now: datetime,
) -> list[BookingRow]:
    """The booked times (soonest first) a new block would take from citizens: slots of `location` that start
    after `now` and overlap [starts_at, ends_at).

    With `places` None every such booking; with `places` N, per slot the bookings that no longer fit in the
    location's places left after the blocks already there and this one — the latest made give way, the first
    come keep their time (counting places needs the location's settings, not only its id: ValueError). A block
    already over is refused (ValueError)."""
    check(starts_at, ends_at, places, now)
    if isinstance(location, str):
        if places is not None:
            raise ValueError("pass the location's settings (LocationSettings) to count its places")
        location_id, capacity = location, 1
    else:
        location_id, capacity = location.id, location.places
    rows = await tx.fetch(
        "SELECT id, starts_at, ends_at FROM bookings WHERE location = :location AND kind = 'slot'"
        " AND status = :booked AND starts_at < :end AND ends_at > :start AND starts_at > :now"
        " ORDER BY starts_at, created_at, id",
        location=location_id,
        booked=BookingStatus.BOOKED,
        start=starts_at,
        end=ends_at,
        now=now,
    )
    chosen: list[int] = []
    if places is None:
        chosen = [int(r["id"]) for r in rows]
    else:
        by_slot: dict[tuple[datetime, datetime], list[int]] = {}
        for r in rows:
            by_slot.setdefault((r["starts_at"], r["ends_at"]), []).append(int(r["id"]))
        for (slot_start, slot_end), ids in by_slot.items():
            already = await blocks_between(tx, location_id, slot_start, slot_end)
            blocked = sum(capacity if b.places is None else b.places for b in already) + places
            left = max(0, capacity - blocked)
            chosen += ids[left:]
    found = [await by_id(tx, booking_id) for booking_id in chosen]
    return sorted((row for row in found if row is not None), key=lambda row: (row["starts_at"], row["id"]))
