"""The delivery worker: sends the outbox's due messages through the push channels, from any bot process.

Every process may run a worker on the same database; a message is still sent once. Each tick:
1. the jobs (periodic work such as ending hand-overs left waiting), each in a transaction of its own;
2. a claim, in one short transaction: due `pending` rows, and `sending` rows whose lease ran out, become
   `sending` with a new lease and one more attempt. PostgreSQL skips rows another worker has locked
   (`FOR UPDATE SKIP LOCKED`); SQLite's write lock lets one claim run at a time;
3. the sends, outside any transaction (a slow Bot API must not hold a lock), one recipient's messages in
   order, different recipients at the same time;
4. the outcome, written only if the row is still ours (same lease and attempt): `sent`; or back to
   `pending` later (doubling the wait each attempt); or `failed` after the last attempt, with its error in
   the row and an ERROR line in the log.

Delivery is at least once: a process that dies between sending and writing `sent` leaves a lease that
runs out, and the row is sent again. Everything short of that is exactly once.
REST rows are never claimed here: REST is a pull channel (outbox.pull, GET /webhooks/rest/messages).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypedDict, cast

from bot.config import DeliverySettings
from bot.core.clock import Clock, utc_now
from bot.core.ports import ConversationStore, StorageUnavailable, Tx
from bot.core.statuses import OutboxStatus
from bot.delivery.jobs import Job
from bot.delivery.outbox import messages_of
from bot.delivery.sender import PermanentFailure, RetryLater, Sender, Unreachable

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)  # longer than any send takes; after it the row is someone else's to send
BATCH = 20
UNREACHABLE_FOR = timedelta(days=1)  # a web chat nobody reconnects to within this long: give up
UNREACHABLE_EVERY = timedelta(minutes=5)  # the longest wait between looks for an unreachable recipient
MAX_ERROR = 500
STOP_WAIT = 10.0
_STATUSES = {status.name.lower(): status for status in OutboxStatus}  # :pending, :sending … in the SQL below


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR]


class Claimed(TypedDict):
    """A row this worker claimed: it is ours to send until `lease_until` (with this `attempts`)."""

    id: int
    kind: str
    channel: str
    recipient: str
    body: str
    attempts: int
    lease_until: datetime
    due_at: datetime
    created_at: datetime


class DeliveryWorker:
    def __init__(
        self,
        store: ConversationStore,
        senders: Mapping[str, Sender],
        settings: DeliverySettings,
        clock: Clock = utc_now,
        jobs: Sequence[Job] = (),
        *,
        lease: timedelta = LEASE,
        batch: int = BATCH,
    ) -> None:
        self.store = store
        self.senders = dict(senders)
        self.settings = settings
        self.clock = clock
        self.jobs = tuple(jobs)
        self.lease = lease
        self.batch = batch
        self.claimed = 0  # rows the last tick claimed: a full batch means more are waiting
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    # ---- running in the background ----

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._loop(), name="delivery-worker")

    async def stop(self) -> None:
        """Finish the tick in progress (a send under way is not cut off), then stop."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(task, STOP_WAIT)
        except TimeoutError:
            log.warning("delivery worker did not stop within %.0f s; its claims will be sent again", STOP_WAIT)

    def wake(self) -> None:
        """Run the next tick now (something was just put in the outbox)."""
        self._wake.set()

    async def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.run_once()
                if self.claimed >= self.batch:
                    continue  # a backlog (the 17.00 reminders): the next batch at once, not after a poll
            except StorageUnavailable as exc:  # the store logged it, in one line: the next tick tries again
                log.debug("delivery worker: database unavailable (%s), trying again", exc)
            except Exception:
                log.exception("delivery worker tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_seconds)

    # ---- one tick ----

    async def run_once(self) -> int:
        """Run the jobs, then claim and send what is due; the number of deliveries sent."""
        now = self.clock()
        for job in self.jobs:
            await self._run_job(job, now)
        if not self.senders:
            return 0
        rows = await self.store.transaction(lambda tx: self._claim(tx, now))
        self.claimed = len(rows)
        by_recipient: dict[tuple[str, str], list[Claimed]] = {}
        for row in rows:
            by_recipient.setdefault((row["channel"], row["recipient"]), []).append(row)
        sent = await asyncio.gather(*(self._deliver_all(group) for group in by_recipient.values()))
        return sum(sent)

    async def _run_job(self, job: Job, now: datetime) -> None:
        """One job in its own transaction: a failing job is logged and does not stop the sending."""

        async def work(tx: Tx) -> None:
            await job(tx, now)

        try:
            await self.store.transaction(work)
        except StorageUnavailable:
            return  # the store logged it, in one line; the job runs again on the next tick
        except Exception:
            log.exception("delivery job %s failed", getattr(job, "__name__", job))

    def _channels(self) -> tuple[str, dict[str, str]]:
        names = {f"channel_{i}": channel for i, channel in enumerate(sorted(self.senders))}
        return ", ".join(f":{name}" for name in names), names

    async def _claim(self, tx: Tx, now: datetime) -> list[Claimed]:
        placeholders, channels = self._channels()
        given_up = await tx.fetch(
            "UPDATE outbox SET status = :failed, lease_until = NULL,"
            " last_error = 'no outcome before the lease ran out (the process stopped?) on the last attempt'"
            f" WHERE channel IN ({placeholders}) AND status = :sending AND lease_until < :now"
            " AND attempts >= :max RETURNING id, channel, kind",
            **_STATUSES,
            now=now,
            max=self.settings.max_attempts,
            **channels,
        )
        for row in given_up:
            log.error(
                "delivery %s failed (%s %s): lease ran out on the last attempt", row["id"], row["channel"], row["kind"]
            )
        lock = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else ""
        rows = await tx.fetch(
            "UPDATE outbox SET status = :sending, lease_until = :lease, attempts = attempts + 1"
            f" WHERE id IN (SELECT id FROM outbox WHERE channel IN ({placeholders})"
            " AND ((status = :pending AND due_at <= :now) OR (status = :sending AND lease_until < :now))"
            f" ORDER BY due_at, id LIMIT :batch{lock})"
            f" RETURNING {', '.join(Claimed.__annotations__)}",
            **_STATUSES,
            lease=now + self.lease,
            now=now,
            batch=self.batch,
            **channels,
        )
        rows.sort(key=lambda row: (row["due_at"], row["id"]))
        return cast(list[Claimed], rows)

    async def _deliver_all(self, rows: list[Claimed]) -> int:
        sent = 0
        for row in rows:
            sent += await self._deliver(row)
        return sent

    async def _deliver(self, row: Claimed) -> int:
        try:
            messages = messages_of(row["body"])
            external_id = await self.senders[row["channel"]].send(row["recipient"], messages)
        except asyncio.CancelledError:
            raise
        except Unreachable as exc:
            await self._unreachable(row, exc)
            return 0
        except RetryLater as exc:
            due = self.clock() + timedelta(seconds=max(exc.seconds, 0.0))
            await self._outcome(row, "status = :pending, attempts = attempts - 1, due_at = :due", due=due)
            return 0
        except PermanentFailure as exc:
            await self._failed(row, exc)
            return 0
        except Exception as exc:
            if row["attempts"] >= self.settings.max_attempts:
                await self._failed(row, exc)
            else:
                await self._retry(row, exc)
            return 0
        return await self._outcome(
            row,
            "status = :sent, sent_at = :now, external_id = :external_id",
            external_id=(None if external_id is None else str(external_id)[:64]),
        )

    async def _outcome(self, row: Claimed, changes: str, **params: Any) -> int:
        """Write what became of a claimed row, if it is still ours; 1 when it was written."""

        async def write(tx: Tx) -> int:
            return await tx.execute(
                f"UPDATE outbox SET {changes}, lease_until = NULL"
                " WHERE id = :id AND status = :sending AND lease_until = :lease AND attempts = :attempts",
                id=row["id"],
                lease=row["lease_until"],
                attempts=row["attempts"],
                now=self.clock(),
                **_STATUSES,
                **params,
            )

        written = await self.store.transaction(write)
        if not written:
            log.warning(
                "delivery %s: claim lost before its outcome was written (cancelled or lease ran out)", row["id"]
            )
        return written

    async def _unreachable(self, row: Claimed, exc: Exception) -> None:
        """Not connected here: back to pending, without counting an attempt, for a process that can send it."""
        if self.clock() - row["created_at"] > UNREACHABLE_FOR:
            await self._failed(row, exc)
            return
        # soon while the citizen may just be reconnecting, then less often: at most every UNREACHABLE_EVERY
        waited = self.clock() - row["created_at"]
        wait = min(max(waited / 10, timedelta(seconds=2 * self.settings.poll_seconds)), UNREACHABLE_EVERY)
        await self._outcome(row, "status = :pending, attempts = attempts - 1, due_at = :due", due=self.clock() + wait)

    async def _retry(self, row: Claimed, exc: Exception) -> None:
        wait = self.settings.retry_seconds * 2 ** (row["attempts"] - 1)
        due = self.clock() + timedelta(seconds=wait)
        log.warning(
            "delivery %s (%s %s) attempt %d failed, retry in %.0f s: %s",
            row["id"],
            row["channel"],
            row["kind"],
            row["attempts"],
            wait,
            describe(exc),
        )
        await self._outcome(row, "status = :pending, due_at = :due, last_error = :error", due=due, error=describe(exc))

    async def _failed(self, row: Claimed, exc: Exception) -> None:
        log.error(
            "delivery %s failed (%s %s) after %d attempt(s): %s",
            row["id"],
            row["channel"],
            row["kind"],
            row["attempts"],
            describe(exc),
        )
        await self._outcome(row, "status = :failed, last_error = :error", error=describe(exc))
