"""The eMentors' Telegram group as a desk: take and end hand-overs, answer citizens, mark attendance.

The Telegram channel must not touch storage, so it is handed this object (bot/runtime.py builds it).
Each method is one transaction and returns the short line to show the eMentor (Danish: the eMentors' own
language). Only a member whose Telegram account is linked to an active eMentor account may act: being in
the group is not enough (a guest, a former colleague, a mis-added member), and the citizen must always be
told the name of a real eMentor. Only the one who took a hand-over may write in it or end it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from bot.booking.bookings import mark_attendance
from bot.config import Settings
from bot.core import words
from bot.core.clock import Clock, utc_now
from bot.core.ports import ConversationStore, Tx
from bot.core.statuses import BookingStatus, HandoverStatus
from bot.delivery.notices import GROUP_CHANNEL
from bot.escalation import accounts, handover
from bot.escalation.accounts import EmentorRow

DA = handover.GROUP_LANGUAGE
MAX_ID = 18
MARKS = {"attended": BookingStatus.ATTENDED, "no_show": BookingStatus.NO_SHOW, "booked": BookingStatus.BOOKED}
T = TypeVar("T")


def _number(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) <= MAX_ID else None


SEEN_CHANNEL = "telegram_group"


class Desk:
    def __init__(self, store: ConversationStore, settings: Settings, clock: Clock = utc_now) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.chat_id = settings.handover.telegram_group_chat_id  # 0: no group

    def _say(self, key: str, **values: Any) -> str:
        return handover.phrases(self.settings).get(key, DA, **values)

    async def first_delivery(self, update_id: int) -> bool:
        """The group's update ids are remembered like the citizens', so a repeat is dropped."""
        return await self.store.first_delivery(SEEN_CHANNEL, str(update_id), self.clock())

    async def _as_ementor(self, user_id: int, work: Callable[[Tx, EmentorRow], Awaitable[T]]) -> T | str:
        """`work` as the linked, active eMentor account of this Telegram user; else the line saying it is not."""

        async def run(tx: Tx) -> T | str:
            account = await accounts.by_telegram_user(tx, user_id)
            if account is None:
                return self._say("not_linked_act", user=user_id)
            return await work(tx, account)

        return await self.store.transaction(run)

    async def take(self, handover_id: str, user_id: int, first_name: str) -> str:
        """`first_name` (Telegram's) is no longer used: the citizen hears the eMentor account's name."""
        number = _number(handover_id)
        if number is None:
            return self._say("not_open")

        async def work(tx: Tx, account: EmentorRow) -> str:
            ementor_id = int(account["id"])
            taken = await handover.take(tx, self.settings, self.clock(), number, ementor_id, account["name"], user_id)
            if taken.outcome == "taken":
                return self._say("you_took")
            if taken.outcome == "already" and taken.handover is not None:
                if handover.taken_by(taken.handover, ementor_id, user_id):
                    return self._say("you_took")  # pressed twice
                return self._say("already_taken", name=taken.handover["ementor_name"])
            return self._say("not_open")

        return str(await self._as_ementor(user_id, work))

    async def end(self, handover_id: str, user_id: int) -> str:
        number = _number(handover_id)
        if number is None:
            return self._say("not_open")

        async def work(tx: Tx, account: EmentorRow) -> str:
            row = await handover.get(tx, number)
            if row is None or row["status"] != HandoverStatus.ACTIVE:
                return self._say("not_open")
            if not handover.taken_by(row, int(account["id"]), user_id):
                return self._say("not_yours")
            await handover.end(tx, self.settings, self.clock(), number, f"ementor:{account['id']}")
            return self._say("you_ended")

        return str(await self._as_ementor(user_id, work))

    async def attendance(self, reference: str, status: str, user_id: int) -> str:
        """Mark a booking from the group's "Fremmødt"/"Udeblev" buttons: only from the appointment's start."""
        if status not in MARKS or not reference.isalnum() or len(reference) > 12:
            return self._say("unknown_booking")
        wanted = MARKS[status]

        async def work(tx: Tx, account: EmentorRow) -> str:
            marked = await mark_attendance(tx, reference, wanted, self.clock(), int(account["id"]))
            if marked.outcome == "too_early" and marked.row is not None:
                return self._say("too_early", when=words.when(marked.row["starts_at"], DA))
            if marked.outcome == "too_late":
                return self._say("too_late")
            if marked.outcome != "marked":
                return self._say("unknown_booking")
            return self._say(f"marked_{wanted.value}")

        return str(await self._as_ementor(user_id, work))

    async def reply(self, replied_to: int, user_id: int, text: str) -> str | None:
        """An eMentor's reply to a hand-over's message in the group goes to the citizen; None when sent, or
        when the replied-to message is not a hand-over's (eMentors talking among themselves)."""

        async def work(tx: Tx) -> str | None:
            rows = await tx.fetch(
                "SELECT handover_id FROM outbox WHERE channel = :channel AND recipient = :group"
                " AND external_id = :message AND handover_id IS NOT NULL",
                channel=GROUP_CHANNEL,
                group=str(self.chat_id),
                message=str(replied_to),
            )
            row = await handover.get(tx, int(rows[0]["handover_id"])) if rows else None
            if row is None:
                return None
            account = await accounts.by_telegram_user(tx, user_id)
            if account is None:
                return self._say("not_linked_act", user=user_id)
            if row["status"] != HandoverStatus.ACTIVE:
                return self._say("not_open")
            if not handover.taken_by(row, int(account["id"]), user_id):
                return self._say("not_yours")
            await handover.ementor_says(tx, self.settings, self.clock(), row, text)
            return None

        if not text.strip():
            return None
        return await self.store.transaction(work)

    async def hint(self, user_id: int) -> str | None:
        """A group message that is not a reply: when this eMentor holds a talk taken in the group, one line on
        how to write to the citizen (reply to the citizen's message); else None — the eMentors' own talk."""

        async def work(tx: Tx) -> str | None:
            rows = await tx.fetch(
                "SELECT id FROM handovers WHERE status = :active AND ementor_telegram_id = :user ORDER BY id DESC",
                active=HandoverStatus.ACTIVE,
                user=user_id,
            )
            return self._say("reply_hint", id=rows[0]["id"]) if rows else None

        return await self.store.transaction(work, read_only=True)

    async def presence(self, user_id: int, online: bool) -> str:
        async def work(tx: Tx) -> str:
            account = await accounts.by_telegram_user(tx, user_id)
            if account is None:
                return self._say("not_linked", user=user_id)
            now = self.clock()
            until = now + timedelta(hours=self.settings.handover.online_hours) if online else None
            await accounts.set_online(tx, int(account["id"]), until)
            if until is None:  # the last one gone: the waiting citizens are told, not left waiting for nobody
                await handover.close_queue_if_nobody_online(tx, self.settings, now)
            return self._say("online", until=words.clock(until, DA)) if until else self._say("offline")

        return await self.store.transaction(work)
