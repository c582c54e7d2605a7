"""Booking on Telegram end to end: the real python-telegram-bot stack against the fake Bot API; the
confirmation ends with the calendar file uploaded as a document (Telegram cannot fetch our relative link)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.config import DeliverySettings
from bot.core.clock import COPENHAGEN
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.booking.helpers import Client, Clock, booking_settings, live, slot_payload
from tests.channels.fake_bot_api import FakeBotApi
from tests.channels.test_telegram import deliver, message_update, telegram_settings

CHAT = 5151


@pytest.fixture
async def client(project_model: IntentModel, store: Store, fake: FakeBotApi, clock: Clock) -> AsyncIterator[Client]:
    settings = dataclasses.replace(
        telegram_settings(fake), booking=booking_settings().booking, delivery=DeliverySettings(poll_seconds=0.05)
    )
    async with TestClient(TestServer(build_app(settings, project_model, store, clock))) as test_client:
        yield test_client


async def test_booking_on_telegram_ends_with_the_calendar_document(
    client: Client, fake: FakeBotApi, store: Store
) -> None:
    for text in ("/book_ementor", slot_payload("2025-12-04T10:30"), "Anna", "/skip"):
        assert await deliver(client, message_update(CHAT, text=text)) == 200
    [document] = await fake.wait_for("sendDocument")
    [row] = await live(store)
    assert row["channel"] == "telegram" and row["sender"] == str(CHAT) and row["name"] == "Anna"
    assert document["chat_id"] == CHAT
    assert document["document"]["filename"] == f"ementor-{row['reference']}.ics"
    assert "DTSTART;TZID=Europe/Copenhagen:20251204T103000" in document["document"]["content"]
    texts = [m["text"] for m in fake.sent("sendMessage")]
    assert texts[0].startswith("Hvor vil du have hjælp")
    assert any("torsdag den 4. december kl. 10.30" in t and row["reference"] in t for t in texts)


async def test_the_reminders_arrive_on_telegram_when_due_and_once(
    client: Client, fake: FakeBotApi, store: Store, clock: Clock
) -> None:
    for text in ("/book_ementor", slot_payload("2025-12-04T10:30"), "/skip", "/skip"):
        assert await deliver(client, message_update(CHAT, text=text)) == 200
    await fake.wait_for("sendDocument")
    booked = len(fake.sent("sendMessage"))
    await asyncio.sleep(0.3)  # the worker ticks: nothing is due yet
    assert len(fake.sent("sendMessage")) == booked

    clock.now = datetime(2025, 12, 3, 17, 0, 30, tzinfo=COPENHAGEN)  # the day before, just after 17.00
    day_before = (await fake.wait_for("sendMessage", booked + 1))[booked]
    assert day_before["chat_id"] == CHAT and "torsdag den 4. december kl. 10.30" in day_before["text"]
    clock.now = datetime(2025, 12, 4, 8, 31, tzinfo=COPENHAGEN)  # two hours before
    two_hours = (await fake.wait_for("sendMessage", booked + 2))[booked + 1]
    assert "kl. 10.30" in two_hours["text"]
    await asyncio.sleep(0.3)
    assert len(fake.sent("sendMessage")) == booked + 2  # each sent once
