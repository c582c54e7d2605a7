"""Retention: personal data deleted or anonymised after the days set in config.yml `privacy:`.

One statement per table (per citizen for the turns), each bounded by time (`created_at < now - days`), so
running it twice, or in two processes at once, does the same as running it once: no lock, no leader. The
worker runs it each tick; it does the work at most once per `retention_every_minutes` in a process
(`RetentionJob`).

Turns are anonymised, not deleted: the statistics count them per day, language and channel. Their text and
reply are emptied and the sender replaced by `anon-<first turn id>` (the same for one citizen's old turns, so
"conversations" still counts right, and never the id the citizen wrote from).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.config import PrivacySettings
from bot.core.ports import Tx
from bot.core.statuses import OutboxStatus

ANONYMOUS = "anon-"
FINAL = (OutboxStatus.SENT, OutboxStatus.CANCELLED, OutboxStatus.FAILED)


async def apply_retention(tx: Tx, settings: PrivacySettings, now: datetime) -> dict[str, int]:
    """Delete or anonymise everything older than its limit; how many rows each step touched."""

    def before(days: int) -> datetime:
        return now - timedelta(days=days)

    done = {
        "turns": await _anonymise_turns(tx, before(settings.turns_days)),
        "conversations": await tx.execute(
            "DELETE FROM conversations WHERE updated_at < :cutoff", cutoff=before(settings.turns_days)
        ),
        "handover_messages": await tx.execute(
            "DELETE FROM handover_messages WHERE created_at < :cutoff",
            cutoff=before(settings.handover_messages_days),
        ),
        "inbox_items": await tx.execute(
            "DELETE FROM inbox_items WHERE created_at < :cutoff", cutoff=before(settings.inbox_items_days)
        ),
        "outbox": await tx.execute(
            "DELETE FROM outbox WHERE created_at < :cutoff AND status IN (:sent, :cancelled, :failed)",
            cutoff=before(settings.outbox_days),
            sent=FINAL[0],
            cancelled=FINAL[1],
            failed=FINAL[2],
        ),
        # message ids already handled, with the reply given (a repeat within minutes is what it is for)
        "inbound_seen": await tx.execute(
            "DELETE FROM inbound_seen WHERE created_at < :cutoff", cutoff=before(settings.outbox_days)
        ),
        "notices": await tx.execute(
            "DELETE FROM notices WHERE created_at < :cutoff", cutoff=before(settings.notices_days)
        ),
        "bookings": await tx.execute(
            "UPDATE bookings SET name = NULL, phone = NULL"
            " WHERE starts_at < :cutoff AND (name IS NOT NULL OR phone IS NOT NULL)",
            cutoff=before(settings.booking_personal_days),
        ),
    }
    return done


async def _anonymise_turns(tx: Tx, cutoff: datetime) -> int:
    """Old turns without text, reply or sender: each citizen's old turns get one label, their first turn's id.
    (One UPDATE per citizen, each bounded by time: SQLite would see its own changes in a correlated subquery.)"""
    groups = await tx.fetch(
        "SELECT channel, sender, MIN(id) AS first FROM turns WHERE created_at < :cutoff AND sender NOT LIKE :anon"
        " GROUP BY channel, sender",
        cutoff=cutoff,
        anon=f"{ANONYMOUS}%",
    )
    changed = 0
    for g in groups:
        changed += await tx.execute(
            "UPDATE turns SET text = '', shown = '[]', sender = :label"
            " WHERE channel = :channel AND sender = :sender AND created_at < :cutoff",
            label=f"{ANONYMOUS}{g['first']}",
            channel=g["channel"],
            sender=g["sender"],
            cutoff=cutoff,
        )
    return changed


@dataclass
class RetentionJob:
    """The worker's job: `apply_retention` at most once per `retention_every_minutes` in this process."""

    settings: PrivacySettings
    last: datetime | None = field(default=None)

    async def __call__(self, tx: Tx, now: datetime) -> None:
        if self.last is not None and now - self.last < timedelta(minutes=self.settings.retention_every_minutes):
            return
        await apply_retention(tx, self.settings, now)
        self.last = now
