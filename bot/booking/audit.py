"""The audit log: what an eMentor or admin did (marked attendance, blocked time, cancelled a booking, handed a
citizen to a colleague), for the consoles to show and nobody to change.

It sits in the booking room, the lowest room that acts for an eMentor, so bookings, escalation, the API and
the consoles all write it the same way. `detail` is a small JSON object of ids and statuses: never a
citizen's words, name, phone number or sender id.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TypedDict, cast

from bot.core.ports import Tx

MAX_ACTION = 40
MAX_SUBJECT = 80


class AuditRow(TypedDict):
    id: int
    created_at: datetime
    actor_id: int | None  # None: the bot itself
    action: str
    subject: str
    detail: dict[str, Any]


async def record(
    tx: Tx, now: datetime, actor_id: int | None, action: str, subject: str, detail: dict[str, Any]
) -> None:
    """One line in the audit log, in the transaction of the act itself (so the line exists exactly when the
    act does)."""
    await tx.execute(
        "INSERT INTO audit_log (created_at, actor_id, action, subject, detail)"
        " VALUES (:now, :actor, :action, :subject, :detail)",
        now=now,
        actor=actor_id,
        action=action[:MAX_ACTION],
        subject=subject[:MAX_SUBJECT],
        detail=json.dumps(detail, ensure_ascii=False, default=str),
    )


async def recent(tx: Tx, limit: int = 100, subject: str | None = None) -> list[AuditRow]:
    """The newest lines first (of one subject, e.g. a booking reference or "handover:12", when given)."""
    where = "WHERE subject = :subject" if subject is not None else ""
    rows = await tx.fetch(
        f"SELECT id, created_at, actor_id, action, subject, detail FROM audit_log {where}"
        " ORDER BY id DESC LIMIT :limit",
        limit=limit,
        **({"subject": subject} if subject is not None else {}),
    )
    return [cast(AuditRow, {**r, "detail": json.loads(r["detail"] or "{}")}) for r in rows]
