"""Booking through the REST channel end to end: real app, real NLU, SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.ports import StorageUnavailable
from bot.storage.store import Store
from tests.booking.helpers import Client, Clock, live, payloads, rows, say, slot_payload, texts


async def test_booking_end_to_end_with_name_phone_calendar_reminders_and_notice(client: Client, store: Store) -> None:
    places = await say(client, "anna", "/book_ementor")
    assert payloads(places)[-1] == '/book_place{"location":"phone"}'  # call-back last
    times = await say(client, "anna", payloads(places)[0])
    assert times[-1]["text"].startswith("Vælg en tid")
    assert payloads(times)[0] == '/book_slot{"location":"lab","start":"2025-12-01T09:00"}'
    assert any(p.startswith("/book_later") for p in payloads(times))

    ask = await say(client, "anna", slot_payload("2025-12-04T10:30", intent="book_slot"))
    assert "torsdag den 4. december kl. 10.30" in texts(ask)
    held = await say(client, "anna", payloads(ask)[0])
    assert "fornavn" in texts(held)
    assert "telefonnummer" in texts(await say(client, "anna", "Anna"))
    done = await say(client, "anna", "20 30 40 50")

    text = texts(done)
    assert "Din tid er booket" in text and "torsdag den 4. december kl. 10.30" in text
    assert "Jobcenter, Testvej" in text and "https://www.google.com/maps/search/" in text and "MitID" in text
    [row] = await live(store)
    assert row["status"] == "booked" and row["name"] == "Anna" and row["phone"] == "20304050"
    assert f"Reference: {row['reference']}" in text
    attachment = next(r["attachment"] for r in done if "attachment" in r)
    assert attachment == f"calendar/{row['calendar_key']}.ics"

    response = await client.get("/" + attachment)
    assert response.status == 200 and response.content_type == "text/calendar"
    assert f"ementor-{row['reference']}.ics" in response.headers["Content-Disposition"]
    ics = await response.text()
    assert "DTSTART;TZID=Europe/Copenhagen:20251204T103000" in ics
    assert (await client.get("/calendar/not-a-real-key-at-all.ics")).status == 404

    reminders = await rows(store, "SELECT due_at, status, body FROM outbox WHERE kind = 'reminder' ORDER BY due_at")
    assert [r["due_at"] for r in reminders] == [
        datetime(2025, 12, 3, 16, 0, tzinfo=UTC),  # 17.00 the day before (winter time)
        datetime(2025, 12, 4, 7, 30, tzinfo=UTC),  # two hours before
    ]
    assert "Påmindelse" in json.loads(reminders[0]["body"])[0]["text"]
    [notice] = await rows(store, "SELECT kind, body FROM notices")
    body = json.loads(notice["body"])
    assert notice["kind"] == "booking" and body["reference"] == row["reference"] and body["name"] == "Anna"
    assert "phone" not in body  # only a call-back needs the number
    logged = await store.recent_turns("rest", "anna")
    assert "20 30 40 50" not in {t["text"] for t in logged} and "Anna" not in {t["text"] for t in logged}


async def test_call_back_needs_a_valid_danish_number(client: Client, store: Store) -> None:
    await say(client, "bo", slot_payload("2025-12-02T10:00", "phone"))
    await say(client, "bo", "/skip")
    assert "8 cifre" in texts(await say(client, "bo", "/skip"))  # required: asked again
    assert "ligner ikke" in texts(await say(client, "bo", "1234"))
    done = await say(client, "bo", "+45 22 33 44 55")
    assert "ringer til dig på 22334455" in texts(done)
    [notice] = await rows(store, "SELECT body FROM notices")
    assert json.loads(notice["body"])["phone"] == "22334455"


async def test_the_last_place_taken_then_cancelled_is_free_again(client: Client, store: Store) -> None:
    ref = await _book(client, "anna", "2025-12-04T10:30")
    taken = await say(client, "bo", slot_payload("2025-12-04T10:30"))
    assert "taget lige før dig" in texts(taken)
    assert any(p.startswith("/book_slot") for p in payloads(taken))  # the next free times
    assert len(await live(store)) == 1

    ask = await say(client, "anna", "/cancel_booking")
    assert payloads(ask)[0] == f'/cancel_confirm{{"ref":"{ref}"}}'
    assert "ledig for andre" in texts(await say(client, "anna", payloads(ask)[0]))
    cancelled = await rows(store, "SELECT status FROM outbox WHERE kind = 'reminder' ORDER BY id")
    assert {r["status"] for r in cancelled} == {"cancelled"}
    assert [
        json.loads(n["body"])["status"]
        for n in await rows(store, "SELECT body FROM notices WHERE kind = 'booking_cancelled'")
    ] == ["cancelled"]

    await _book(client, "bo", "2025-12-04T10:30")
    assert [r["sender"] for r in await live(store)] == ["bo"]


async def test_move_books_the_new_time_first_and_frees_the_old(client: Client, store: Store) -> None:
    ref = await _book(client, "anna", "2025-12-04T10:30")
    await _book(client, "carl", "2025-12-04T11:00")
    offer = await say(client, "anna", f'/move_booking{{"ref":"{ref}"}}')
    assert "Vælg en ny tid" in texts(offer)
    full = await say(client, "anna", slot_payload("2025-12-04T11:00"))  # Carl's: nothing changes
    assert "taget lige før dig" in texts(full)
    assert {r["sender"]: r["reference"] for r in await live(store)}["anna"] == ref
    moved = await say(client, "anna", slot_payload("2025-12-05T09:00"))
    assert "Din tid er flyttet" in texts(moved) and "fredag den 5. december kl. 9.00" in texts(moved)
    [old] = await rows(store, "SELECT status, moved_to FROM bookings WHERE reference = :r", r=ref)
    assert old["status"] == "moved" and old["moved_to"]
    await _book(client, "dina", "2025-12-04T10:30")  # the old time is free again


async def test_my_bookings_lists_own_times_only(client: Client) -> None:
    assert "ingen bookede tider" in texts(await say(client, "anna", "/my_bookings"))
    ref = await _book(client, "anna", "2025-12-04T10:30")
    mine = await say(client, "anna", "/my_bookings")
    assert ref in texts(mine) and "torsdag den 4. december kl. 10.30" in texts(mine)
    assert f'/move_booking{{"ref":"{ref}"}}' in payloads(mine)
    assert ref not in texts(await say(client, "bo", "/my_bookings"))


async def test_bad_payloads_are_refused_kindly_and_change_nothing(client: Client, store: Store) -> None:
    ref = await _book(client, "anna", "2025-12-04T10:30")
    before = await rows(store, "SELECT id, status FROM bookings ORDER BY id")
    outbox = len(await rows(store, "SELECT id FROM outbox"))
    for payload in [
        slot_payload("2025-11-28T10:00"),  # past
        slot_payload("2025-12-01T08:00"),  # before opening
        slot_payload("2025-12-04T10:15"),  # not a slot
        slot_payload("2025-12-25T10:00"),  # Christmas Day
        slot_payload("2025-12-04T10:30", "nowhere"),  # unknown place
        slot_payload("2025-12-04T10:30+01:00"),  # not wall-clock
        '/book_confirm{"location":"lab","start":"soon"}',
    ]:
        reply = await say(client, "bo", payload)
        assert "kan ikke bookes" in texts(reply), payload
    for forged in ("/cancel_confirm", "/cancel_pick", "/move_booking", "/workshop_leave"):
        reply = await say(client, "bo", f'{forged}{{"ref":"{ref}"}}')
        assert "kan ikke finde den tid" in texts(reply), forged
    assert "taget lige før dig" in texts(await say(client, "bo", slot_payload("2025-12-04T10:30")))
    assert await say(client, "bo", '/book_confirm{"start":["x"]}')  # malformed: read as text, answered
    assert await rows(store, "SELECT id, status FROM bookings ORDER BY id") == before
    assert len(await rows(store, "SELECT id FROM outbox")) == outbox


async def test_an_abandoned_hold_lapses_after_15_minutes(client: Client, store: Store, clock: Clock) -> None:
    await say(client, "anna", slot_payload("2025-12-04T10:30"))  # held, then Anna goes away
    assert "taget lige før dig" in texts(await say(client, "bo", slot_payload("2025-12-04T10:30")))
    clock.now += timedelta(minutes=16)
    await _book(client, "bo", "2025-12-04T10:30")
    late = await say(client, "anna", "/skip")
    assert "fornavn" not in texts(late)
    assert "frigivet" in texts(await say(client, "anna", "/skip"))


async def test_a_command_leaves_the_name_question_and_frees_the_place(client: Client, store: Store) -> None:
    await say(client, "anna", slot_payload("2025-12-04T10:30"))
    assert "taget lige før dig" in texts(await say(client, "bo", slot_payload("2025-12-04T10:30")))
    assert "Vælg et emne" in texts(await say(client, "anna", "hjælp"))
    assert await live(store) == []
    assert "fornavn" in texts(await say(client, "bo", slot_payload("2025-12-04T10:30")))  # free for Bo at once


async def test_workshop_capacity_join_and_leave(client: Client, store: Store) -> None:
    listing = await say(client, "anna", "/workshops")
    assert "Kom godt i gang med Jobnet" in texts(listing) and "2 ledige pladser" in texts(listing)
    join = payloads(listing)[0]
    assert join == '/workshop_join{"id":"jobnet","start":"2025-12-03T13:00"}'
    assert "tilmeldt" in texts(await say(client, "anna", join))
    assert "allerede" in texts(await say(client, "anna", join))
    await say(client, "bo", join)
    full = await say(client, "carl", join)
    assert "fuld" in texts(full) and join not in payloads(full)
    assert len(await rows(store, "SELECT id FROM bookings WHERE kind = 'workshop' AND status = 'booked'")) == 2
    [mine] = await rows(store, "SELECT reference FROM bookings WHERE sender = 'anna'")
    assert "afmeldt" in texts(await say(client, "anna", f'/workshop_leave{{"ref":"{mine["reference"]}"}}'))
    assert "tilmeldt" in texts(await say(client, "carl", join))
    assert "kan du ikke tilmelde" in texts(
        await say(client, "dina", '/workshop_join{"id":"jobnet","start":"2025-12-04T13:00"}')
    )


async def test_location_hours_come_from_config(client: Client) -> None:
    reply = await say(client, "anna", "/location_hours")
    assert "Jobcenter, Testvej" in texts(reply) and "mandag 9.00-12.00" in texts(reply)
    assert "helligdage" in texts(reply)


async def _book(client: Client, sender: str, start: str) -> str:
    from tests.booking.helpers import book

    return await book(client, sender, start)


async def test_calendar_link_with_the_database_away_says_try_again(
    client: Client, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def away(*args: Any, **kwargs: Any) -> Any:
        raise StorageUnavailable("connection refused")

    monkeypatch.setattr(store, "transaction", away)
    response = await client.get("/calendar/abcdefghijklmnop.ics")
    assert response.status == 503 and "Prøv igen" in await response.text()
