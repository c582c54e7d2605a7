"""Erasure and access: everything kept about one citizen (a channel and sender id), exported or deleted.

Used by the citizen's own "slet mine data" (handlers/privacy.py) and by an admin acting on a request
(/admin/citizens, /api/admin/citizens). Deleting, in the caller's one transaction:

- future bookings are cancelled the way a citizen's own cancellation is (the place freed, reminders dropped,
  the eMentors told), without the name or phone number in what they are told;
- a hand-over still open is left (the eMentors told), then every hand-over's messages and the eMentors'
  notes about it are deleted; the hand-over rows stay, anonymous, for the statistics;
- turns, the conversation's state, inbox items kept from its turns, the outbox rows for the citizen or
  about their bookings and hand-overs, and the repeated-message record are deleted;
- past bookings lose name, phone and sender (the statistics keep the count).

A booking reference finds its citizen (`citizen_of_reference`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.booking import bookings
from bot.booking.bookings import BookingRow
from bot.booking.follow_up import after_cancel
from bot.config import Settings
from bot.core.ports import Tx
from bot.core.statuses import BookingStatus
from bot.escalation import handover

ERASED = "anon-erased"
MAX_ID = 128


async def citizen_of_reference(tx: Tx, reference: str) -> tuple[str, str] | None:
    """(channel, sender) of the citizen who made booking `reference`, or None."""
    row = await bookings.by_reference(tx, reference)
    if row is None or row["sender"] == ERASED:
        return None
    return str(row["channel"]), str(row["sender"])


class NotFound(Exception):
    """No citizen found (`status` 404), or the request cannot name one (400); the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _channels_of(tx: Tx, sender: str) -> list[str]:
    rows = await tx.fetch(
        "SELECT channel FROM conversations WHERE sender = :s UNION SELECT channel FROM turns WHERE sender = :s"
        " UNION SELECT channel FROM bookings WHERE sender = :s UNION SELECT channel FROM handovers WHERE sender = :s",
        s=sender,
    )
    return sorted(str(r["channel"]) for r in rows)


async def find_citizen(tx: Tx, reference: str, sender: str, channel: str = "") -> tuple[str, str, str]:
    """(channel, sender, how found: "reference" | "sender") from a booking reference or a sender id (with its
    channel when the id is on two); NotFound otherwise."""
    if len(reference) > MAX_ID or len(sender) > MAX_ID or len(channel) > 32:
        raise NotFound(400, "The reference, sender or channel is too long.")
    if reference:
        found = await citizen_of_reference(tx, reference)
        if found is None:
            raise NotFound(404, "No booking with that reference.")
        return found[0], found[1], "reference"
    if not sender:
        raise NotFound(400, 'Give "reference" (a booking reference) or "sender" (a sender id).')
    channels = [c for c in await _channels_of(tx, sender) if not channel or c == channel]
    if not channels:
        raise NotFound(404, "Nothing is kept about that sender.")
    if len(channels) > 1:
        raise NotFound(400, f'That sender id is on {", ".join(channels)}: give "channel".')
    return channels[0], sender, "sender"


async def export(tx: Tx, channel: str, sender: str) -> dict[str, list[dict[str, Any]]]:
    """Every row kept about the citizen, by table (an access request's answer)."""
    who = {"channel": channel, "sender": sender}
    mine = "channel = :channel AND sender = :sender"
    out: dict[str, list[dict[str, Any]]] = {
        "conversations": await tx.fetch(f"SELECT * FROM conversations WHERE {mine}", **who),
        "turns": await tx.fetch(f"SELECT * FROM turns WHERE {mine} ORDER BY id", **who),
        "bookings": await tx.fetch(f"SELECT * FROM bookings WHERE {mine} ORDER BY id", **who),
        "handovers": await tx.fetch(f"SELECT * FROM handovers WHERE {mine} ORDER BY id", **who),
        "handover_messages": await tx.fetch(
            f"SELECT m.* FROM handover_messages m WHERE m.handover_id IN (SELECT id FROM handovers WHERE {mine})"
            " ORDER BY m.id",
            **who,
        ),
        "inbox_items": await tx.fetch(f"SELECT * FROM inbox_items WHERE {_INBOX_OF} ORDER BY id", **who),
        "outbox": await tx.fetch(f"SELECT * FROM outbox WHERE {_OUTBOX_OF} ORDER BY id", **who),
    }
    return out


# inbox items belong to a conversation through the turn they were kept with (bot/nlu/inbox.py)
_INBOX_OF = (
    "EXISTS (SELECT 1 FROM turns t WHERE t.created_at = inbox_items.created_at AND t.channel = inbox_items.channel"
    " AND t.channel = :channel AND t.sender = :sender)"
)
_OUTBOX_OF = (
    "(channel = :channel AND recipient = :sender)"
    " OR booking_id IN (SELECT id FROM bookings WHERE channel = :channel AND sender = :sender)"
    " OR handover_id IN (SELECT id FROM handovers WHERE channel = :channel AND sender = :sender)"
)


async def erase(tx: Tx, settings: Settings, channel: str, sender: str, now: datetime) -> dict[str, int]:
    """Delete everything about the citizen (see the module's docstring); how many of each were deleted or
    cancelled — the citizen's receipt."""
    who = {"channel": channel, "sender": sender}
    cancelled = 0
    for row in await bookings.for_owner(tx, channel, sender, now):
        if await bookings.cancel(tx, int(row["id"]), now):
            anonymous: BookingRow = {**row, "name": None, "phone": None}
            await after_cancel(tx, settings, anonymous, now)  # the eMentors told, as for any cancellation
            cancelled += 1
    held = await tx.fetch(
        "SELECT id FROM bookings WHERE channel = :channel AND sender = :sender AND status = :held",
        held=BookingStatus.HELD,
        **who,
    )
    for h in held:
        await bookings.release_hold(tx, int(h["id"]), now)
    open_row = await handover.open_for(tx, channel, sender)
    if open_row is not None:
        await handover.leave(tx, settings, now, open_row)
    mine = "channel = :channel AND sender = :sender"
    done = {
        "bookings_cancelled": cancelled,
        "outbox": await tx.execute(f"DELETE FROM outbox WHERE {_OUTBOX_OF}", **who),
        "handover_messages": await tx.execute(
            f"DELETE FROM handover_messages WHERE handover_id IN (SELECT id FROM handovers WHERE {mine})", **who
        ),
        "inbox_items": await tx.execute(f"DELETE FROM inbox_items WHERE {_INBOX_OF}", **who),
        "turns": await tx.execute(f"DELETE FROM turns WHERE {mine}", **who),
        "conversations": await tx.execute(f"DELETE FROM conversations WHERE {mine}", **who),
    }
    await tx.execute("DELETE FROM inbound_seen WHERE channel = :channel AND sender = :sender", **who)
    await tx.execute(f"UPDATE handovers SET sender = :erased, notes = '' WHERE {mine}", erased=ERASED, **who)
    done["bookings"] = await tx.execute(
        f"UPDATE bookings SET sender = :erased, name = NULL, phone = NULL WHERE {mine}", erased=ERASED, **who
    )
    return done
