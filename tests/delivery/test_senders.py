"""Outbox messages pushed through the real channels: Telegram (python-telegram-bot against a fake Bot API)
and socket.io (a real client connected to the app), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.app import WORKER_KEY, build_app
from bot.channels.telegram.sender import TelegramSender
from bot.config import DeliverySettings
from bot.core.messages import Button, File, Outbound
from bot.core.ports import Tx
from bot.delivery.outbox import enqueue
from bot.delivery.worker import DeliveryWorker
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.channels.fake_bot_api import TOKEN, FakeBotApi
from tests.channels.test_socketio import Webchat
from tests.conftest import app_settings
from tests.delivery.helpers import row

SETTINGS = DeliverySettings(poll_seconds=0.05, max_attempts=3, retry_seconds=10)
ICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:eMentor\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
REMINDER = Outbound(
    "Husk: i morgen, torsdag den 3. december kl. 10.30, hos Borgerservice.",
    buttons=(Button("Aflys tiden", "/cancel_booking"),),
    file=File("/calendar/abc.ics", "ementor.ics", "text/calendar", ICS),
)


def now() -> datetime:
    return datetime.now(UTC)


async def put(store: Store, channel: str, recipient: str, messages: list[Outbound]) -> int:
    async def work(tx: Tx) -> int:
        return await enqueue(tx, "reminder", channel, recipient, messages, now() - timedelta(seconds=1), now())

    return await store.transaction(work)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as api:
        yield api


@pytest.fixture
async def telegram(fake: FakeBotApi, store: Store) -> AsyncIterator[TelegramSender]:
    sender = TelegramSender.from_token(TOKEN, fake.base_url, store)
    yield sender
    await sender.close()


async def test_telegram_reminder_with_keyboard_and_the_calendar_file(
    store: Store, fake: FakeBotApi, telegram: TelegramSender
) -> None:
    delivery = await put(store, "telegram", "4711", [REMINDER])
    assert await DeliveryWorker(store, {"telegram": telegram}, SETTINGS).run_once() == 1
    [message] = fake.sent("sendMessage")
    assert message["chat_id"] == 4711 and message["text"].startswith("Husk: i morgen")
    [[button]] = message["reply_markup"]["inline_keyboard"]
    assert (button["text"], button["callback_data"]) == ("Aflys tiden", "/cancel_booking")
    [document] = fake.sent("sendDocument")
    assert document["document"]["filename"] == "ementor.ics"
    assert document["document"]["content"].replace("\r\n", "\n") == ICS.replace("\r\n", "\n")
    sent = await row(store, delivery)
    assert sent["status"] == "sent" and sent["external_id"] == "2"  # the document's message id


async def test_telegram_blocked_by_the_citizen_fails_at_once(
    store: Store, fake: FakeBotApi, telegram: TelegramSender
) -> None:
    fake.refuse["sendMessage"] = (403, "Forbidden: bot was blocked by the user")
    delivery = await put(store, "telegram", "4712", [Outbound("Husk din tid i morgen")])
    await DeliveryWorker(store, {"telegram": telegram}, SETTINGS).run_once()
    failed = await row(store, delivery)
    assert (failed["status"], failed["attempts"]) == ("failed", 1)
    assert "blocked" in failed["last_error"]


async def test_telegram_network_trouble_is_retried(store: Store, fake: FakeBotApi, telegram: TelegramSender) -> None:
    fake.refuse["sendMessage"] = (502, "Bad Gateway")
    delivery = await put(store, "telegram", "4713", [Outbound("Husk din tid i morgen")])
    await DeliveryWorker(store, {"telegram": telegram}, SETTINGS).run_once()
    retried = await row(store, delivery)
    assert (retried["status"], retried["attempts"]) == ("pending", 1)


async def test_telegram_flood_control_waits_as_told_and_counts_no_attempt(
    store: Store, fake: FakeBotApi, telegram: TelegramSender
) -> None:
    fake.refuse["sendMessage"] = (429, "Too Many Requests: retry after 7")
    fake.retry_after = 7
    delivery = await put(store, "telegram", "4714", [Outbound("Husk din tid i morgen")])
    before = now()
    await DeliveryWorker(store, {"telegram": telegram}, SETTINGS).run_once()
    waiting = await row(store, delivery)
    assert (waiting["status"], waiting["attempts"]) == ("pending", 0)
    assert timedelta(seconds=6) < waiting["due_at"] - before < timedelta(seconds=9)


@pytest.fixture
async def served(project_model: IntentModel, store: Store) -> AsyncIterator[TestServer]:
    server = TestServer(build_app(app_settings(), project_model, store), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def test_socketio_push_reaches_the_connected_widget(store: Store, served: TestServer) -> None:
    client = await Webchat().connect(f"http://127.0.0.1:{served.port}")
    try:
        session = await client.request_session()
        absent = await put(store, "socketio", "nobody-connected", [Outbound("Til ingen")])
        conversation = session.partition(".")[0]  # a signed session id: the conversation is kept under its key part
        await put(
            store, "socketio", conversation, [Outbound("Hej, det er Mette fra eMentor-teamet.", REMINDER.buttons)]
        )
        served.app[WORKER_KEY].wake()
        event, payload = await client.next_event()
        assert event == "bot_uttered"
        assert payload == {
            "text": "Hej, det er Mette fra eMentor-teamet.",
            "quick_replies": [{"content_type": "text", "title": "Aflys tiden", "payload": "/cancel_booking"}],
        }
        await asyncio.sleep(0.1)
        waiting: dict[str, Any] = await row(store, absent)
        assert (waiting["status"], waiting["attempts"]) == ("pending", 0)  # kept for when the citizen is back
    finally:
        await client.close()
