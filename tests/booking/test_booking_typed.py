"""Booking end to end by typing only — no button pressed, no payload — on REST, Telegram and the terminal:
place, a time in words, yes, a name in a sentence, a phone number in a sentence, "mine tider", cancel."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.channels.terminal import chat
from bot.config import DeliverySettings
from bot.nlu.classifier import IntentModel
from bot.runtime import build_runtime
from bot.storage.store import Store
from tests.booking.helpers import Client, Clock, booking_settings, live, say, texts
from tests.channels.fake_bot_api import FakeBotApi
from tests.channels.test_telegram import deliver, message_update, telegram_settings

# (what the citizen types, what the bot's answer must say)
TYPED = [
    ("jeg vil gerne booke en tid hos en ementor", "Hvor vil du have hjælp"),
    ("testvej", "Vælg en tid"),
    ("kan jeg komme på tirsdag kl 10", "Vil du booke i morgen, tirsdag den 2. december kl. 10.00"),
    ("ja tak", "fornavn"),
    ("jeg hedder Ida", "telefonnummer"),
    ("mit nummer er 22 33 44 55", "Din tid er booket"),
]
CANCEL = [
    ("mine tider", "i morgen, tirsdag den 2. december kl. 10.00"),
    ("aflys min tid", "Vil du aflyse"),
    ("ja", "Din tid er aflyst"),
]


async def test_booking_by_typing_on_rest(client: Client, store: Store) -> None:
    for typed, expected in TYPED:
        assert expected in texts(await say(client, "ida", typed)), typed
    [row] = await live(store)
    assert (row["name"], row["phone"], row["status"]) == ("Ida", "22334455", "booked")
    assert row["starts_at"].isoformat().startswith("2025-12-02T09:00")  # 10.00 Copenhagen time
    for typed, expected in CANCEL:
        assert expected in texts(await say(client, "ida", typed)), typed
    assert await live(store) == []


@pytest.fixture
async def telegram(project_model: IntentModel, store: Store, fake: FakeBotApi, clock: Clock) -> AsyncIterator[Client]:
    settings = dataclasses.replace(
        telegram_settings(fake), booking=booking_settings().booking, delivery=DeliverySettings(poll_seconds=0.05)
    )
    async with TestClient(TestServer(build_app(settings, project_model, store, clock))) as test_client:
        yield test_client


async def test_booking_by_typing_on_telegram(telegram: Client, fake: FakeBotApi, store: Store) -> None:
    for n, (typed, expected) in enumerate(TYPED + CANCEL):
        assert await deliver(telegram, message_update(4242, text=typed)) == 200
        said = [m["text"] for m in fake.sent("sendMessage")]
        assert any(expected in text for text in said[-3:]), (n, typed, said[-3:])
        if typed.startswith("mit nummer"):
            [row] = await live(store)
            assert (row["channel"], row["name"], row["phone"]) == ("telegram", "Ida", "22334455")
    assert await live(store) == []


async def test_booking_by_typing_in_the_terminal(project_model: IntentModel, store: Store, clock: Clock) -> None:
    lines = iter([typed for typed, _ in TYPED + CANCEL])

    def read() -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    out = io.StringIO()
    runtime = build_runtime(booking_settings(), project_model, store, clock)
    try:
        await chat(runtime.dispatcher, read, out, "ida")
    finally:
        await runtime.close()
    shown = out.getvalue()
    assert all(expected in shown for _, expected in TYPED + CANCEL), shown
    assert await live(store) == []
