"""Writing to the outbox: a message to send later (a reminder) or now (an eMentor's reply, a notice).

Rows are written inside the transaction that causes them (a booking writes its reminders, a hand-over its
notice), so a message exists exactly when its cause does. The worker (delivery/worker.py) sends them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from bot.core.messages import Outbound
from bot.storage.tx import Tx


async def enqueue(
    tx: Tx,
    kind: str,
    channel: str,
    recipient: str,
    messages: Sequence[Outbound],
    due_at: datetime,
    now: datetime,
    *,
    booking_id: int | None = None,
    handover_id: int | None = None,
) -> int:
    """Add one delivery (a list of messages for one recipient); its id."""
    rows = await tx.fetch(
        "INSERT INTO outbox (kind, channel, recipient, body, due_at, status, attempts, booking_id, handover_id,"
        " created_at) VALUES (:kind, :channel, :recipient, :body, :due_at, 'pending', 0, :booking_id,"
        " :handover_id, :now) RETURNING id",
        kind=kind,
        channel=channel,
        recipient=recipient,
        body=json.dumps([m.to_dict() for m in messages], ensure_ascii=False),
        due_at=due_at,
        booking_id=booking_id,
        handover_id=handover_id,
        now=now,
    )
    return int(rows[0]["id"])


async def cancel_for_booking(tx: Tx, booking_id: int, kind: str = "reminder") -> int:
    """Drop a booking's messages not sent yet (its reminders, when it is cancelled or moved)."""
    return await tx.execute(
        "UPDATE outbox SET status = 'cancelled' WHERE booking_id = :booking_id AND kind = :kind"
        " AND status IN ('pending', 'sending')",
        booking_id=booking_id,
        kind=kind,
    )


def messages_of(body: str) -> list[Outbound]:
    return [Outbound.from_dict(raw) for raw in json.loads(body)]
