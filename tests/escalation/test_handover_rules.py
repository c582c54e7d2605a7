"""Hand-over rules and eMentor accounts over the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config import HandoverSettings, Settings
from bot.core.ports import Tx
from bot.delivery.outbox import messages_of
from bot.escalation import accounts, handover, timeouts
from bot.escalation.availability import unavailable_because
from bot.flows.loader import load_flows
from bot.flows.topic import Topic
from bot.storage.store import Store
from tests.booking.helpers import booking_settings
from tests.conftest import app_settings

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
GROUP = -1001
TOPIC = Topic(
    "mitid_login_problem",
    (
        {"step": "what_wrong", "outcome": "chose", "answer": "choice:0"},
        {"step": "pin", "outcome": "failed", "answer": "failed"},
    ),
)
FLOW = load_flows([app_settings().conversation.flows])["mitid_login_problem"]


def settings() -> Settings:
    return dataclasses.replace(app_settings(), handover=HandoverSettings(telegram_group_chat_id=GROUP))


async def outbox(store: Store, recipient: str) -> list[dict[str, Any]]:
    return await store.transaction(
        lambda tx: tx.fetch("SELECT * FROM outbox WHERE recipient = :r ORDER BY id", r=recipient)
    )


async def queue(store: Store, sender: str, now: datetime = NOW) -> dict[str, Any]:
    async def work(tx: Tx) -> dict[str, Any]:
        row, _ = await handover.request(tx, settings(), now, "rest", sender, "da", TOPIC, FLOW)
        return row

    return await store.transaction(work)


async def test_token_is_shown_once_and_only_its_hash_kept(store: Store) -> None:
    ementor_id, token = await store.transaction(lambda tx: accounts.create_ementor(tx, "Anna Hansen", 77, NOW))
    me = await store.transaction(lambda tx: accounts.authenticate(tx, token))
    assert me is not None and me["id"] == ementor_id and me["name"] == "Anna Hansen" and "token_hash" not in me
    assert await store.transaction(lambda tx: accounts.authenticate(tx, token + "x")) is None
    assert await store.transaction(lambda tx: accounts.authenticate(tx, "")) is None
    stored = await store.transaction(lambda tx: tx.fetch("SELECT token_hash FROM ementors"))
    assert stored[0]["token_hash"] != token and len(stored[0]["token_hash"]) == 64
    linked = await store.transaction(lambda tx: accounts.by_telegram_user(tx, 77))
    assert linked is not None and linked["id"] == ementor_id


async def test_online_until_runs_out(store: Store) -> None:
    ementor_id, _ = await store.transaction(lambda tx: accounts.create_ementor(tx, "Bo", None, NOW))
    assert await store.transaction(lambda tx: accounts.online_count(tx, NOW)) == 0
    await store.transaction(lambda tx: accounts.set_online(tx, ementor_id, NOW + timedelta(hours=4)))
    assert await store.transaction(lambda tx: accounts.online_count(tx, NOW)) == 1
    assert await store.transaction(lambda tx: accounts.online_count(tx, NOW + timedelta(hours=5))) == 0


def test_expected_wait_shares_the_queue_among_online_ementors() -> None:
    assert handover.expected_wait(1, 10, 1) == 10
    assert handover.expected_wait(3, 10, 2) == 15
    assert handover.expected_wait(2, 10, 0) == 20


async def test_a_second_request_returns_the_open_one_and_positions_follow_arrival(store: Store) -> None:
    first = await queue(store, "a")
    again = await queue(store, "a", NOW + timedelta(minutes=1))
    second = await queue(store, "b")
    assert again["id"] == first["id"]
    assert await store.transaction(lambda tx: handover.queue_position(tx, second)) == 2
    notices = await store.transaction(lambda tx: tx.fetch("SELECT kind FROM notices"))
    assert [n["kind"] for n in notices] == ["handover", "handover"]  # one per new request, none for the repeat


async def test_two_ementors_taking_at_once_one_wins(store: Store) -> None:
    row = await queue(store, "c")
    s = settings()

    async def press(name: str) -> handover.Taken:
        return await store.transaction(lambda tx: handover.take(tx, s, NOW, row["id"], None, name))

    results = await asyncio.gather(press("Anna"), press("Bo"))
    outcomes = sorted(r.outcome for r in results)
    assert outcomes == ["already", "taken"]
    winner = next(r for r in results if r.outcome == "taken")
    loser = next(r for r in results if r.outcome == "already")
    assert loser.handover is not None and winner.handover is not None
    assert loser.handover["ementor_name"] == winner.handover["ementor_name"]
    told = [messages_of(o["body"])[0].text for o in await outbox(store, "c")]
    name = winner.handover["ementor_name"]
    assert told == [
        f"Du taler nu med {name}, eMentor. {name} kan se det, du har skrevet. Skriv her, hvis du vil tilføje noget."
    ]


async def test_relay_both_ways_never_a_secret(store: Store) -> None:
    s = settings()
    row = await queue(store, "d")
    assert await store.transaction(lambda tx: handover.citizen_says(tx, s, NOW, row, "min app virker ikke"))
    taken = await store.transaction(lambda tx: handover.take(tx, s, NOW, row["id"], None, "Anna", 55))
    assert taken.handover is not None
    active = taken.handover
    assert await store.transaction(lambda tx: handover.citizen_says(tx, s, NOW, active, "hjælp"))
    assert not await store.transaction(lambda tx: handover.citizen_says(tx, s, NOW, active, "cpr 010190-1234"))
    asked = "min kode er Hest123, hvad gør jeg"
    assert await store.transaction(lambda tx: handover.citizen_says(tx, s, NOW, active, asked))
    await store.transaction(lambda tx: handover.ementor_says(tx, s, NOW, active, "Dit cpr 010190-1234 er registreret"))
    await store.transaction(lambda tx: handover.ementor_says(tx, s, NOW, active, "Prøv at genstarte"))
    said = await store.transaction(lambda tx: handover.messages(tx, row["id"]))
    assert [(m["author"], m["text"]) for m in said] == [
        ("citizen", "min app virker ikke"),
        ("citizen", "hjælp"),
        ("citizen", "min kode er [kode], hvad gør jeg"),
        ("ementor", "Dit cpr [cpr-nummer] er registreret"),
        ("ementor", "Prøv at genstarte"),
    ]
    group = [messages_of(o["body"])[0].text for o in await outbox(store, str(GROUP))]
    assert any("min app virker ikke" in t for t in group)  # the waiting words, when taken in the group
    assert f"💬 #{row['id']}: hjælp" in group
    assert not any("010190" in t for t in group)
    assert not any("Hest123" in t for t in group)
    citizen = [messages_of(o["body"])[0].text for o in await outbox(store, "d")]
    assert citizen[-2:] == ["Anna (eMentor): Dit cpr [cpr-nummer] er registreret", "Anna (eMentor): Prøv at genstarte"]


async def test_end_brings_the_bot_back(store: Store) -> None:
    s = settings()
    row = await queue(store, "e")
    assert not await store.transaction(lambda tx: handover.end(tx, s, NOW, row["id"], "ementor:1"))  # not taken yet
    await store.transaction(lambda tx: handover.take(tx, s, NOW, row["id"], None, "Anna"))
    assert await store.transaction(lambda tx: handover.end(tx, s, NOW, row["id"], "ementor:1"))
    assert await store.transaction(lambda tx: handover.open_for(tx, "rest", "e")) is None
    last = messages_of((await outbox(store, "e"))[-1]["body"])[0]
    assert last.text.startswith("eMentoren har afsluttet samtalen. Jeg er tilbage")
    assert [b.payload for b in last.buttons] == ["/thanks", "/book_ementor", "/help"]


async def test_a_taken_conversation_nobody_writes_in_ends_and_the_bot_is_back(store: Store) -> None:
    s = settings()  # idle_end_minutes: 30
    quiet, busy = await queue(store, "q"), await queue(store, "b")
    for row in (quiet, busy):
        await store.transaction(lambda tx, row=row: handover.take(tx, s, NOW, row["id"], None, "Anna"))
    taken = messages_of((await outbox(store, "q"))[-1]["body"])[0]
    assert [b.payload for b in taken.buttons] == ["/leave_queue"]  # the citizen can end it too
    active = await store.transaction(lambda tx: handover.get(tx, busy["id"]))
    assert active is not None
    await store.transaction(lambda tx: handover.citizen_says(tx, s, NOW + timedelta(minutes=20), active, "hallo?"))
    await store.transaction(lambda tx: timeouts.end_idle(tx, s, NOW + timedelta(minutes=29)))
    assert await store.transaction(lambda tx: handover.open_for(tx, "rest", "q")) is not None  # not yet
    await store.transaction(lambda tx: timeouts.end_idle(tx, s, NOW + timedelta(minutes=31)))
    assert await store.transaction(lambda tx: handover.open_for(tx, "rest", "q")) is None
    assert await store.transaction(lambda tx: handover.open_for(tx, "rest", "b")) is not None  # wrote at +20
    back = messages_of((await outbox(store, "q"))[-1]["body"])[0]
    assert back.text.startswith("Samtalen med eMentoren er slut") and "/book_ementor" in [
        b.payload for b in back.buttons
    ]


async def test_waiting_past_the_limit_is_offered_a_booking(store: Store) -> None:
    s = settings()
    old = await queue(store, "f")
    fresh = await queue(store, "g", NOW + timedelta(minutes=10))
    await store.transaction(lambda tx: timeouts.expire_waiting(tx, s, NOW + timedelta(minutes=16)))
    assert (await store.transaction(lambda tx: handover.get(tx, old["id"])) or {})["status"] == "expired"
    assert (await store.transaction(lambda tx: handover.get(tx, fresh["id"])) or {})["status"] == "waiting"
    offer = messages_of((await outbox(store, "f"))[-1]["body"])[0]
    assert "/book_ementor" in [b.payload for b in offer.buttons]
    [moved] = [messages_of(o["body"])[0].text for o in await outbox(store, "g")]  # g is first now, and told so
    assert moved.startswith("Du er rykket frem: nu er du nr. 1 i køen.")


async def test_notices_hold_no_citizen_text_or_sender(store: Store) -> None:
    s = settings()
    row = await queue(store, "secret-sender-id")
    await store.transaction(lambda tx: handover.citizen_says(tx, s, NOW, row, "mit navn er Karen Jensen"))
    await store.transaction(lambda tx: handover.take(tx, s, NOW, row["id"], None, "Anna"))
    await store.transaction(lambda tx: handover.end(tx, s, NOW, row["id"], "ementor:1"))
    notices = await store.transaction(lambda tx: tx.fetch("SELECT kind, body FROM notices ORDER BY id"))
    assert [n["kind"] for n in notices] == ["handover", "handover_taken", "handover_ended"]
    body = json.loads(notices[0]["body"])
    assert body["topic"] == "mitid_login_problem" and body["failed_at"] == "pin" and body["language"] == "da"
    request_line = messages_of((await outbox(store, str(GROUP)))[0]["body"])[0].text
    assert "venter: MitID virker ikke." in request_line  # the topic's title, not its intent name
    assert "Prøvet: «Hvad er problemet?» → Jeg har glemt PIN-koden; «" in request_line  # the bot's words, answers
    assert "» → det virkede ikke. Gik i stå ved: " in request_line
    for text in [n["body"] for n in notices] + [
        messages_of(o["body"])[0].text for o in await outbox(store, str(GROUP))
    ]:
        assert "Karen" not in text and "secret-sender-id" not in text


async def test_a_person_is_offered_only_when_someone_is_online_in_working_hours(store: Store) -> None:
    configured = booking_settings()  # weekdays 9.00-12.00 Copenhagen time
    thursday_ten = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # 10.00 in Copenhagen
    thursday_night = datetime(2026, 12, 3, 22, 0, tzinfo=UTC)
    assert await store.transaction(lambda tx: unavailable_because(tx, configured, thursday_ten)) == "nobody_online"
    ementor_id, _ = await store.transaction(lambda tx: accounts.create_ementor(tx, "Bo", None, NOW))
    await store.transaction(lambda tx: accounts.set_online(tx, ementor_id, thursday_night + timedelta(hours=4)))
    assert await store.transaction(lambda tx: unavailable_because(tx, configured, thursday_ten)) is None
    assert await store.transaction(lambda tx: unavailable_because(tx, configured, thursday_night)) == "closed_now"
