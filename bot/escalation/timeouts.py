"""Hand-overs that time out, checked by the delivery worker on every tick (in whichever process runs it).

A citizen left waiting past `handover.wait_limit_minutes` leaves the queue and is offered a booking. A
conversation an eMentor took but where nobody has written for `handover.idle_end_minutes` ends, and the bot
is back: an eMentor who forgot to press "Afslut" must not leave a citizen with a bot that stays silent.
Both are conditional UPDATEs, so two workers never time out the same hand-over twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.config import Settings
from bot.core.messages import Button, Outbound
from bot.core.payloads import format_payload
from bot.core.ports import Tx
from bot.core.statuses import HandoverStatus
from bot.delivery.jobs import Job, bind
from bot.escalation import handover


async def expire_waiting(tx: Tx, settings: Settings, now: datetime) -> None:
    """Citizens waiting past the limit leave the queue and are offered a booking instead."""
    limit = now - timedelta(minutes=settings.handover.wait_limit_minutes)
    due = await handover.waiting_since_before(tx, limit)
    p = handover.phrases(settings)
    for row in due:
        changed = await tx.execute(
            "UPDATE handovers SET status = :expired, ended_at = :now WHERE id = :id AND status = :waiting",
            expired=HandoverStatus.EXPIRED,
            waiting=HandoverStatus.WAITING,
            now=now,
            id=row["id"],
        )
        if not changed:
            continue  # taken or left meanwhile
        lang = row["language"]
        buttons = (
            Button(p.get("button_book", lang), format_payload("book_ementor")),
            Button(p.get("button_menu", lang), format_payload("help")),
        )
        await handover.tell_citizen(tx, now, row, Outbound(p.get("expired", lang), buttons))
        closed: handover.HandoverRow = {**row, "status": HandoverStatus.EXPIRED}
        group_text = p.get("group_expired", handover.GROUP_LANGUAGE, id=row["id"])
        await handover.tell_group(tx, settings, now, "handover_expired", closed, group_text)


async def end_idle(tx: Tx, settings: Settings, now: datetime) -> None:
    """Active hand-overs where nobody (citizen or eMentor) has written for a while end; the bot is back."""
    limit = now - timedelta(minutes=settings.handover.idle_end_minutes)
    idle = await tx.fetch(
        "SELECT h.id FROM handovers h WHERE h.status = :active AND h.taken_at < :limit AND NOT EXISTS"
        " (SELECT 1 FROM handover_messages m WHERE m.handover_id = h.id AND m.author IN ('citizen', 'ementor')"
        " AND m.created_at >= :limit) ORDER BY h.id",
        active=HandoverStatus.ACTIVE,
        limit=limit,
    )
    for row in idle:
        await handover.end(tx, settings, now, int(row["id"]), why="ended_idle")


def escalation_jobs(settings: Settings) -> list[Job]:
    return [bind(expire_waiting, settings), bind(end_idle, settings)]
