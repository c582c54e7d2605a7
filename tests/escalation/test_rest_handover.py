"""A live hand-over end to end on the REST channel, with the eMentor on the JSON API (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.core.clock import utc_now
from bot.escalation import accounts, handover
from bot.escalation.timeouts import expire_waiting
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.conftest import app_settings

Client = TestClient[Any, Any]
API = "/api/ementor"


@pytest.fixture
async def client(project_model: IntentModel, store: Store) -> AsyncIterator[Client]:
    async with TestClient(TestServer(build_app(app_settings(), project_model, store))) as test_client:
        yield test_client


async def ementor(client: Client, store: Store, name: str, online: bool = True) -> dict[str, str]:
    _, token = await store.transaction(lambda tx: accounts.create_ementor(tx, name, None, utc_now()))
    auth = {"Authorization": f"Bearer {token}"}
    if online:
        response = await client.post(f"{API}/presence", json={"online": True}, headers=auth)
        assert response.status == 200 and (await response.json())["online"] is True
    return auth


async def say(client: Client, sender: str, text: str) -> list[dict[str, Any]]:
    response = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": text})
    assert response.status == 200, await response.text()
    body: list[dict[str, Any]] = await response.json()
    return body


async def pushed(client: Client, sender: str) -> list[dict[str, Any]]:
    response = await client.get("/webhooks/rest/messages", params={"sender": sender})
    assert response.status == 200
    body: list[dict[str, Any]] = await response.json()
    return body


async def api(client: Client, method: str, path: str, auth: dict[str, str], status: int = 200, **kw: Any) -> Any:
    response = await client.request(method, API + path, headers=auth, **kw)
    assert response.status == status, await response.text()
    return await response.json()


async def test_full_round_trip(client: Client, store: Store) -> None:
    anna = await ementor(client, store, "Anna Hansen")
    bo = await ementor(client, store, "Bo")
    queued = await say(client, "karen", "jeg vil tale med et menneske")
    assert queued[0]["text"].startswith("Du er nr. 1 i køen. Forventet ventetid: ca. 5 minutter.")
    assert [b["payload"] for b in queued[0]["buttons"]] == ["/book_ementor", "/leave_queue"]
    thanks = await say(client, "karen", "min mitid app virker ikke")  # kept for the eMentor, and acknowledged
    assert [m["text"] for m in thanks] == ["Tak – eMentoren kan se din besked, når samtalen starter."]

    waiting = await api(client, "GET", "/handovers?status=waiting", anna)
    assert len(waiting) == 1 and "sender" not in waiting[0] and waiting[0]["channel"] == "rest"
    h = waiting[0]["handover"]
    taken = await api(client, "POST", f"/handovers/{h}/take", anna)
    assert taken["status"] == "active" and taken["ementor"] == "Anna Hansen"
    assert "Anna Hansen" in (await api(client, "POST", f"/handovers/{h}/take", bo, 409))["message"]
    assert [m["text"] for m in await pushed(client, "karen")] == [
        "Du taler nu med Anna, eMentor. Anna kan se det, du har skrevet. Skriv her, hvis du vil tilføje noget."
    ]

    assert await say(client, "karen", "hej, er du der?") == []  # the bot stays silent
    said = await api(client, "GET", f"/handovers/{h}/messages", anna)
    assert [(m["author"], m["text"]) for m in said if m["author"] != "bot"] == [
        ("citizen", "min mitid app virker ikke"),
        ("citizen", "hej, er du der?"),
    ]
    await api(client, "POST", f"/handovers/{h}/messages", anna, 201, json={"text": "Ja! Prøv at genstarte appen."})
    await api(client, "POST", f"/handovers/{h}/messages", bo, 409, json={"text": "Også mig"})
    await api(client, "GET", f"/handovers/{h}/messages", bo, 409)
    assert [m["text"] for m in await pushed(client, "karen")] == ["Anna (eMentor): Ja! Prøv at genstarte appen."]
    assert await pushed(client, "karen") == []  # handed out once

    await api(client, "POST", f"/handovers/{h}/end", bo, 409)
    assert (await api(client, "POST", f"/handovers/{h}/end", anna))["status"] == "ended"
    ended = await pushed(client, "karen")
    assert ended[0]["text"].startswith("eMentoren har afsluttet samtalen") and len(ended[0]["buttons"]) == 3
    assert await say(client, "karen", "hvordan bestiller jeg straffeattest")  # the bot answers again
    kinds = [n["kind"] for n in await api(client, "GET", "/notices", anna)]
    assert kinds == ["handover", "handover_taken", "handover_ended"]
    feed = json.dumps(await api(client, "GET", "/notices", anna), ensure_ascii=False)
    assert "karen" not in feed and "genstarte" not in feed and "virker ikke" not in feed
    assert await api(client, "GET", "/notices?after=2", anna) == (await api(client, "GET", "/notices", anna))[2:]


async def test_no_ementor_online_starts_the_booking_flow(client: Client, store: Store) -> None:
    await ementor(client, store, "Offline Olsen", online=False)
    replies = await say(client, "lars", "jeg vil tale med et menneske")
    assert replies[0]["text"] == "Der er ingen eMentor online lige nu. Du kan booke en tid i stedet."
    assert len(replies) > 1  # the booking flow's first question follows
    assert await store.transaction(lambda tx: handover.open_for(tx, "rest", "lars")) is None


async def test_leaving_the_queue(client: Client, store: Store) -> None:
    anna = await ementor(client, store, "Anna")
    await say(client, "mona", "jeg vil tale med et menneske")
    left = await say(client, "mona", "/leave_queue")
    assert left[0]["text"] == "Du har forladt køen." and left[1]["buttons"]  # and the menu
    assert await api(client, "GET", "/handovers", anna) == []
    assert (await say(client, "mona", "/leave_queue"))[0]["text"] == "Du står ikke i kø."


async def test_waiting_past_the_limit_is_offered_a_booking(client: Client, store: Store) -> None:
    await ementor(client, store, "Anna")
    await say(client, "nils", "jeg vil tale med et menneske")
    past = utc_now() - timedelta(minutes=16)  # as if Nils asked 16 minutes ago
    await store.transaction(lambda tx: tx.execute("UPDATE handovers SET created_at = :past", past=past))
    await store.transaction(lambda tx: expire_waiting(tx, app_settings(), utc_now()))
    offer = await pushed(client, "nils")
    assert offer[0]["text"].startswith("Beklager, ingen eMentor nåede at svare")
    assert offer[0]["buttons"][0]["payload"] == "/book_ementor"
    assert (await say(client, "nils", "hvordan bestiller jeg straffeattest"))[0]["text"]  # the bot answers again


async def test_api_needs_a_valid_token_and_says_nothing_more(client: Client, store: Store) -> None:
    await ementor(client, store, "Anna", online=False)
    answers = []
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = await client.get(f"{API}/me", headers=headers)
        assert response.status == 401
        answers.append(await response.json())
    assert answers[0] == answers[1] == answers[2] and answers[0]["code"] == 401


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/presence", b"{oops", 400),
        ("POST", "/presence", b'{"online": "yes"}', 400),
        ("POST", "/presence", b"[]", 400),
        ("POST", "/presence", b'{"online": true, "x": "' + b"a" * 20_000 + b'"}', 400),
        ("GET", "/notices?after=-1", b"", 400),
        ("GET", "/handovers?status=lost", b"", 400),
        ("GET", "/handovers?status=ended&topic=nope", b"", 400),
        ("GET", "/handovers?status=ended&from=yesterday", b"", 400),
        ("POST", "/handovers/999/take", b"", 404),
        ("POST", "/handovers/999999999999999999999/take", b"", 404),
        ("GET", "/bookings?from=tomorrow", b"", 400),
        ("GET", "/bookings?status=lost", b"", 400),
        ("POST", "/bookings/NOPE/attendance", b'{"status": "attended"}', 404),
        ("POST", "/bookings/NOPE/attendance", b'{"status": "late"}', 400),
        (
            "POST",
            "/blocks",
            b'{"location": "nowhere", "starts_at": "2026-12-03T10:00", "ends_at": "2026-12-03T11:00"}',
            400,
        ),
        ("DELETE", "/blocks/5", b"", 404),
        ("GET", "/deliveries?status=lost", b"", 400),
    ],
)
async def test_bad_input_is_refused(
    client: Client, store: Store, method: str, path: str, body: bytes, status: int
) -> None:
    auth = await ementor(client, store, "Anna", online=False)
    headers = {**auth, "Content-Type": "application/json"}
    response = await client.request(method, API + path, data=body, headers=headers)
    assert response.status == status, await response.text()
    assert (await response.json())["code"] == status


async def test_a_message_too_long_or_empty_is_refused(client: Client, store: Store) -> None:
    anna = await ementor(client, store, "Anna")
    await say(client, "olga", "jeg vil tale med et menneske")
    h = (await api(client, "GET", "/handovers", anna))[0]["handover"]
    await api(client, "POST", f"/handovers/{h}/take", anna)
    await api(client, "POST", f"/handovers/{h}/messages", anna, 400, json={"text": "x" * 5000})
    await api(client, "POST", f"/handovers/{h}/messages", anna, 400, json={"text": "  "})
    await api(client, "POST", f"/handovers/{h}/messages", anna, 400, json={"text": 5})
    assert (await api(client, "GET", "/deliveries?status=failed", anna)) == []


async def taken_chat(client: Client, store: Store, sender: str, auth: dict[str, str]) -> int:
    """`sender` asks for a person and the eMentor with `auth` takes the talk; the hand-over's id."""
    await say(client, sender, "jeg vil tale med et menneske")
    h = next(r["handover"] for r in await api(client, "GET", "/handovers", auth) if r["status"] == "waiting")
    await api(client, "POST", f"/handovers/{h}/take", auth)
    await pushed(client, sender)
    return int(h)


@pytest.mark.parametrize("typed", ["Afslut samtalen", "STOP", "afslut!", "end chat", "Stop chat"])
async def test_typing_stop_or_afslut_ends_a_talk_like_the_button(client: Client, store: Store, typed: str) -> None:
    anna = await ementor(client, store, "Anna")
    h = await taken_chat(client, store, "pia", anna)
    replies = await say(client, "pia", typed)
    assert replies[0]["text"] == "Du har afsluttet samtalen med eMentoren. Jeg er tilbage."
    ended = await store.transaction(lambda tx: handover.get(tx, h))
    assert ended is not None and ended["status"] == "ended" and ended["ended_by"] == "citizen"
    said = await api(client, "GET", f"/handovers/{h}/messages", anna)
    assert typed not in [m["text"] for m in said]  # ending words are not relayed


async def test_a_sentence_with_stop_in_it_still_goes_to_the_ementor(client: Client, store: Store) -> None:
    anna = await ementor(client, store, "Anna")
    h = await taken_chat(client, store, "rune", anna)
    assert await say(client, "rune", "appen siger stop når jeg logger ind") == []
    assert [m["text"] for m in await api(client, "GET", f"/handovers/{h}/messages", anna)][-1].startswith("appen")
    secret = await say(client, "rune", "mit cpr er 010190-1234")  # not relayed, and the citizen is told why
    assert secret[0]["text"].startswith("Send aldrig din kode, adgangskode eller dit CPR-nummer her.")
    assert not any("010190" in m["text"] for m in await api(client, "GET", f"/handovers/{h}/messages", anna))


async def test_a_waiting_citizen_always_gets_an_answer(client: Client, store: Store) -> None:
    await ementor(client, store, "Anna")
    await say(client, "sofie", "jeg vil tale med et menneske")
    for text in ("mit problem er e-boks", "er der nogen?"):
        assert [m["text"] for m in await say(client, "sofie", text)] == [
            "Tak – eMentoren kan se din besked, når samtalen starter."
        ]
    secret = await say(client, "sofie", "mit cpr er 010190-1234")
    assert secret[0]["text"].startswith("Send aldrig din kode, adgangskode eller dit CPR-nummer her.")
    again = await say(client, "sofie", "/talk_to_human")
    assert again[0]["text"].startswith("Du er nr. 1 i køen. Forventet ventetid: ca. 10 minutter.")
    left = await say(client, "sofie", "Afslut")  # the ending words leave the queue too
    assert left[0]["text"] == "Du har forladt køen."


async def test_when_the_last_ementor_goes_offline_the_waiting_citizen_is_told(client: Client, store: Store) -> None:
    anna = await ementor(client, store, "Anna")
    await say(client, "tim", "jeg vil tale med et menneske")
    await api(client, "POST", "/presence", anna, json={"online": False})
    offer = await pushed(client, "tim")
    assert offer[0]["text"].startswith("Beklager, der er ikke længere nogen eMentor online")
    assert [b["payload"] for b in offer[0]["buttons"]] == ["/book_ementor", "/help"]
    answer = await say(client, "tim", "hvordan bestiller jeg straffeattest")
    assert answer and not any("i køen" in m.get("text", "") for m in answer)  # the bot is back, no queue talk
    notices = [n["kind"] for n in await api(client, "GET", "/notices", anna)]
    assert notices[-1] == "handover_offline"
