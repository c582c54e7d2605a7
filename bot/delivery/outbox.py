"""The outbox: a message to send later (a reminder) or now (an eMentor's reply, a notice), and reading it.

Rows are written inside the transaction that causes them (a booking writes its reminders, a hand-over its
notice), so a message exists exactly when its cause does. The worker (delivery/worker.py) sends them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypedDict, cast

from bot.core.clock import Clock
from bot.core.messages import Outbound
from bot.core.ports import ConversationStore, Tx
from bot.core.privacy import SECRETS, redacted
from bot.core.statuses import OutboxStatus


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
    """Add one delivery (a list of messages for one recipient); its id. A CPR number or a code in the texts is
    masked in the row and in what is sent. (A citizen's words come here already redacted whole; phone numbers
    stay: a support line's in the bot's texts, a call-back's in the eMentors' notice.)"""
    kept = [dataclasses.replace(m, text=redacted(m.text, SECRETS)) for m in messages]
    rows = await tx.fetch(
        "INSERT INTO outbox (kind, channel, recipient, body, due_at, status, attempts, booking_id, handover_id,"
        " created_at) VALUES (:kind, :channel, :recipient, :body, :due_at, :pending, 0, :booking_id,"
        " :handover_id, :now) RETURNING id",
        pending=OutboxStatus.PENDING,
        kind=kind,
        channel=channel,
        recipient=recipient,
        body=json.dumps([m.to_dict() for m in kept], ensure_ascii=False),
        due_at=due_at,
        booking_id=booking_id,
        handover_id=handover_id,
        now=now,
    )
    return int(rows[0]["id"])


async def cancel_for_booking(tx: Tx, booking_id: int, kind: str = "reminder") -> int:
    """Drop a booking's messages not sent yet (its reminders, when it is cancelled or moved)."""
    return await tx.execute(
        "UPDATE outbox SET status = :cancelled WHERE booking_id = :booking_id AND kind = :kind"
        " AND status IN (:pending, :sending)",
        cancelled=OutboxStatus.CANCELLED,
        pending=OutboxStatus.PENDING,
        sending=OutboxStatus.SENDING,
        booking_id=booking_id,
        kind=kind,
    )


def messages_of(body: str) -> list[Outbound]:
    return [Outbound.from_dict(raw) for raw in json.loads(body)]


async def waiting(tx: Tx, channel: str, recipient: str, now: datetime) -> bool:
    """Whether the recipient has due messages on a pull channel: a read, for polls that mostly find none."""
    rows = await tx.fetch(
        "SELECT 1 AS found FROM outbox WHERE channel = :channel AND recipient = :recipient AND status = :pending"
        " AND due_at <= :now LIMIT 1",
        pending=OutboxStatus.PENDING,
        channel=channel,
        recipient=recipient,
        now=now,
    )
    return bool(rows)


async def pull(tx: Tx, channel: str, recipient: str, now: datetime) -> list[Outbound]:
    """The recipient's due messages on a pull channel (REST), marked sent as they are handed out.

    The UPDATE claims each row once: a second poll at the same moment (another tab, another bot process)
    finds them sent already, so a message is shown once. Rows come back in the order they were due."""
    rows = await tx.fetch(
        "UPDATE outbox SET status = :sent, sent_at = :now, attempts = attempts + 1"
        " WHERE channel = :channel AND recipient = :recipient AND status = :pending AND due_at <= :now"
        " RETURNING id, body, due_at",
        sent=OutboxStatus.SENT,
        pending=OutboxStatus.PENDING,
        channel=channel,
        recipient=recipient,
        now=now,
    )
    rows.sort(key=lambda row: (row["due_at"], row["id"]))
    return [message for row in rows for message in messages_of(row["body"])]


class OutboxMailbox:
    """`bot.core.ports.Mailbox` over the outbox: what the REST channel's GET /webhooks/rest/messages hands out."""

    def __init__(self, store: ConversationStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def take(self, channel: str, recipient: str) -> list[Outbound]:
        now = self.clock()
        # most polls find nothing: a read first, so they take no write lock (SQLite) and change nothing
        found = await self.store.transaction(lambda tx: waiting(tx, channel, recipient, now), read_only=True)
        return await self.store.transaction(lambda tx: pull(tx, channel, recipient, now)) if found else []


class DeliveryRow(TypedDict):
    """A delivery as the API and `ementor outbox` show it: without the messages themselves."""

    id: int
    kind: str  # reminder | handover | notice | system
    channel: str
    recipient: str
    status: OutboxStatus
    attempts: int
    last_error: str | None
    due_at: datetime
    sent_at: datetime | None
    created_at: datetime
    booking_id: int | None
    handover_id: int | None
    external_id: str | None


async def list_deliveries(tx: Tx, status: OutboxStatus | None, limit: int = 100) -> list[DeliveryRow]:
    """The latest deliveries (newest due first), of one status or all."""
    where = "WHERE status = :status" if status is not None else ""
    params: dict[str, Any] = {"limit": limit} | ({"status": status} if status is not None else {})
    rows = await tx.fetch(
        f"SELECT {', '.join(DeliveryRow.__annotations__)} FROM outbox {where}"
        " ORDER BY due_at DESC, id DESC LIMIT :limit",
        **params,
    )
    return [cast(DeliveryRow, {**r, "status": OutboxStatus(r["status"])}) for r in rows]


async def count_by_status(tx: Tx) -> dict[str, int]:
    """How many deliveries are in each status (pending, sending, sent, failed, cancelled)."""
    rows = await tx.fetch("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status ORDER BY status")
    return {str(row["status"]): int(row["n"]) for row in rows}
