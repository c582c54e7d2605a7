"""The Rasa REST channel end to end: real app, real NLU, real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.conftest import app_settings

Client = TestClient[Any, Any]


@pytest.fixture
async def client(project_model: IntentModel, store: Store) -> AsyncIterator[Client]:
    async with TestClient(TestServer(build_app(app_settings(), project_model, store))) as test_client:
        yield test_client


async def say(client: Client, sender: str, message: Any, **extra: Any) -> list[dict[str, Any]]:
    response = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": message, **extra})
    assert response.status == 200, await response.text()
    body: list[dict[str, Any]] = await response.json()
    return body


async def test_answers_in_rasa_shape_with_buttons(client: Client) -> None:
    replies = await say(client, "anna", "jeg har faaet ny telefon hvordan flytter jeg mitid")
    assert replies and all(r["recipient_id"] == "anna" for r in replies)
    assert replies[-1]["buttons"] and all({"title", "payload"} == set(b) for b in replies[-1]["buttons"])
    assert all(b["payload"].startswith("/") for b in replies[-1]["buttons"])


async def test_button_payload_continues_the_flow(client: Client) -> None:
    first = await say(client, "bo", "hvordan bestiller jeg straffeattest")
    payload = first[-1]["buttons"][0]["payload"]
    second = await say(client, "bo", payload)
    assert second and second[-1]["text"] != first[-1]["text"]


@pytest.mark.parametrize("message", ["", "   ", "😀😀😀", "\x00\x01", "x" * 100_000, None])
async def test_odd_messages_get_a_clear_answer(client: Client, message: Any) -> None:
    replies = await say(client, "carl", message)
    assert replies and replies[0]["text"]


async def test_secret_is_refused_and_not_logged(client: Client, store: Store) -> None:
    replies = await say(client, "dina", "mit cpr er 010190-1234")
    assert "CPR" in replies[0]["text"]
    logged = await store.recent_turns("rest", "dina")
    assert logged[-1]["text"] == "mit cpr er [cpr-nummer]"


async def test_repeated_message_id_is_handled_once_and_answered_as_the_first_time(client: Client, store: Store) -> None:
    first = await say(client, "eva", "hvordan bestiller jeg straffeattest", message_id="m1")
    assert first[-1]["buttons"]
    again = await say(client, "eva", "hvordan bestiller jeg straffeattest", message_id="m1")
    assert again == first  # a retry after a lost answer shows the answer, its links and its buttons
    assert len(await store.recent_turns("rest", "eva")) == 1
    pressed = await say(client, "eva", first[-1]["buttons"][0]["payload"], message_id="m2")
    assert pressed[-1]["text"] != first[-1]["text"]  # the conversation went on once, from where it was
    assert await say(client, "eva", first[-1]["buttons"][0]["payload"], message_id="m2") == pressed
    assert len(await store.recent_turns("rest", "eva")) == 2


async def test_another_senders_message_id_gets_nothing_of_theirs(client: Client, store: Store) -> None:
    await say(client, "eva", "hvordan bestiller jeg straffeattest", message_id="shared")
    assert await say(client, "finn", "hej", message_id="shared") == []
    assert await store.recent_turns("rest", "finn") == []


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"{oops", 400), (b'{"message": "hej"}', 400), (b'{"sender": "x", "message": 5}', 400), (b"[]", 400)],
)
async def test_bad_requests(client: Client, body: bytes, status: int) -> None:
    response = await client.post("/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"})
    assert response.status == status


async def test_two_messages_at_once_are_handled_in_order(client: Client, store: Store) -> None:
    await asyncio.gather(say(client, "finn", "hvordan bestiller jeg straffeattest"), say(client, "finn", "tak"))
    logged = await store.recent_turns("rest", "finn")
    assert [t["intent"] for t in logged] == ["criminal_record", "thanks"]
