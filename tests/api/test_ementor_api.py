"""The eMentor JSON API as an eMentor (or the console) uses it, on SQLite and PostgreSQL: times in Copenhagen
time, topics and steps in words, one-day ranges and locations, attendance from the start, blocks that warn
before they cancel, hand to a colleague, notes, outcome and history."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.core.clock import COPENHAGEN
from bot.escalation import accounts
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.booking.helpers import Client, Clock, book, booking_settings, rows, say
from tests.booking.test_group_notice import stuck_in_a_flow

API = "/api/ementor"
MONDAY_TEN = datetime(2025, 12, 1, 10, 0, tzinfo=COPENHAGEN)


@pytest.fixture
def clock() -> Clock:
    return Clock(MONDAY_TEN)


@pytest.fixture
async def client(project_model: IntentModel, store: Store, clock: Clock) -> AsyncIterator[Client]:
    async with TestClient(TestServer(build_app(booking_settings(), project_model, store, clock))) as test_client:
        yield test_client


async def ementor(client: Client, store: Store, clock: Clock, name: str, online: bool = True) -> dict[str, str]:
    _, token = await store.transaction(lambda tx: accounts.create_ementor(tx, name, None, clock.now))
    auth = {"Authorization": f"Bearer {token}"}
    if online:
        await api(client, "POST", "/presence", auth, json={"online": True})
    return auth


async def api(client: Client, method: str, path: str, auth: dict[str, str], status: int = 200, **kw: Any) -> Any:
    response = await client.request(method, API + path, headers=auth, **kw)
    assert response.status == status, await response.text()
    return await response.json()


async def pushed(client: Client, sender: str) -> list[dict[str, Any]]:
    response = await client.get("/webhooks/rest/messages", params={"sender": sender})
    body: list[dict[str, Any]] = await response.json()
    return body


async def test_bookings_of_a_day_and_a_place_in_copenhagen_time(client: Client, store: Store, clock: Clock) -> None:
    anna = await ementor(client, store, clock, "Anna", online=False)
    lab = await book(client, "ida", "2025-12-02T10:00")
    await say(client, "ole", '/book_slot{"location":"phone","start":"2025-12-03T09:00"}')
    await say(client, "ole", '/book_confirm{"location":"phone","start":"2025-12-03T09:00"}')
    await say(client, "ole", "/skip")
    await say(client, "ole", "22 33 44 55")

    day = await api(client, "GET", "/bookings?from=2025-12-02&to=2025-12-02", anna)
    assert [b["reference"] for b in day] == [lab]
    assert day[0]["starts_at"] == "2025-12-02T10:00:00+01:00" and day[0]["ends_at"] == "2025-12-02T10:30:00+01:00"
    assert day[0]["steps"] == [] and day[0]["phone"] is None
    assert not {"sender", "calendar_key", "tried"} & set(day[0])
    exact = await api(client, "GET", "/bookings?from=2025-12-02T10:00&to=2025-12-02T10:00", anna)
    assert exact == []  # a date-time stays exact: [10:00, 10:00) holds nothing
    assert len(await api(client, "GET", "/bookings?from=2025-12-01&to=2025-12-03", anna)) == 2
    for place in ("lab", "Digitalt%20v%C3%A6rksted,%20Testvej", "digital workshop, testvej"):
        assert [b["reference"] for b in await api(client, "GET", f"/bookings?location={place}", anna)] == [lab]
    [call_back] = await api(client, "GET", "/bookings?location=phone", anna)
    assert call_back["phone"] == "22334455"  # the number to call, for a call-back only
    assert (await api(client, "GET", "/bookings?location=nowhere", anna, 400))["code"] == 400


async def test_attendance_from_the_start_recorded_and_undone(client: Client, store: Store, clock: Clock) -> None:
    anna = await ementor(client, store, clock, "Anna", online=False)
    ref = await book(client, "ida", "2025-12-02T10:00")
    early = await api(client, "POST", f"/bookings/{ref}/attendance", anna, 409, json={"status": "no_show"})
    assert early["starts_at"] == "2025-12-02T10:00:00+01:00" and "once the time has begun" in early["message"]
    mine = await say(client, "ida", "/my_bookings")
    assert "tirsdag den 2. december kl. 10.00" in json.dumps(mine, ensure_ascii=False)  # still there for Ida

    clock.now = datetime(2025, 12, 2, 10, 10, tzinfo=COPENHAGEN)
    me = await api(client, "GET", "/me", anna)
    marked = await api(client, "POST", f"/bookings/{ref}/attendance", anna, json={"status": "no_show"})
    assert marked["status"] == "no_show" and marked["marked_by"] == me["id"]
    assert marked["marked_at"] == "2025-12-02T10:10:00+01:00"
    undone = await api(client, "POST", f"/bookings/{ref}/attendance", anna, json={"status": "booked"})
    assert undone["status"] == "booked" and undone["marked_by"] is None
    await api(client, "POST", f"/bookings/{ref}/attendance", anna, 400, json={"status": "cancelled"})
    clock.now += timedelta(days=9)
    await api(client, "POST", f"/bookings/{ref}/attendance", anna, 409, json={"status": "attended"})


async def test_a_block_over_a_booking_warns_then_cancels_and_tells_the_citizen(
    client: Client, store: Store, clock: Clock
) -> None:
    anna = await ementor(client, store, clock, "Anna", online=False)
    await say(client, "ida", '/book_confirm{"location":"lab","start":"2025-12-02T10:00"}')
    await say(client, "ida", "Ida")
    await say(client, "ida", "/skip")
    [ref] = [r["reference"] for r in await rows(store, "SELECT reference FROM bookings")]
    block = {"location": "lab", "starts_at": "2025-12-02T09:00", "ends_at": "2025-12-02T12:00", "reason": "kursus"}

    warned = await api(client, "POST", "/blocks", anna, 409, json=block)
    assert warned["bookings"] == [
        {"reference": ref, "starts_at": "2025-12-02T10:00:00+01:00", "name": "Ida", "location": "lab"}
    ]
    assert await api(client, "GET", "/blocks", anna) == []  # nothing changed
    assert await pushed(client, "ida") == []

    made = await api(client, "POST", "/blocks", anna, 201, json={**block, "confirm": True})
    assert [b["reference"] for b in made["cancelled"]] == [ref]
    [listed] = await api(client, "GET", "/blocks", anna)
    assert listed["starts_at"] == "2025-12-02T09:00:00+01:00"
    [told] = await pushed(client, "ida")
    assert told["text"].startswith("Vi er desværre nødt til at aflyse din tid tirsdag den 2. december kl. 10.00")
    assert [b["payload"] for b in told["buttons"]] == ["/book_ementor", "/talk_to_human"]
    [booking] = await api(client, "GET", "/bookings", anna)
    assert booking["status"] == "cancelled"

    past = {**block, "starts_at": "2025-11-30T09:00", "ends_at": "2025-11-30T12:00"}
    assert "future" in (await api(client, "POST", "/blocks", anna, 400, json=past))["message"]
    free = {**block, "starts_at": "2025-12-03T09:00", "ends_at": "2025-12-03T10:00"}
    assert (await api(client, "POST", "/blocks", anna, 201, json=free))["cancelled"] == []  # nobody there


async def test_a_handover_in_words_and_copenhagen_time(client: Client, store: Store, clock: Clock) -> None:
    anna = await ementor(client, store, clock, "Anna")
    await stuck_in_a_flow(client, "karen")
    await say(client, "karen", "/talk_to_human")
    [waiting] = await api(client, "GET", "/handovers", anna)
    assert waiting["topic"] == "mitid_login_problem" and waiting["topic_title"] == "MitID virker ikke"
    assert waiting["waiting_since"] == "2025-12-01T10:00:00+01:00"
    first = waiting["steps"][0]
    assert first == {
        "id": "what_wrong", "text": "Hvad er problemet?", "answer": "Jeg har glemt PIN-koden", "outcome": "chose"
    }  # fmt: skip
    assert isinstance(waiting["steps"], list) and waiting["failed_at_text"]
    assert "sender" not in waiting and "karen" not in json.dumps(waiting)
    [english] = await api(client, "GET", "/handovers?lang=en", anna)
    assert english["topic_title"] == "MitID is not working" and english["steps"][0]["text"] == "What is the problem?"
    [notice] = [n for n in await api(client, "GET", "/notices", anna) if n["kind"] == "handover"]
    assert notice["body"]["waiting_since"].endswith("+01:00") and notice["body"]["topic_title"] == "MitID virker ikke"


async def test_hand_to_a_colleague_notes_outcome_and_history(client: Client, store: Store, clock: Clock) -> None:
    anna = await ementor(client, store, clock, "Anna Hansen")
    bo = await ementor(client, store, clock, "Bo Berg")
    await ementor(client, store, clock, "Carl", online=False)
    await say(client, "karen", "jeg vil tale med et menneske")
    [waiting] = await api(client, "GET", "/handovers", anna)
    h = waiting["handover"]
    await api(client, "POST", f"/handovers/{h}/take", anna)

    colleagues = await api(client, "GET", "/ementors", anna)
    assert [(c["name"], c["online"]) for c in colleagues] == [("Anna Hansen", True), ("Bo Berg", True), ("Carl", False)]
    bo_id = next(c["id"] for c in colleagues if c["name"] == "Bo Berg")
    assert set(colleagues[0]) == {"id", "name", "online"}
    await api(client, "POST", f"/handovers/{h}/transfer", bo, 409, json={"to": bo_id})  # not Bo's to give
    await api(client, "POST", f"/handovers/{h}/transfer", anna, 400, json={"to": 9999})
    await api(client, "POST", f"/handovers/{h}/transfer", anna, 400, json={})
    moved = await api(client, "POST", f"/handovers/{h}/transfer", anna, json={"to": bo_id})
    assert moved["ementor"] == "Bo Berg" and moved["status"] == "active"
    assert (await pushed(client, "karen"))[-1]["text"] == "Du bliver nu hjulpet af Bo, eMentor."
    await api(client, "POST", f"/handovers/{h}/messages", bo, 201, json={"text": "Hej, det er Bo."})

    await api(client, "PUT", f"/handovers/{h}/notes", bo, json={"notes": "Skal ringe til Borgerservice"})
    await api(client, "PUT", f"/handovers/{h}/notes", bo, 400, json={"notes": "x" * 4001})
    await api(client, "POST", f"/handovers/{h}/outcome", bo, json={"outcome": "borgerservice"})
    await api(client, "POST", f"/handovers/{h}/outcome", bo, 400, json={"outcome": "fixed"})
    await api(client, "POST", f"/handovers/{h}/end", bo)

    ended = await api(client, "GET", "/handovers?status=ended&from=2025-12-01&to=2025-12-01", anna)
    assert [e["handover"] for e in ended] == [h]
    assert ended[0]["ended_by"] == f"ementor:{bo_id}" and ended[0]["notes"] == "Skal ringe til Borgerservice"
    assert ended[0]["outcome"] == "borgerservice" and ended[0]["ended_at"] == "2025-12-01T10:00:00+01:00"
    assert await api(client, "GET", "/handovers?status=ended&from=2025-12-02", anna) == []
    assert await api(client, "GET", "/handovers?status=ended&topic=mitid_login_problem", anna) == []
    said = await api(client, "GET", f"/handovers/{h}/messages", anna)  # a colleague may read an ended talk
    assert "Hej, det er Bo." in [m["text"] for m in said]
    assert "Borgerservice" not in json.dumps(await pushed(client, "karen"), ensure_ascii=False)
    group_and_feed = json.dumps(await api(client, "GET", "/notices", anna), ensure_ascii=False)
    assert "Skal ringe" not in group_and_feed and "karen" not in group_and_feed


async def test_back_to_the_queue_and_a_colleague_cannot_read_a_talk_going_on(
    client: Client, store: Store, clock: Clock
) -> None:
    anna = await ementor(client, store, clock, "Anna")
    bo = await ementor(client, store, clock, "Bo")
    await say(client, "karen", "jeg vil tale med et menneske")
    [waiting] = await api(client, "GET", "/handovers", anna)
    h = waiting["handover"]
    await api(client, "POST", f"/handovers/{h}/take", anna)
    await api(client, "GET", f"/handovers/{h}/messages", bo, 409)
    back = await api(client, "POST", f"/handovers/{h}/transfer", anna, json={"to": None})
    assert back["status"] == "waiting" and back["ementor"] is None
    assert (await pushed(client, "karen"))[-1]["text"].startswith("Du er tilbage i køen. Du er nr. 1 i køen.")
    assert (await api(client, "POST", f"/handovers/{h}/take", bo))["ementor"] == "Bo"
    kinds = [n["kind"] for n in await api(client, "GET", "/notices", anna)]
    assert kinds == ["handover", "handover_taken", "handover_requeued", "handover_taken"]


async def test_deliveries_never_show_a_citizens_address(client: Client, store: Store, clock: Clock) -> None:
    anna = await ementor(client, store, clock, "Anna", online=False)
    await book(client, "secret-sender", "2025-12-02T11:00")
    listed = await api(client, "GET", "/deliveries", anna)
    assert listed and {d["to"] for d in listed} == {"citizen"}
    assert "secret-sender" not in json.dumps(listed)


async def test_a_failed_deliverys_error_never_names_the_citizen(client: Client, store: Store, clock: Clock) -> None:
    """A sender's error can quote the recipient ("not a Telegram chat id: '…'"): the API masks it."""
    anna = await ementor(client, store, clock, "Anna", online=False)
    await book(client, "4711-secret-sender", "2025-12-02T11:00")
    error = "PermanentFailure: not a Telegram chat id: '4711-secret-sender' (cpr 010190-1234)"
    await store.transaction(lambda tx: tx.execute("UPDATE outbox SET status = 'failed', last_error = :e", e=error))
    listed = await api(client, "GET", "/deliveries?status=failed", anna)
    assert listed and all(d["last_error"].startswith("PermanentFailure: not a Telegram chat id") for d in listed)
    assert "4711-secret-sender" not in json.dumps(listed) and "010190" not in json.dumps(listed)
