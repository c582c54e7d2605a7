"""The Telegram channel end to end: real python-telegram-bot against a local fake Bot API, real app, real NLU,
real database (SQLite and PostgreSQL).

What the citizen would see is what the fake Bot API received: the sendMessage/answerCallbackQuery calls.
The expected answers come from the same app's dispatcher, asked as another channel, so the tests check
that Telegram delivers exactly what the bot says, whatever the flows say this month.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import RUNTIME_KEY, build_app
from bot.channels.telegram.send import send
from bot.channels.telegram.webhook import SECRET_HEADER, WEBHOOK_PATH
from bot.cli import main
from bot.cli.telegram import poll_telegram, set_webhook
from bot.config import Settings, TelegramSettings
from bot.core.messages import File, Inbound, Link, Outbound
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.channels.fake_bot_api import TOKEN, FakeBotApi
from tests.conftest import app_settings

Client = TestClient[Any, Any]
SECRET = "webhook-Secret_123"
CHAT = 4242
_ids = itertools.count(1000)


def telegram_settings(fake: FakeBotApi, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram": TelegramSettings(base_url=fake.base_url),
        "telegram_token": TOKEN,
        "telegram_webhook_secret": SECRET,
    }
    return dataclasses.replace(app_settings(), **{**values, **overrides})


@pytest.fixture
async def client(project_model: IntentModel, store: Store, fake: FakeBotApi) -> AsyncIterator[Client]:
    async with TestClient(TestServer(build_app(telegram_settings(fake), project_model, store))) as test_client:
        yield test_client


# ---- updates as Telegram sends them ----------------------------------------------------------------------
def citizen(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": "Anna", "language_code": "da"}


def message_update(chat_id: int, update_id: int | None = None, **content: Any) -> dict[str, Any]:
    chat = {"id": chat_id, "type": "private", "first_name": "Anna"}
    message = {"message_id": next(_ids), "date": 1_767_000_000, "chat": chat, "from": citizen(chat_id), **content}
    return {"update_id": update_id or next(_ids), "message": message}


def callback_update(chat_id: int, data: str, update_id: int | None = None) -> dict[str, Any]:
    update_id = update_id or next(_ids)
    shown = message_update(chat_id, text="(the bot's message with the keyboard)")["message"]
    query = {"id": f"q{update_id}", "from": citizen(chat_id), "chat_instance": "ci", "data": data, "message": shown}
    return {"update_id": update_id, "callback_query": query}


async def deliver(client: Client, update: dict[str, Any], secret: str | None = SECRET) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    response = await client.post(WEBHOOK_PATH, json=update, headers=headers)
    return response.status


# ---- what the bot says, asked as another channel, and how Telegram must show it ------------------------
async def oracle(client: Client, sender: str, text: str) -> list[Outbound]:
    replies: list[Outbound] | None = await client.app[RUNTIME_KEY].dispatcher.handle(Inbound("oracle", sender, text))
    assert replies
    return replies


class StoredKey:
    """Stands for the short key a payload over Telegram's 64 bytes is sent as (its text is in the database)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.startswith("#") and 0 < len(other.encode()) <= 64

    def __repr__(self) -> str:
        return "StoredKey()"


def as_telegram(chat_id: int, message: Outbound) -> dict[str, Any]:
    call: dict[str, Any] = {"chat_id": chat_id, "text": message.text}
    rows: list[list[dict[str, Any]]] = [[{"text": link.title, "url": link.url}] for link in message.links]
    rows += [
        [{"text": b.title, "callback_data": b.payload if len(b.payload.encode()) <= 64 else StoredKey()}]
        for b in message.buttons
    ]
    if rows:
        call["reply_markup"] = {"inline_keyboard": rows}
    return call


def keyboard(call: dict[str, Any]) -> list[dict[str, str]]:
    return [row[0] for row in call["reply_markup"]["inline_keyboard"]]


# ---- the webhook ----------------------------------------------------------------------------------------
async def test_text_message_gets_the_flows_answer_with_inline_keyboard(client: Client, fake: FakeBotApi) -> None:
    text = "hvordan bestiller jeg straffeattest"
    assert await deliver(client, message_update(CHAT, text=text)) == 200
    expected = [as_telegram(CHAT, m) for m in await oracle(client, "o1", text)]
    assert fake.sent("sendMessage") == expected
    assert all(len(row) == 1 and "callback_data" in row[0] for row in expected[-1]["reply_markup"]["inline_keyboard"])
    assert not fake.sent("answerCallbackQuery")


async def test_pressing_a_button_answers_the_query_and_continues_the_flow(client: Client, fake: FakeBotApi) -> None:
    text = "hvordan bestiller jeg straffeattest"
    await deliver(client, message_update(CHAT, text=text))
    first = await oracle(client, "o2", text)
    pressed = keyboard(fake.sent("sendMessage")[-1])[0]
    fake.calls.clear()

    update = callback_update(CHAT, pressed["callback_data"])
    assert await deliver(client, update) == 200
    assert fake.sent("answerCallbackQuery") == [{"callback_query_id": update["callback_query"]["id"]}]
    expected = [as_telegram(CHAT, m) for m in await oracle(client, "o2", first[-1].buttons[0].payload)]
    assert fake.sent("sendMessage") == expected
    assert [c.method for c in fake.calls] == ["answerCallbackQuery"] + ["sendMessage"] * len(expected)
    links = [b for b in keyboard(expected[-1]) if "url" in b]
    assert links and all(b["url"].startswith("https://") for b in links)  # this step's links, as URL buttons


async def test_repeated_update_id_is_processed_once_and_sends_the_first_reply(
    client: Client, fake: FakeBotApi, store: Store
) -> None:
    """Telegram delivers an update again when the first delivery failed: the turn is not run twice, and the
    reply given the first time is sent again (it may never have reached the citizen)."""
    update = message_update(CHAT, text="hvordan bestiller jeg straffeattest")
    assert await deliver(client, update) == 200
    answered = fake.sent("sendMessage")
    assert await deliver(client, update) == 200
    assert fake.sent("sendMessage") == answered + answered

    press = callback_update(CHAT, keyboard(fake.sent("sendMessage")[-1])[0]["callback_data"])
    await deliver(client, press)
    step = fake.sent("sendMessage")[len(answered) * 2 :]
    await deliver(client, press)
    assert fake.sent("sendMessage")[len(answered) * 2 + len(step) :] == step
    assert len(await store.recent_turns("telegram", str(CHAT))) == 2


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET.upper()])
async def test_wrong_or_missing_secret_is_refused(
    client: Client, fake: FakeBotApi, store: Store, secret: str | None
) -> None:
    assert await deliver(client, message_update(CHAT, text="hej"), secret=secret) == 403
    assert fake.sent("sendMessage") == []
    assert await store.recent_turns("telegram", str(CHAT)) == []


async def test_payload_longer_than_64_bytes_round_trips(
    client: Client, fake: FakeBotApi, project_model: IntentModel, store: Store
) -> None:
    await deliver(client, message_update(CHAT, text="/mitid_login_problem"))
    shown = (await oracle(client, "o3", "/mitid_login_problem"))[-1]
    long = [i for i, b in enumerate(shown.buttons) if len(b.payload.encode()) > 64]
    assert long, "the flow no longer has a long payload to test with"
    sent = keyboard(fake.sent("sendMessage")[-1])
    assert [b["text"] for b in sent] == [b.title for b in shown.buttons]
    assert all(0 < len(b["callback_data"].encode()) <= 64 for b in sent)
    short = [i for i, b in enumerate(shown.buttons) if i not in long]
    assert all(sent[i]["callback_data"] == shown.buttons[i].payload for i in short)
    fake.calls.clear()

    # pressed in a bot process that never sent it (a restart, another worker): the key is in the database
    async with TestClient(TestServer(build_app(telegram_settings(fake), project_model, store))) as other:
        assert await deliver(other, callback_update(CHAT, sent[long[0]]["callback_data"])) == 200
    expected = [as_telegram(CHAT, m) for m in await oracle(client, "o3", shown.buttons[long[0]].payload)]
    assert fake.sent("sendMessage") == expected


STICKER = {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 512, "height": 512}
MEDIA = [
    {"photo": [{"file_id": "a", "file_unique_id": "a", "width": 90, "height": 90}]},
    {"sticker": {**STICKER, "is_animated": False, "is_video": False}},
    {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 3}},
]


@pytest.mark.parametrize("content", MEDIA, ids=["photo", "sticker", "voice"])
async def test_non_text_messages_get_the_media_answer(client: Client, fake: FakeBotApi, content: Any) -> None:
    assert await deliver(client, message_update(CHAT, **content)) == 200
    media = client.app[RUNTIME_KEY].dispatcher.engine.ui.text("not_understood_media", "da")
    assert fake.sent("sendMessage") == [{"chat_id": CHAT, "text": media}]


async def test_start_command_is_a_greeting(client: Client, fake: FakeBotApi) -> None:
    await deliver(client, message_update(CHAT, text="/start"))
    assert fake.sent("sendMessage") == [as_telegram(CHAT, m) for m in await oracle(client, "o4", "hej")]


async def test_bad_update_is_refused(client: Client) -> None:
    response = await client.post(WEBHOOK_PATH, data=b"{oops", headers={SECRET_HEADER: SECRET})
    assert response.status == 400


async def test_without_token_the_channel_is_not_mounted(
    project_model: IntentModel, store: Store, fake: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.channels.telegram.webhook")
    app = build_app(telegram_settings(fake, telegram_token=None), project_model, store)
    async with TestClient(TestServer(app)) as client:
        assert await deliver(client, message_update(CHAT, text="hej")) == 404
    assert [r.getMessage() for r in caplog.records] == ["Telegram channel off: EMENTOR_TELEGRAM_TOKEN is not set"]
    assert fake.calls == []


async def test_unreachable_bot_api_leaves_the_rest_of_the_bot_running(
    project_model: IntentModel, store: Store, fake: FakeBotApi
) -> None:
    settings = telegram_settings(fake, telegram=TelegramSettings(base_url="http://127.0.0.1:9/bot"))
    async with TestClient(TestServer(build_app(settings, project_model, store))) as client:
        assert await deliver(client, message_update(CHAT, text="hej")) == 503  # Telegram delivers it again later
        response = await client.post("/webhooks/rest/webhook", json={"sender": "x", "message": "hej"})
        assert response.status == 200


# ---- sending ---------------------------------------------------------------------------------------------
async def test_image_and_file_are_sent_as_photo_and_document(fake: FakeBotApi) -> None:
    from telegram import Bot

    from bot.channels.telegram.buttons import CallbackData

    class NoTable:
        async def save_button_payloads(self, payloads: Any) -> None:
            raise AssertionError("no long payload here")

        async def button_payload(self, key: str) -> str | None:
            return None

    message = Outbound(
        "Se her",
        links=(Link("Jobnet", "https://job.jobnet.dk"), Link("Ring", "tel:+4533669000")),
        image="https://example.org/step.png",
        file=File("https://example.org/guide.pdf"),
    )
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        await send(bot, CHAT, [message], CallbackData(NoTable()))
    assert [(c.method, c.params) for c in fake.calls if c.method != "getMe"] == [
        (
            "sendMessage",
            {
                "chat_id": CHAT,
                "text": "Se her\n\nRing: tel:+4533669000",
                "reply_markup": {"inline_keyboard": [[{"text": "Jobnet", "url": "https://job.jobnet.dk"}]]},
            },
        ),
        ("sendPhoto", {"chat_id": CHAT, "photo": "https://example.org/step.png"}),
        ("sendDocument", {"chat_id": CHAT, "document": "https://example.org/guide.pdf"}),
    ]


# ---- polling and the command line ------------------------------------------------------------------------
async def test_polling_fetches_updates_and_replies(fake: FakeBotApi, project_model: IntentModel, store: Store) -> None:
    stop = asyncio.Event()
    polling = asyncio.create_task(poll_telegram(telegram_settings(fake), project_model, store, stop, timeout=1))
    try:
        await fake.queue_update(message_update(CHAT, text="hvordan bestiller jeg straffeattest"))
        [reply] = await fake.wait_for("sendMessage")
        pressed = keyboard(reply)[0]["callback_data"]
        await fake.queue_update(callback_update(CHAT, pressed))
        await fake.wait_for("answerCallbackQuery")
    finally:
        stop.set()
        await asyncio.wait_for(polling, 15)
    assert fake.sent("deleteWebhook")  # getUpdates is refused while a webhook is set
    polls = fake.sent("getUpdates")
    assert polls and all(p["allowed_updates"] == ["message", "callback_query"] for p in polls)
    assert fake.updates == []  # the last poll confirmed both updates: a restart does not answer them again
    turns = await store.recent_turns("telegram", str(CHAT))
    assert [t["intent"] for t in turns] == ["criminal_record", "choose"]


async def test_set_webhook_registers_url_and_secret(fake: FakeBotApi) -> None:
    url = "https://bot.example.dk/webhooks/telegram/webhook"
    await set_webhook(telegram_settings(fake), url)
    assert fake.sent("setWebhook") == [
        {"url": url, "secret_token": SECRET, "allowed_updates": ["message", "callback_query"]}
    ]


def test_polling_without_token_stops_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("EMENTOR_TELEGRAM_TOKEN", raising=False)
    assert main(["telegram", "--polling"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "EMENTOR_TELEGRAM_TOKEN is not set" in err
