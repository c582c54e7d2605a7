"""Rate limits and timeouts, end to end on SQLite and PostgreSQL: a flooding sender is told kindly to slow
down while another is still answered; wrong API tokens pause the address, logged once; an account over its
pace gets 429; a request whose body never arrives, or a connection that sends half a head, is closed."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.config import LimitSettings, Settings
from bot.escalation import accounts
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from bot.web import guard
from tests.conftest import app_settings

Client = TestClient[Any, Any]
HOOK = "/webhooks/rest/webhook"
LIMITS = LimitSettings(
    sender_per_minute=1,
    sender_burst=3,
    account_per_minute=1,
    account_burst=5,
    token_max_failures=4,
    token_lock_minutes=5,
    body_timeout_seconds=0.5,
    keepalive_seconds=0.5,
)


def tight() -> Settings:
    return dataclasses.replace(app_settings(), limits=LIMITS)


@pytest.fixture
async def server(project_model: IntentModel, store: Store) -> AsyncIterator[TestServer]:
    settings = tight()
    test_server = TestServer(build_app(settings, project_model, store), host="127.0.0.1")
    await test_server.start_server(**guard.server_options(settings))
    try:
        yield test_server
    finally:
        await test_server.close()


@pytest.fixture
async def client(server: TestServer) -> AsyncIterator[Client]:
    async with TestClient(server) as test_client:
        yield test_client


async def test_a_flooding_sender_is_told_kindly_while_another_is_answered(client: Client, store: Store) -> None:
    statuses = []
    for _ in range(LIMITS.sender_burst + 3):
        response = await client.post(HOOK, json={"sender": "flood", "message": "hej"})
        statuses.append(response.status)
        body = await response.json()
    assert statuses[: LIMITS.sender_burst] == [200] * LIMITS.sender_burst
    assert statuses[LIMITS.sender_burst :] == [429] * 3
    assert body[0]["recipient_id"] == "flood"
    assert "Du skriver meget hurtigt" in body[0]["text"] and "You are writing very fast" in body[0]["text"]
    assert len(await store.recent_turns("rest", "flood", limit=50)) == LIMITS.sender_burst  # refused: not kept

    other = await client.post(HOOK, json={"sender": "calm", "message": "hej"})
    assert other.status == 200 and (await other.json())[0]["text"]


async def test_wrong_tokens_pause_the_address_and_are_logged_once(
    client: Client, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    _, token = await store.transaction(lambda tx: accounts.create_ementor(tx, "Mette", None, datetime.now(UTC)))
    caplog.set_level(logging.INFO)
    wrong = [f"wrong-token-{n}-secret" for n in range(30)]
    answers = await asyncio.gather(
        *(client.get("/api/ementor/me", headers={"Authorization": f"Bearer {w}"}) for w in wrong)
    )
    statuses = sorted(a.status for a in answers)
    assert statuses.count(401) == LIMITS.token_max_failures, statuses
    assert statuses.count(429) == len(wrong) - LIMITS.token_max_failures, statuses
    paused = await client.get("/api/ementor/me", headers={"Authorization": f"Bearer {token}"})
    assert paused.status == 429 and int(paused.headers["Retry-After"]) > 60  # even the right token, from here

    lines = [r.getMessage() for r in caplog.records if "wrong tokens" in r.getMessage()]
    assert len(lines) == 1, lines
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert "wrong-token" not in everything and token not in everything and "127.0.0.1" not in lines[0]


async def test_an_account_over_its_pace_gets_429(client: Client, store: Store) -> None:
    _, token = await store.transaction(lambda tx: accounts.create_ementor(tx, "Mette", None, datetime.now(UTC)))
    auth = {"Authorization": f"Bearer {token}"}
    statuses = [(await client.get("/api/ementor/me", headers=auth)).status for _ in range(LIMITS.account_burst + 2)]
    assert statuses == [200] * LIMITS.account_burst + [429] * 2
    _, other = await store.transaction(lambda tx: accounts.create_ementor(tx, "Anna", None, datetime.now(UTC)))
    assert (await client.get("/api/ementor/me", headers={"Authorization": f"Bearer {other}"})).status == 200


async def test_a_body_that_never_arrives_is_closed_after_the_timeout(server: TestServer) -> None:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(
        b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"sender": '
    )
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)  # read() returns once the server closes
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:60]


async def test_half_a_request_head_is_closed_after_the_keepalive(server: TestServer) -> None:
    connections = [await asyncio.open_connection(server.host, server.port) for _ in range(20)]
    for _, writer in connections:
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finished
        await writer.drain()
    closed = await asyncio.gather(*(asyncio.wait_for(reader.read(), 10) for reader, _ in connections))
    for _, writer in connections:
        writer.close()
    assert len(closed) == 20  # every read ended: the server closed each connection
