"""The eMentors' Telegram group as a desk: take and end hand-overs, answer citizens, mark attendance.

The Telegram channel must not touch storage, so it is handed this object (bot/runtime.py builds it).
Each method is one transaction and returns the short line to show the eMentor (Danish: the eMentors' own
language). Being in the group is the authorisation to take a citizen: a presser whose Telegram account is
linked to an eMentor account takes it as that account, anyone else under their Telegram first name. Only the
one who took a hand-over may write in it or end it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.booking.bookings import mark_attendance
from bot.config import Settings
from bot.core import words
from bot.core.clock import Clock, utc_now
from bot.core.ports import ConversationStore, Tx
from bot.core.statuses import ATTENDANCE, BookingStatus, HandoverStatus
from bot.delivery.notices import GROUP_CHANNEL
from bot.escalation import accounts, handover

DA = handover.GROUP_LANGUAGE
MAX_ID = 18


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

    async def take(self, handover_id: str, user_id: int, first_name: str) -> str:
        number = _number(handover_id)
        if number is None:
            return self._say("not_open")

        async def work(tx: Tx) -> str:
            now = self.clock()
            account = await accounts.by_telegram_user(tx, user_id)
            ementor_id = int(account["id"]) if account else None
            name = str(account["name"]) if account else (first_name.strip() or "eMentor")
            taken = await handover.take(tx, self.settings, now, number, ementor_id, name, user_id)
            if taken.outcome == "taken":
                return self._say("you_took")
            if taken.outcome == "already" and taken.handover is not None:
                if handover.taken_by(taken.handover, ementor_id, user_id):
                    return self._say("you_took")  # pressed twice
                return self._say("already_taken", name=taken.handover["ementor_name"])
            return self._say("not_open")

        return await self.store.transaction(work)

    async def end(self, handover_id: str, user_id: int) -> str:
        number = _number(handover_id)
        if number is None:
            return self._say("not_open")

        async def work(tx: Tx) -> str:
            row = await handover.get(tx, number)
            if row is None or row["status"] != HandoverStatus.ACTIVE:
                return self._say("not_open")
            account = await accounts.by_telegram_user(tx, user_id)
            if not handover.taken_by(row, int(account["id"]) if account else None, user_id):
                return self._say("not_yours")
            await handover.end(tx, self.settings, self.clock(), number)
            return self._say("you_ended")

        return await self.store.transaction(work)

    async def attendance(self, reference: str, status: str) -> str:
        if status not in ATTENDANCE or not reference.isalnum() or len(reference) > 12:
            return self._say("unknown_booking")
        marked = BookingStatus(status)

        async def work(tx: Tx) -> str:
            row = await mark_attendance(tx, reference, marked, self.clock())
            if row is None:
                return self._say("unknown_booking")
            return self._say("marked_attended" if marked == BookingStatus.ATTENDED else "marked_no_show")

        return await self.store.transaction(work)

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
            if row["status"] != HandoverStatus.ACTIVE:
                return self._say("not_open")
            account = await accounts.by_telegram_user(tx, user_id)
            if not handover.taken_by(row, int(account["id"]) if account else None, user_id):
                return self._say("not_yours")
            await handover.ementor_says(tx, self.settings, self.clock(), row, text)
            return None

        if not text.strip():
            return None
        return await self.store.transaction(work)

    async def presence(self, user_id: int, online: bool) -> str:
        async def work(tx: Tx) -> str:
            account = await accounts.by_telegram_user(tx, user_id)
            if account is None:
                return self._say("not_linked", user=user_id)
            now = self.clock()
            until = now + timedelta(hours=self.settings.handover.online_hours) if online else None
            await accounts.set_online(tx, int(account["id"]), until)
            return self._say("online", until=words.clock(until, DA)) if until else self._say("offline")

        return await self.store.transaction(work)
