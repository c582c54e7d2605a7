"""What follows a booking change, in the same transaction: reminders in the outbox, a notice to the eMentors.

Reminders are outbox rows (due the day before at 17.00 Copenhagen time and `remind_hours_before` hours
before), so they survive restarts and are sent once by whichever bot process claims them; cancelling or
moving a booking cancels the ones not yet sent. A reminder whose time has passed is not written.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any

from bot.booking.bookings import BookingRow
from bot.booking.texts import flows_of, is_phone, phrases, place_of, reminder
from bot.config import BookingSettings, Settings
from bot.core import words
from bot.core.clock import COPENHAGEN
from bot.core.messages import Button
from bot.core.payloads import format_payload
from bot.core.ports import Tx
from bot.delivery.notices import notify
from bot.delivery.outbox import enqueue
from bot.flows.model import Flow
from bot.flows.topic import described, failed_step, step_text, steps_line

DAY_BEFORE_AT = time(17, 0)


def reminder_times(starts_at: datetime, settings: BookingSettings, now: datetime) -> list[datetime]:
    """When to remind, soonest first: future times only, never two at the same moment."""
    due: set[datetime] = set()
    if settings.remind_day_before:
        day = starts_at.astimezone(COPENHAGEN).date() - timedelta(days=1)
        due.add(datetime.combine(day, DAY_BEFORE_AT, COPENHAGEN))
    if settings.remind_hours_before:
        due.add(starts_at - timedelta(hours=settings.remind_hours_before))
    return sorted(d for d in due if now < d < starts_at)


async def schedule_reminders(tx: Tx, settings: Settings, row: BookingRow, now: datetime) -> int:
    message = reminder(settings, row, row["language"])
    due = reminder_times(row["starts_at"], settings.booking, now)
    for moment in due:
        await enqueue(tx, "reminder", row["channel"], row["sender"], [message], moment, now, booking_id=int(row["id"]))
    return len(due)


def notice_body(settings: Settings, row: BookingRow) -> dict[str, Any]:
    """What the eMentor needs: time (Copenhagen), place, language, topic and the steps tried in words; a first
    name if given; the phone number only for a call-back."""
    tried = json.loads(row["tried"] or "[]")
    flow = flows_of(settings).get(row["topic"] or "")
    body: dict[str, Any] = {
        "reference": row["reference"],
        "kind": row["kind"],
        "location": row["location"],
        "workshop": row["workshop"],
        "starts_at": row["starts_at"].astimezone(COPENHAGEN).isoformat(),  # as the eMentors read times
        "language": row["language"],
        "channel": row["channel"],
        "topic": row["topic"],
        "topic_title": flow.title.get("da") if flow is not None else row["topic"],
        "steps": [
            {"id": d["step"], "text": d["text"], "answer": d["answer"], "outcome": d["outcome"]}
            for d in described(flow, tried, "da")
        ],
        "failed_at": failed_step(tried),
        "status": row["status"],
    }
    if row["name"]:
        body["name"] = row["name"]
    if is_phone(settings, row) and row["phone"]:
        body["phone"] = row["phone"]
    return body


async def after_booking(
    tx: Tx,
    settings: Settings,
    row: BookingRow,
    now: datetime,
    moved_from: str = "",
    flow: Flow | None = None,
) -> None:
    """Reminders for the citizen, a notice for the eMentors (with attendance buttons). The group's line says
    what the eMentor needs to prepare: the topic, what was tried and where it stopped working, the first
    name if given, and the number to call for a call-back."""
    await schedule_reminders(tx, settings, row, now)
    p = phrases(settings)
    when, place = words.when(row["starts_at"], "da"), place_of(settings, row, "da")
    if moved_from:
        text = p.get("notice_moved", "da", old=moved_from, ref=row["reference"], when=when, place=place)
    else:
        tried = json.loads(row["tried"] or "[]")
        none = p.get("nothing", "da")
        who = " ".join(
            p.get(key, "da", value=value)
            for key, value in (
                ("notice_name", row["name"]),
                ("notice_phone", row["phone"] if is_phone(settings, row) else None),
            )
            if value
        )
        text = p.get(
            "notice_booking",
            "da",
            ref=row["reference"],
            when=when,
            place=place,
            speaks=p.get("english" if row["language"] == "en" else "danish", "da"),
            topic=flow.title.get("da") if flow is not None else (row["topic"] or none),
            tried=steps_line(flow, tried) or none,
            failed=step_text(flow, failed_step(tried) or "", "da") or none,
            who=who,
        ).strip()
    ref = row["reference"]
    buttons = [
        Button(p.get("b_attended", "da"), format_payload("attended", ref=ref)),
        Button(p.get("b_no_show", "da"), format_payload("no_show", ref=ref)),
    ]
    body = notice_body(settings, row) | ({"moved_from": moved_from} if moved_from else {})
    await notify(
        tx, settings, now, "booking_moved" if moved_from else "booking", body, text, buttons, booking_id=int(row["id"])
    )


async def after_cancel(tx: Tx, settings: Settings, row: BookingRow, now: datetime) -> None:
    p = phrases(settings)
    text = p.get(
        "notice_cancelled",
        "da",
        ref=row["reference"],
        when=words.when(row["starts_at"], "da"),
        place=place_of(settings, row, "da"),
    )
    body = notice_body(settings, row) | {"status": "cancelled"}
    await notify(tx, settings, now, "booking_cancelled", body, text, booking_id=int(row["id"]))
