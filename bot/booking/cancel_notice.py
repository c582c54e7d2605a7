"""Cancelling a citizen's booking from the eMentors' side (time blocked over it), and telling the citizen.

A citizen whose time is taken back must hear it where they booked it — Telegram, the web chat — in their own
language, with a way on: book a new time, or write with an eMentor. The message goes through the outbox in
the same transaction as the cancellation, so it is sent exactly when the booking is really cancelled; the
reminders go with the booking, the eMentors get the usual cancellation notice, and the audit log says who.
"""

from __future__ import annotations

from datetime import datetime

from bot.booking import audit, bookings, follow_up
from bot.booking.blocks import add_block, bookings_under
from bot.booking.bookings import BookingRow
from bot.booking.places import find_location
from bot.booking.texts import phrases, place_of
from bot.config import Settings
from bot.core import words
from bot.core.messages import Button, Outbound
from bot.core.payloads import format_payload
from bot.core.ports import Tx
from bot.delivery.outbox import enqueue

MAX_MESSAGE = 500


async def _cancel_and_tell(
    tx: Tx, settings: Settings, now: datetime, row: BookingRow, actor_id: int | None, reason: str, message: str
) -> bool:
    if not await bookings.cancel(tx, int(row["id"]), now):
        return False
    lang = row["language"]
    p = phrases(settings)
    text = p.get("cancelled_by_us", lang, when=words.when(row["starts_at"], lang), place=place_of(settings, row, lang))
    if message.strip():
        text += "\n" + p.get("ementor_note", lang, text=message.strip()[:MAX_MESSAGE])
    buttons = (
        Button(p.get("b_book_new", lang), format_payload("book_ementor")),
        Button(p.get("b_talk", lang), format_payload("talk_to_human")),
    )
    await enqueue(
        tx, "system", row["channel"], row["sender"], [Outbound(text, buttons)], now, now, booking_id=int(row["id"])
    )
    await follow_up.after_cancel(tx, settings, row, now)
    await audit.record(tx, now, actor_id, "booking_cancelled", row["reference"], {"reason": reason})
    return True


async def cancel_for_block(tx: Tx, settings: Settings, now: datetime, row: BookingRow, actor_id: int | None) -> bool:
    """Cancel `row` because its time was blocked, and tell the citizen on their own channel; False when it was
    no longer booked (cancelled or moved meanwhile: nothing is sent)."""
    return await _cancel_and_tell(tx, settings, now, row, actor_id, "block", "")


async def cancel_by_ementor(
    tx: Tx, settings: Settings, now: datetime, row: BookingRow, actor_id: int | None, message: str = ""
) -> bool:
    """An eMentor cancels a booking (ill, the room is gone): the citizen is told as for a block, with the
    eMentor's own `message` (what they typed, at most MAX_MESSAGE characters) added when given."""
    return await _cancel_and_tell(tx, settings, now, row, actor_id, "ementor", message)


async def block_over_bookings(
    tx: Tx,
    settings: Settings,
    now: datetime,
    location: str,
    starts_at: datetime,
    ends_at: datetime,
    places: int | None,
    reason: str,
    actor_id: int | None,
) -> tuple[int, list[BookingRow]]:
    """Block the time and cancel the bookings it takes (each citizen told): the block's id and the bookings
    cancelled. For after the eMentor has seen `bookings_under` and confirmed. ValueError for an unknown location
    or a block that cannot be (see blocks.check)."""
    configured = find_location(settings.booking, location)
    if configured is None:
        raise ValueError(f"no location {location!r}")
    under = await bookings_under(tx, configured, starts_at, ends_at, places, now)
    block_id = await add_block(tx, location, starts_at, ends_at, places, reason, actor_id, now)
    cancelled = [row for row in under if await cancel_for_block(tx, settings, now, row, actor_id)]
    detail = {
        "location": location,
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
        "places": places,
        "cancelled": [row["reference"] for row in cancelled],
    }
    await audit.record(tx, now, actor_id, "block", f"block:{block_id}", detail)
    return block_id, cancelled
