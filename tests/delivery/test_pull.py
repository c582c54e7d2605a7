"""REST is a pull channel: `GET /webhooks/rest/messages?sender=ID` hands out the sender's waiting messages
once, in order, in Rasa's shape (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.core.messages import Button, File, Outbound
from bot.core.ports import Tx
from bot.delivery.outbox import enqueue, pull
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.conftest import app_settings

Client = TestClient[Any, Any]


@pytest.fixture
async def client(project_model: IntentModel, store: Store) -> AsyncIterator[Client]:
    async with TestClient(TestServer(build_app(app_settings(), project_model, store))) as test_client:
        yield test_client


async def put(store: Store, recipient: str, text: str, due_in: timedelta, **extra: Any) -> None:
    now = datetime.now(UTC)

    async def work(tx: Tx) -> None:
        await enqueue(tx, "handover", "rest", recipient, [Outbound(text, **extra)], now + due_in, now)

    await store.transaction(work)


async def messages(client: Client, sender: str) -> list[dict[str, Any]]:
    response = await client.get("/webhooks/rest/messages", params={"sender": sender})
    assert response.status == 200, await response.text()
    body: list[dict[str, Any]] = await response.json()
    return body


async def test_waiting_messages_are_handed_out_once_and_in_order(client: Client, store: Store) -> None:
    await put(store, "web1", "Anden besked", timedelta(seconds=-10))
    await put(store, "web1", "Første besked", timedelta(seconds=-20), buttons=(Button("Tak", "/thanks"),))
    await put(store, "web1", "Påmindelse i morgen", timedelta(hours=1))
    await put(store, "web2", "Til en anden", timedelta(seconds=-5))
    ics = File("/calendar/k.ics", "ementor.ics", "text/calendar", "BEGIN:VCALENDAR")
    await put(store, "web1", "Din kalenderfil", timedelta(seconds=-1), file=ics)
    assert await messages(client, "web1") == [
        {"recipient_id": "web1", "text": "Første besked", "buttons": [{"title": "Tak", "payload": "/thanks"}]},
        {"recipient_id": "web1", "text": "Anden besked"},
        {"recipient_id": "web1", "text": "Din kalenderfil"},
        {"recipient_id": "web1", "attachment": "/calendar/k.ics"},
    ]
    assert await messages(client, "web1") == []  # once only; the reminder is not due yet
    assert [m["text"] for m in await messages(client, "web2")] == ["Til en anden"]


async def test_nothing_waiting_is_an_empty_list(client: Client) -> None:
    assert await messages(client, "nobody") == []


@pytest.mark.parametrize("query", ["", "?sender=", "?sender=%20", "?sender=" + "x" * 129])
async def test_a_bad_sender_is_refused(client: Client, query: str) -> None:
    response = await client.get("/webhooks/rest/messages" + query)
    assert response.status == 400


async def test_pull_marks_rows_sent(store: Store) -> None:
    await put(store, "web3", "Hej", timedelta(seconds=-1))
    now = datetime.now(UTC)
    first = await store.transaction(lambda tx: pull(tx, "rest", "web3", now))
    again = await store.transaction(lambda tx: pull(tx, "rest", "web3", now))
    assert [m.text for m in first] == ["Hej"] and again == []

    async def statuses(tx: Tx) -> list[dict[str, Any]]:
        return await tx.fetch("SELECT status, sent_at, attempts FROM outbox WHERE recipient = 'web3'")

    [sent] = await store.transaction(statuses)
    assert (sent["status"], sent["sent_at"], sent["attempts"]) == ("sent", now, 1)
