"""A live hand-over end to end on Telegram: the citizen's private chat and the eMentors' group, both through
the real python-telegram-bot stack against the fake Bot API; the app's own delivery worker sends the
notices and relayed messages (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.config import DeliverySettings, HandoverSettings, Settings
from bot.core.clock import utc_now
from bot.core.ports import StorageUnavailable
from bot.escalation import accounts
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.channels.fake_bot_api import FakeBotApi
from tests.channels.test_telegram import CHAT, deliver, message_update, telegram_settings

Client = TestClient[Any, Any]
GROUP = -100777
ANNA, BO, CARL = 9001, 9002, 9003  # Anna and Bo have eMentor accounts linked to their Telegram users; Carl is
# only a member of the group
_ids = itertools.count(50_000)


def settings(fake: FakeBotApi) -> Settings:
    return telegram_settings(
        fake,
        handover=HandoverSettings(telegram_group_chat_id=GROUP),
        delivery=DeliverySettings(poll_seconds=0.05, retry_seconds=0.1),
    )


@pytest.fixture
async def client(project_model: IntentModel, store: Store, fake: FakeBotApi) -> AsyncIterator[Client]:
    async with TestClient(TestServer(build_app(settings(fake), project_model, store))) as test_client:
        yield test_client


def member(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": {ANNA: "Anna", BO: "Bo", CARL: "Carl"}[user_id]}


def group_message(user_id: int, text: str, reply_to: int | None = None) -> dict[str, Any]:
    chat = {"id": GROUP, "type": "supergroup", "title": "eMentorer"}
    message: dict[str, Any] = {
        "message_id": next(_ids), "date": 1_767_000_000, "chat": chat, "from": member(user_id), "text": text
    }  # fmt: skip
    if reply_to is not None:
        message["reply_to_message"] = {"message_id": reply_to, "date": 1_767_000_000, "chat": chat, "text": "…"}
    return {"update_id": next(_ids), "message": message}


def press(user_id: int, data: str) -> dict[str, Any]:
    update_id = next(_ids)
    shown = {"message_id": next(_ids), "date": 1_767_000_000, "chat": {"id": GROUP, "type": "supergroup"}}
    query = {"id": f"q{update_id}", "from": member(user_id), "chat_instance": "g", "data": data, "message": shown}
    return {"update_id": update_id, "callback_query": query}


async def sent_to(fake: FakeBotApi, chat_id: int, count: int) -> list[dict[str, Any]]:
    """The first `count` messages sent to `chat_id`, waiting for the delivery worker when needed."""
    for _ in range(300):
        found = [c for c in fake.sent("sendMessage") if c["chat_id"] == chat_id]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"only {len(found)} of {count} messages to {chat_id}: {[c['text'] for c in found]}")


def callback_of(message: dict[str, Any], index: int = 0) -> str:
    data: str = message["reply_markup"]["inline_keyboard"][index][0]["callback_data"]
    return data


async def answers(fake: FakeBotApi, count: int) -> list[str]:
    calls = await fake.wait_for("answerCallbackQuery", count)
    return [c.get("text", "") for c in calls]


async def linked(store: Store, name: str, user_id: int) -> int:
    ementor_id, _ = await store.transaction(lambda tx: accounts.create_ementor(tx, name, user_id, utc_now()))
    return ementor_id


async def test_full_round_trip_in_the_group(client: Client, fake: FakeBotApi, store: Store) -> None:
    ementor_id = await linked(store, "Anna Hansen", ANNA)
    await linked(store, "Bo Berg", BO)
    await store.transaction(lambda tx: accounts.set_online(tx, ementor_id, utc_now() + timedelta(hours=1)))

    assert await deliver(client, message_update(CHAT, text="jeg vil tale med et menneske")) == 200
    citizen = await sent_to(fake, CHAT, 1)
    assert citizen[0]["text"].startswith("Du er nr. 1 i køen")
    notice = (await sent_to(fake, GROUP, 1))[0]
    assert notice["text"].startswith("🙋 Samtale #") and str(CHAT) not in notice["text"]
    take = callback_of(notice)
    assert take.startswith("/take")

    await deliver(client, press(ANNA, take))
    await deliver(client, press(BO, take))  # a moment too late
    assert await answers(fake, 2) == ["Du har taget samtalen.", "Allerede taget af Anna Hansen."]
    assert (await sent_to(fake, CHAT, 2))[1][
        "text"
    ] == "Du taler nu med Anna, eMentor. Anna kan se det, du har skrevet. Skriv her, hvis du vil tilføje noget."
    taken = (await sent_to(fake, GROUP, 2))[1]
    assert taken["text"].startswith("✅ Anna Hansen har taget samtale")
    end = callback_of(taken)

    await deliver(client, message_update(CHAT, text="min app siger fejl 1234"))
    relayed = (await sent_to(fake, GROUP, 3))[2]
    assert relayed["text"].endswith(": min app siger fejl 1234")
    assert len([c for c in fake.sent("sendMessage") if c["chat_id"] == CHAT]) == 2  # the bot said nothing

    relayed_id = await external_id_of(store, relayed["text"])
    answer = group_message(ANNA, "Prøv at genstarte telefonen", reply_to=relayed_id)
    await deliver(client, answer)
    await deliver(client, answer)  # Telegram delivers the same update again
    assert (await sent_to(fake, CHAT, 3))[2]["text"] == "Anna (eMentor): Prøv at genstarte telefonen"
    await deliver(client, group_message(BO, "Jeg kan også hjælpe", reply_to=relayed_id))
    said = [c["text"] for c in await sent_to(fake, CHAT, 3)]
    assert said.count("Anna (eMentor): Prøv at genstarte telefonen") == 1  # once, though delivered twice
    assert (await sent_to(fake, GROUP, 4))[3]["text"].startswith("Kun den eMentor, der har taget samtalen")
    await deliver(client, group_message(BO, "kaffe?"))  # the eMentors' own talk: ignored

    await deliver(client, press(BO, end))
    await deliver(client, press(ANNA, end))
    assert (await answers(fake, 4))[2:] == [
        "Kun den eMentor, der har taget samtalen, kan skrive eller afslutte den.",
        "Samtalen er afsluttet.",
    ]
    ended = (await sent_to(fake, CHAT, 4))[3]
    assert ended["text"].startswith("eMentoren har afsluttet samtalen")
    await deliver(client, message_update(CHAT, text="hvordan bestiller jeg straffeattest"))
    assert len(await sent_to(fake, CHAT, 5)) >= 5  # the bot answers again
    assert await store.recent_turns("telegram", str(GROUP)) == []  # the group never reached the dispatcher


async def external_id_of(store: Store, text: str) -> int:
    """The Telegram message id of the group message with `text`, once the worker has recorded it (it does so
    just after the Bot API answered, so a moment after the fake server saw the message)."""
    for _ in range(300):
        rows = await store.transaction(
            lambda tx: tx.fetch("SELECT body, external_id FROM outbox WHERE recipient = :g", g=str(GROUP))
        )
        found = [r["external_id"] for r in rows if text in r["body"] and r["external_id"] is not None]
        if found:
            return int(found[0])
        await asyncio.sleep(0.02)
    raise AssertionError(f"no Telegram message id recorded for {text!r}")


async def test_presence_commands(client: Client, fake: FakeBotApi, store: Store) -> None:
    await store.transaction(lambda tx: accounts.create_ementor(tx, "Anna Hansen", ANNA, utc_now()))
    await deliver(client, group_message(ANNA, "/online@ementor_test_bot"))
    await deliver(client, group_message(BO, "/online"))
    said = [c["text"] for c in await sent_to(fake, GROUP, 2)]
    assert said[0].startswith("Du er online til kl.") and said[1].startswith("Din Telegram-konto er ikke knyttet")
    assert await store.transaction(lambda tx: accounts.online_count(tx, utc_now())) == 1
    await deliver(client, group_message(ANNA, "/offline"))
    assert (await sent_to(fake, GROUP, 3))[2]["text"] == "Du er offline."
    assert await store.transaction(lambda tx: accounts.online_count(tx, utc_now())) == 0


async def test_forged_group_buttons_change_nothing(client: Client, fake: FakeBotApi, store: Store) -> None:
    await linked(store, "Bo Berg", BO)
    for data in ('/take{"h":"99999"}', '/take{"h":"x; drop"}', '/end{"h":"1"}', '/attended{"ref":"NOPE"}', "/hack"):
        await deliver(client, press(BO, data))
    assert await answers(fake, 5) == [
        "Samtalen er ikke længere åben.",
        "Samtalen er ikke længere åben.",
        "Samtalen er ikke længere åben.",
        "Den booking findes ikke (eller er aflyst).",
        "",
    ]


async def test_with_the_database_away_the_ementor_is_told_to_try_again(
    client: Client, fake: FakeBotApi, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def away(*args: Any, **kwargs: Any) -> Any:
        raise StorageUnavailable("connection refused")

    monkeypatch.setattr(store, "transaction", away)
    await deliver(client, group_message(ANNA, "Prøv at genstarte", reply_to=4242))
    [said] = await sent_to(fake, GROUP, 1)
    assert said["text"].startswith("Der er et teknisk problem lige nu")
    await deliver(client, press(ANNA, '/take{"h":"1"}'))
    [answer] = await fake.wait_for("answerCallbackQuery")
    assert answer["text"].startswith("Der er et teknisk problem lige nu") and answer["show_alert"] in (True, "true")


async def test_only_linked_ementors_act_and_the_citizen_never_hears_of_an_unknown(
    client: Client, fake: FakeBotApi, store: Store
) -> None:
    ementor_id = await linked(store, "Anna Hansen", ANNA)
    await store.transaction(lambda tx: accounts.set_online(tx, ementor_id, utc_now() + timedelta(hours=1)))
    await deliver(client, message_update(CHAT, text="jeg vil tale med et menneske"))
    take = callback_of((await sent_to(fake, GROUP, 1))[0])
    await deliver(client, press(CARL, take))
    [refused] = await answers(fake, 1)
    assert refused.startswith("Din Telegram-konto er ikke koblet til en eMentor-konto")
    await store.transaction(lambda tx: accounts.set_active(tx, ementor_id, False))  # a disabled account: the same
    await deliver(client, press(ANNA, take))
    assert (await answers(fake, 2))[1].startswith("Din Telegram-konto er ikke koblet")
    await store.transaction(lambda tx: accounts.set_active(tx, ementor_id, True))
    await deliver(client, press(ANNA, take))
    assert (await answers(fake, 3))[2] == "Du har taget samtalen."
    citizen = [c["text"] for c in await sent_to(fake, CHAT, 2)]
    assert (
        citizen[1]
        == "Du taler nu med Anna, eMentor. Anna kan se det, du har skrevet. Skriv her, hvis du vil tilføje noget."
    )
    assert not any("Ukendt" in t or "Carl" in t for t in citizen)

    await deliver(client, message_update(CHAT, text="hej"))
    relayed = (await sent_to(fake, GROUP, 3))[2]
    await deliver(client, group_message(CARL, "Jeg svarer bare", reply_to=await external_id_of(store, relayed["text"])))
    assert (await sent_to(fake, GROUP, 4))[3]["text"].startswith("Din Telegram-konto er ikke koblet")
    await deliver(client, press(CARL, '/end{"h":"1"}'))
    assert (await answers(fake, 4))[3].startswith("Din Telegram-konto er ikke koblet")
    assert len(await sent_to(fake, CHAT, 2)) == 2  # nothing from Carl reached the citizen


async def test_a_message_not_written_as_a_reply_gets_a_hint_only_from_an_ementor_in_a_talk(
    client: Client, fake: FakeBotApi, store: Store
) -> None:
    ementor_id = await linked(store, "Anna Hansen", ANNA)
    await linked(store, "Bo Berg", BO)
    await store.transaction(lambda tx: accounts.set_online(tx, ementor_id, utc_now() + timedelta(hours=1)))
    await deliver(client, group_message(ANNA, "godmorgen alle"))  # no talk yet: the eMentors' own chat
    await deliver(client, message_update(CHAT, text="jeg vil tale med et menneske"))
    await deliver(client, press(ANNA, callback_of((await sent_to(fake, GROUP, 1))[0])))
    await sent_to(fake, GROUP, 2)
    await deliver(client, group_message(ANNA, "Prøv at genstarte telefonen"))  # forgot to reply
    hint = (await sent_to(fake, GROUP, 3))[2]
    assert hint["text"].startswith("Din besked er ikke sendt til borgeren. Svar (Reply) på en besked fra #")
    await deliver(client, group_message(BO, "kaffe?"))  # Bo holds no talk: ignored
    await asyncio.sleep(0.3)
    group = [c["text"] for c in fake.sent("sendMessage") if c["chat_id"] == GROUP]
    assert len(group) == 3 and "godmorgen" not in " ".join(group)
    assert len([c for c in fake.sent("sendMessage") if c["chat_id"] == CHAT]) == 2  # queued, taken: no hint text


async def test_attendance_from_the_group_only_once_the_time_has_begun(
    client: Client, fake: FakeBotApi, store: Store
) -> None:
    from bot.booking import bookings
    from bot.booking.bookings import Request, resource_of
    from bot.core.statuses import BookingStatus

    await linked(store, "Anna Hansen", ANNA)

    async def booking(start: Any) -> str:
        async def work(tx: Any) -> str:
            request = Request(
                "slot", resource_of("slot", "lab", start), 1, "lab", start, start + timedelta(minutes=30),
                "telegram", str(CHAT), "da",
            )  # fmt: skip
            row = await bookings.reserve(tx, request, BookingStatus.BOOKED, utc_now())
            assert row is not None
            return row["reference"]

        return await store.transaction(work)

    tomorrow = await booking(utc_now() + timedelta(days=1))
    begun = await booking(utc_now() - timedelta(minutes=10))
    await deliver(client, press(ANNA, f'/no_show{{"ref":"{tomorrow}"}}'))
    await deliver(client, press(CARL, f'/attended{{"ref":"{begun}"}}'))
    await deliver(client, press(ANNA, f'/attended{{"ref":"{begun}"}}'))
    said = await answers(fake, 3)
    assert said[0].startswith("Fremmøde kan først registreres, når tiden er begyndt (")
    assert said[1].startswith("Din Telegram-konto er ikke koblet")
    assert said[2] == "Registreret: mødt."
    statuses = await store.transaction(lambda tx: tx.fetch("SELECT reference, status, marked_by FROM bookings"))
    by_ref = {r["reference"]: (r["status"], r["marked_by"]) for r in statuses}
    assert by_ref[tomorrow] == ("booked", None) and by_ref[begun][0] == "attended" and by_ref[begun][1] is not None
