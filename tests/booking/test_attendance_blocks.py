"""Attendance and blocked time over bookings, on the database (SQLite and PostgreSQL): what an eMentor's mark
or block does to a citizen's booking, and what the citizen is told."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.booking import audit, bookings
from bot.booking.blocks import add_block, bookings_under
from bot.booking.bookings import BookingRow, Request, resource_of
from bot.booking.cancel_notice import block_over_bookings, cancel_by_ementor, cancel_for_block
from bot.booking.follow_up import schedule_reminders
from bot.config import Settings
from bot.core.clock import COPENHAGEN
from bot.core.ports import Tx
from bot.core.statuses import BookingStatus
from bot.delivery.outbox import messages_of
from bot.storage.store import Store
from tests.booking.helpers import LAB, booking_settings, rows

NOW = datetime(2025, 12, 1, 8, 0, tzinfo=COPENHAGEN)  # Monday morning
TUESDAY_TEN = datetime(2025, 12, 2, 10, 0, tzinfo=COPENHAGEN)
TWO = dataclasses.replace(LAB, places=2)


def two_places() -> Settings:
    """The lab with two eMentors serving in parallel."""
    settings = booking_settings()
    return dataclasses.replace(settings, booking=dataclasses.replace(settings.booking, locations=(TWO,)))


async def booked(
    store: Store, sender: str, start: datetime = TUESDAY_TEN, language: str = "da", made: datetime = NOW
) -> BookingRow:
    """A booked slot at the lab (two places), with its reminders, made at `made`."""

    async def work(tx: Tx) -> BookingRow:
        request = Request(
            "slot", resource_of("slot", "lab", start), 2, "lab", start, start + timedelta(minutes=30),
            "telegram", sender, language, name="Ida",
        )  # fmt: skip
        row = await bookings.reserve(tx, request, BookingStatus.BOOKED, made)
        assert row is not None
        await schedule_reminders(tx, two_places(), row, made)
        return row

    return await store.transaction(work)


async def mark(store: Store, ref: str, status: BookingStatus, at: datetime, who: int = 7) -> bookings.Marked:
    return await store.transaction(lambda tx: bookings.mark_attendance(tx, ref, status, at, who))


async def test_attendance_only_from_the_start_and_who_marked_it_is_kept(store: Store) -> None:
    row = await booked(store, "a")
    early = await mark(store, row["reference"], BookingStatus.NO_SHOW, TUESDAY_TEN - timedelta(days=1))
    assert early.outcome == "too_early"
    mine = await store.transaction(lambda tx: bookings.for_owner(tx, "telegram", "a", NOW))
    assert [b["reference"] for b in mine] == [row["reference"]]  # the citizen still has the time
    pending = await rows(store, "SELECT status FROM outbox WHERE booking_id = :b", b=row["id"])
    assert {r["status"] for r in pending} == {"pending"}  # and the reminders

    marked = await mark(store, row["reference"], BookingStatus.NO_SHOW, TUESDAY_TEN + timedelta(minutes=5))
    assert marked.outcome == "marked" and marked.row is not None
    assert marked.row["status"] == "no_show" and marked.row["marked_by"] == 7
    assert marked.row["marked_at"] == TUESDAY_TEN + timedelta(minutes=5)
    lines = await store.transaction(lambda tx: audit.recent(tx, subject=row["reference"]))
    assert [(a["actor_id"], a["action"], a["detail"]["status"]) for a in lines] == [(7, "attendance", "no_show")]


async def test_a_mark_can_be_corrected_and_undone_for_a_week(store: Store) -> None:
    row = await booked(store, "b")
    ref, later = row["reference"], TUESDAY_TEN + timedelta(hours=1)
    assert (await mark(store, ref, BookingStatus.NO_SHOW, later)).outcome == "marked"
    corrected = await mark(store, ref, BookingStatus.ATTENDED, later + timedelta(days=2), who=8)
    assert corrected.row is not None and corrected.row["status"] == "attended" and corrected.row["marked_by"] == 8
    undone = await mark(store, ref, BookingStatus.BOOKED, later + timedelta(days=3))
    assert undone.row is not None and undone.row["status"] == "booked" and undone.row["marked_by"] is None
    assert (await mark(store, ref, BookingStatus.ATTENDED, later + timedelta(days=8))).outcome == "too_late"
    actions = await store.transaction(lambda tx: audit.recent(tx, subject=ref))
    assert [a["detail"]["status"] for a in reversed(actions)] == ["no_show", "attended", "booked"]
    assert (await mark(store, "NOPE", BookingStatus.ATTENDED, later)).outcome == "unknown"
    with pytest.raises(ValueError):
        await mark(store, ref, BookingStatus.CANCELLED, later)


async def test_a_cancelled_booking_cannot_be_marked(store: Store) -> None:
    row = await booked(store, "c")
    await store.transaction(lambda tx: bookings.cancel(tx, row["id"], NOW))
    assert (await mark(store, row["reference"], BookingStatus.ATTENDED, TUESDAY_TEN)).outcome == "unknown"


async def test_a_whole_block_takes_every_booking_in_its_time_and_not_past_ones(store: Store) -> None:
    first = await booked(store, "d")
    second = await booked(store, "e")
    await booked(store, "f", TUESDAY_TEN + timedelta(hours=1))  # after the block
    under = await store.transaction(
        lambda tx: bookings_under(tx, "lab", TUESDAY_TEN, TUESDAY_TEN + timedelta(minutes=30), None, NOW)
    )
    assert [r["reference"] for r in under] == [first["reference"], second["reference"]]
    started = await store.transaction(
        lambda tx: bookings_under(tx, "lab", TUESDAY_TEN, TUESDAY_TEN + timedelta(hours=2), None, TUESDAY_TEN)
    )
    assert [r["sender"] for r in started] == ["f"]  # the one already begun is not taken back
    for start, end in ((NOW - timedelta(hours=2), NOW - timedelta(hours=1)), (TUESDAY_TEN, TUESDAY_TEN)):
        with pytest.raises(ValueError):
            await store.transaction(lambda tx, s=start, e=end: bookings_under(tx, "lab", s, e, None, NOW))
        with pytest.raises(ValueError):
            await store.transaction(lambda tx, s=start, e=end: add_block(tx, "lab", s, e, None, "", None, NOW))


async def test_a_block_of_some_places_takes_only_the_bookings_that_no_longer_fit(store: Store) -> None:
    first = await booked(store, "g", made=NOW)
    second = await booked(store, "h", made=NOW + timedelta(minutes=5))
    end = TUESDAY_TEN + timedelta(minutes=30)
    one = await store.transaction(lambda tx: bookings_under(tx, TWO, TUESDAY_TEN, end, 1, NOW))
    assert [r["reference"] for r in one] == [second["reference"]]  # the last made gives way
    await store.transaction(lambda tx: add_block(tx, "lab", TUESDAY_TEN, end, 1, "kursus", None, NOW))
    both = await store.transaction(lambda tx: bookings_under(tx, TWO, TUESDAY_TEN, end, 1, NOW))
    assert [r["reference"] for r in both] == [first["reference"], second["reference"]]  # with the block there
    with pytest.raises(ValueError):  # places are counted from the location's settings, not its id alone
        await store.transaction(lambda tx: bookings_under(tx, "lab", TUESDAY_TEN, end, 1, NOW))


async def citizen_told(store: Store, sender: str) -> list[Any]:
    found = await rows(store, "SELECT body FROM outbox WHERE recipient = :s AND kind = 'system' ORDER BY id", s=sender)
    return [m for r in found for m in messages_of(r["body"])]


async def test_blocking_with_confirmation_cancels_and_tells_each_citizen_in_their_language(store: Store) -> None:
    danish = await booked(store, "ida", language="da")
    english = await booked(store, "john", language="en")
    settings = two_places()
    end = TUESDAY_TEN + timedelta(minutes=30)
    block_id, cancelled = await store.transaction(
        lambda tx: block_over_bookings(tx, settings, NOW, "lab", TUESDAY_TEN, end, None, "sygdom", 3)
    )
    assert sorted(r["reference"] for r in cancelled) == sorted([danish["reference"], english["reference"]])
    statuses = await rows(store, "SELECT status FROM bookings")
    assert {r["status"] for r in statuses} == {"cancelled"}
    reminders = await rows(store, "SELECT status FROM outbox WHERE kind = 'reminder'")
    assert {r["status"] for r in reminders} == {"cancelled"}  # no reminder for a time that is gone

    [da] = await citizen_told(store, "ida")
    assert da.text.startswith("Vi er desværre nødt til at aflyse din tid tirsdag den 2. december kl. 10.00")
    assert [b.payload for b in da.buttons] == ["/book_ementor", "/talk_to_human"]
    [en] = await citizen_told(store, "john")
    assert en.text.startswith("Sorry, we have to cancel your time Tuesday 2 December at 10:00")
    assert [b.title for b in en.buttons] == ["Book a new time", "Talk to an eMentor"]

    log = await store.transaction(lambda tx: audit.recent(tx))
    assert sorted((a["action"], a["actor_id"]) for a in log) == [
        ("block", 3), ("booking_cancelled", 3), ("booking_cancelled", 3)
    ]  # fmt: skip
    block_line = next(a for a in log if a["action"] == "block")
    assert block_line["subject"] == f"block:{block_id}" and len(block_line["detail"]["cancelled"]) == 2
    notices = await rows(store, "SELECT kind, body FROM notices")
    assert [n["kind"] for n in notices] == ["booking_cancelled", "booking_cancelled"]
    assert "ida" not in json.dumps([n["body"] for n in notices])  # never the sender id
    again = await store.transaction(lambda tx: cancel_for_block(tx, settings, NOW, danish, 3))
    assert again is False and len(await citizen_told(store, "ida")) == 1  # told once


async def test_an_ementor_cancelling_adds_their_message(store: Store) -> None:
    row = await booked(store, "kim")
    assert await store.transaction(lambda tx: cancel_by_ementor(tx, two_places(), NOW, row, 4, "Jeg er syg."))
    [told] = await citizen_told(store, "kim")
    assert told.text.endswith("\nBesked fra eMentoren: Jeg er syg.")


async def test_bookings_of_one_location(store: Store) -> None:
    await booked(store, "l")

    async def listed(tx: Tx, location: str | None) -> list[str]:
        found = await bookings.list_bookings(tx, None, None, None, location)
        return [r["sender"] for r in found]

    assert await store.transaction(lambda tx: listed(tx, "lab")) == ["l"]
    assert await store.transaction(lambda tx: listed(tx, "phone")) == []
    assert await store.transaction(lambda tx: listed(tx, None)) == ["l"]
