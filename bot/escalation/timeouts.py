"""Hand-over checks run by the delivery worker on every tick (in whichever process runs it).

A citizen left waiting past `handover.wait_limit_minutes` leaves the queue and is offered a booking. So is
every waiting citizen once no eMentor is online any more (the last one said offline, was disabled, or their
online time ran out), and a citizen whose request never reached the eMentors' group (the notice failed for
good). A conversation an eMentor took but where nobody has written for `handover.idle_end_minutes` ends, and
the bot is back: an eMentor who forgot to press "Afslut" must not leave a citizen with a bot that stays
silent. All are conditional UPDATEs, so two workers never close the same hand-over twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.config import Settings
from bot.core.ports import Tx
from bot.core.statuses import HandoverStatus
from bot.delivery.jobs import Job, bind
from bot.escalation import handover


async def expire_waiting(tx: Tx, settings: Settings, now: datetime) -> None:
    """Citizens waiting past the limit leave the queue and are offered a booking instead; the one now first
    in the queue hears it."""
    limit = now - timedelta(minutes=settings.handover.wait_limit_minutes)
    due = await handover.waiting_since_before(tx, limit)
    if not due:
        return
    first = await handover.first_waiting(tx)
    for row in due:
        await handover.close_waiting(tx, settings, now, row, "timeout")
    await handover.tell_new_first(tx, settings, now, first)


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
        await handover.end(tx, settings, now, int(row["id"]), "timeout", why="ended_idle")


async def check_queue(tx: Tx, settings: Settings, now: datetime) -> None:
    """The queue's promises, in one transaction per tick: requests the group never got, nobody online any
    more, waits past the limit (mostly a read or two that find nothing)."""
    await handover.close_unannounced(tx, settings, now)
    await handover.close_queue_if_nobody_online(tx, settings, now)
    await expire_waiting(tx, settings, now)


def escalation_jobs(settings: Settings) -> list[Job]:
    return [bind(check_queue, settings), bind(end_idle, settings)]
