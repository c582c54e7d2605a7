"""The eMentor console's pages over HTTP (SQLite and PostgreSQL): the day list and its CSV, attendance only from
the start, who may read a chat, the live event stream, history."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.booking import bookings
from bot.core.clock import COPENHAGEN, ManualClock
from bot.core.statuses import BookingStatus
from bot.escalation import accounts
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.booking.helpers import booking_settings
from tests.consoles.helpers import Client, add_user, another_browser, console_client, logged_in

NOW = datetime(2025, 12, 4, 9, 0, tzinfo=UTC)  # Thursday 4 December 2025, 10.00 in Copenhagen
SLOT = datetime(2025, 12, 4, 10, 30, tzinfo=COPENHAGEN)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def client(project_model: IntentModel, store: Store, clock: ManualClock) -> AsyncIterator[Client]:
    for username, name in (("anna", "Anna Hansen"), ("bo", "Bo Berg")):
        account = await add_user(store, username, "ementor", name)
        await store.transaction(lambda tx, a=account: accounts.set_online(tx, a, NOW + timedelta(hours=4)))
    async with console_client(project_model, store, clock, booking_settings()) as test_client:
        yield test_client


async def book(store: Store, sender: str, start: datetime, location: str = "lab", **fields: Any) -> str:
    request = bookings.Request(
        kind="slot",
        resource=bookings.resource_of("slot", location, start),
        capacity=1,
        location=location,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        channel="rest",
        sender=sender,
        language="da",
        topic="mitid_login_problem",
        tried=[
            {"flow": "mitid_login_problem", "step": "what_wrong", "outcome": "chose", "answer": "choice:1"},
            {"flow": "mitid_login_problem", "step": "pin", "outcome": "failed", "answer": "failed"},
        ],
        **fields,
    )
    row = await store.transaction(lambda tx: bookings.reserve(tx, request, BookingStatus.BOOKED, NOW))
    assert row is not None
    return row["reference"]


async def test_the_day_list_shows_what_the_ementor_needs_and_no_more(client: Client, store: Store) -> None:
    await book(store, "lis", SLOT, name="Lis", phone="22334455")
    await book(store, "ole", SLOT, location="phone", name="Ole", phone="33445566")
    await logged_in(client, "anna")
    page = await (await client.get("/ementor/")).text()
    assert "torsdag den 4. december 2025" in page and "10.30" in page
    assert "MitID virker ikke" in page and "«Hvad er problemet?» →" in page  # the topic and steps in words
    assert "what_wrong" not in page and "mitid_login_problem" not in page
    assert "33445566" in page  # a call-back: the eMentor calls this number
    assert "22334455" not in page  # a visit: the number is not needed on the list
    assert "Kan markeres fra kl. 10.30" in page
    only_lab = await (await client.get("/ementor/day/2025-12-04?location=lab")).text()
    assert "Lis" in only_lab and "Ole" not in only_lab
    assert (await client.get("/ementor/day/2025-12-04?location=nowhere")).status == 404


async def test_the_csv_is_a_copenhagen_day_and_safe_in_a_spreadsheet(client: Client, store: Store) -> None:
    await book(store, "lis", SLOT, name='=HYPERLINK("http://x")')
    await book(store, "late", datetime(2025, 12, 4, 23, 30, tzinfo=COPENHAGEN), name="Sen")  # 22.30 UTC
    await book(store, "next", datetime(2025, 12, 5, 0, 30, tzinfo=COPENHAGEN), name="Næste")  # 23.30 UTC the 4th
    await logged_in(client, "anna")
    response = await client.get("/ementor/day/2025-12-04.csv")
    assert response.status == 200 and response.content_type == "text/csv"
    text = (await response.read()).decode("utf-8-sig")
    lines = text.strip().split("\r\n")
    assert lines[0].startswith("Dato;Tid;Sted;Reference;Fornavn")
    assert len(lines) == 3 and "Sen" in text and "Næste" not in text  # the day in Copenhagen, not UTC
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[1][4].startswith("'=HYPERLINK")  # a name that would run as a formula is kept as text


async def test_attendance_waits_for_the_start_and_says_who(client: Client, store: Store, clock: ManualClock) -> None:
    reference = await book(store, "lis", SLOT, name="Lis")
    csrf = await logged_in(client, "anna")
    early = await client.post(f"/ementor/bookings/{reference}/attendance", data={"csrf": csrf, "status": "no_show"})
    assert "Fremmøde kan først markeres, når tiden er begyndt." in await early.text()
    row = await store.transaction(lambda tx: bookings.by_reference(tx, reference))
    assert row is not None and row["status"] == BookingStatus.BOOKED  # the appointment stays
    clock.advance(timedelta(minutes=29))
    await client.get("/ementor/")
    clock.advance(timedelta(minutes=5))  # 10.34
    marked = await client.post(f"/ementor/bookings/{reference}/attendance", data={"csrf": csrf, "status": "no_show"})
    page = await marked.text()
    assert "Markeret." in page and "markeret af Anna Hansen kl. 10.34" in page
    row = await store.transaction(lambda tx: bookings.by_reference(tx, reference))
    assert row is not None and row["status"] == BookingStatus.NO_SHOW


async def queue_citizen(client: Client, sender: str) -> int:
    response = await client.post(
        "/webhooks/rest/webhook", json={"sender": sender, "message": "jeg vil tale med en person"}
    )
    assert response.status == 200
    found = await client.get("/ementor/queue/rows")
    text = await found.text()
    marker = 'data-handover="'
    assert marker in text, text
    return int(text.split(marker, 1)[1].split('"', 1)[0])


async def test_a_colleague_reads_a_waiting_or_ended_chat_but_not_an_active_one(client: Client) -> None:
    csrf = await logged_in(client, "anna")
    number = await queue_citizen(client, "karen")
    await client.post("/webhooks/rest/webhook", json={"sender": "karen", "message": "hallo er der nogen"})
    async with another_browser(client) as bo:
        page = await bo.get("/login")
        token = (await page.text()).split('name="login_csrf" value="', 1)[1].split('"', 1)[0]
        await bo.post("/login", data={"login_csrf": token, "username": "bo", "password": "rigtig-hemmelig-42"})
        assert "hallo er der nogen" in await (await bo.get(f"/ementor/handovers/{number}")).text()  # waiting: to decide
        await client.post(f"/ementor/handovers/{number}/take", data={"csrf": csrf})
        assert "hallo er der nogen" not in await (await bo.get(f"/ementor/handovers/{number}")).text()
        await client.post(f"/ementor/handovers/{number}/end", data={"csrf": csrf})
        assert "hallo er der nogen" in await (await bo.get(f"/ementor/handovers/{number}")).text()  # history


async def test_the_event_stream_tells_of_a_new_citizen_in_the_queue(client: Client) -> None:
    await logged_in(client, "anna")
    stream = await client.get("/ementor/events")
    assert stream.status == 200 and stream.content_type == "text/event-stream"
    first = await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 5)
    assert first.startswith(b"retry:")
    await client.post("/webhooks/rest/webhook", json={"sender": "karen", "message": "jeg vil tale med en person"})
    event = await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 5)
    lines = dict(line.split(": ", 1) for line in event.decode().strip().split("\n"))
    assert lines["event"] == "notice"
    body = json.loads(lines["data"])
    assert body["kind"] == "handover" and "karen" not in lines["data"]  # never the citizen's address
    stream.close()


async def test_the_event_stream_needs_a_login(client: Client) -> None:
    assert (await client.get("/ementor/events")).status == 401


async def test_a_block_of_some_places_warns_of_the_bookings_that_no_longer_fit(client: Client, store: Store) -> None:
    tomorrow = datetime(2025, 12, 5, 10, 0, tzinfo=COPENHAGEN)
    reference = await book(store, "ole", tomorrow, name="Ole")
    csrf = await logged_in(client, "anna")
    form = {"csrf": csrf, "location": "lab", "date": "2025-12-05", "start": "09:00", "end": "12:00", "places": "1"}
    warned = await client.post("/ementor/blocks", data=form)
    page = await warned.text()
    assert warned.status == 200 and "Der er 1 booket tid" in page and reference in page
    assert await store.transaction(lambda tx: tx.fetch("SELECT id FROM blocks")) == []  # nothing yet
    past = await client.post("/ementor/blocks", data={**form, "date": "2025-12-03"})
    assert past.status == 400 and "Tiden er allerede gået." in await past.text()
    done = await client.post("/ementor/blocks", data={**form, "confirm": "1"})
    assert "Tiden er blokeret, og 1 borger har fået besked." in await done.text()
    row = await store.transaction(lambda tx: bookings.by_reference(tx, reference))
    assert row is not None and row["status"] == BookingStatus.CANCELLED
