"""Blocked time: an eMentor away, a room in use. Free slots = schedule − blocks − live bookings.

A block removes `places` places (None: every place) from each slot of its location that it overlaps; it
never cancels bookings already made, so an eMentor blocking time sees who is still expected (list_bookings).
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict, cast

from bot.booking.schedule import Block
from bot.core.ports import Tx


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
    """Store a block; its id. `ends_at` must be after `starts_at`, `places` positive or None."""
    if ends_at <= starts_at:
        raise ValueError("a block must end after it starts")
    if places is not None and places < 1:
        raise ValueError("places must be at least 1 (or None for all)")
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
