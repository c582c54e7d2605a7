"""A booking confirmed in the database always reaches the citizen: the confirmation is kept with the
message that made it, in the same transaction, so the answer lost on its way comes back on "Prøv igen",
with the reference that is in the database, and nothing is booked twice. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.booking.helpers import Client, Clock, booking_settings, live, rows, say, slot_payload, texts


@pytest.fixture
async def booking_client(project_model: IntentModel, store: Store) -> AsyncIterator[Client]:
    app = build_app(booking_settings(), project_model, store, Clock())
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def said(client: Client, sender: str, message: str, message_id: str) -> list[dict[str, Any]]:
    response = await client.post(
        "/webhooks/rest/webhook", json={"sender": sender, "message": message, "message_id": message_id}
    )
    assert response.status == 200, await response.text()
    body: list[dict[str, Any]] = await response.json()
    return body


async def test_a_lost_booking_confirmation_comes_back_on_try_again(booking_client: Client, store: Store) -> None:
    await say(booking_client, "ulla", slot_payload("2025-12-04T10:30"))
    await say(booking_client, "ulla", "/skip")  # no name
    confirmed = await said(booking_client, "ulla", "/skip", "ulla-done")  # the answer the phone never got
    again = await said(booking_client, "ulla", "/skip", "ulla-done")  # "Prøv igen"
    [booking] = await live(store)
    assert booking["status"] == "booked"
    assert again == confirmed
    assert "Din tid er booket" in texts(again) and f"Reference: {booking['reference']}" in texts(again)
    assert any("attachment" in reply for reply in again)  # the calendar file's link too
    assert len(await rows(store, "SELECT id FROM bookings")) == 1  # booked once
    assert len(await rows(store, "SELECT id FROM outbox WHERE kind = 'reminder'")) == 2  # reminders once
