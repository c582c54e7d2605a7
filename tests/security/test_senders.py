"""Signed sender ids on the REST channel, end to end on SQLite and PostgreSQL: the server issues them, a
forged or unsigned `s-` id is refused, `channels.require_signed_sender` refuses every other id, and the key
part kept in the database is not enough to read a citizen's messages."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.config import ChannelSettings, Settings
from bot.core.messages import Outbound
from bot.delivery.outbox import enqueue
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.conftest import app_settings

Client = TestClient[Any, Any]
HOOK = "/webhooks/rest/webhook"
MESSAGES = "/webhooks/rest/messages"


def signed_only() -> Settings:
    return dataclasses.replace(app_settings(), channels=ChannelSettings(require_signed_sender=True))


@pytest.fixture
async def open_client(project_model: IntentModel, store: Store) -> AsyncIterator[Callable[..., Awaitable[Client]]]:
    clients: list[Client] = []

    async def make(settings: Settings | None = None) -> Client:
        client: Client = TestClient(TestServer(build_app(settings or app_settings(), project_model, store)))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


async def issued(client: Client) -> str:
    response = await client.post("/webhooks/rest/sender")
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    sender: str = (await response.json())["sender"]
    return sender


async def test_an_issued_id_is_answered_and_only_its_key_part_is_kept(
    open_client: Callable[..., Awaitable[Client]], store: Store
) -> None:
    client = await open_client()
    sender = await issued(client)
    key, signature = sender.split(".")
    assert key.startswith("s-") and len(key) == 34 and len(signature) == 32
    assert sender != await issued(client)

    response = await client.post(HOOK, json={"sender": sender, "message": "hej"})
    assert response.status == 200
    replies = await response.json()
    assert replies and all(r["recipient_id"] == sender for r in replies)
    turns = await store.recent_turns("rest", key)
    assert len(turns) == 1
    assert await store.recent_turns("rest", sender) == []


@pytest.mark.parametrize(
    "forged",
    [
        lambda s: s.split(".")[0],  # the key part alone, as read from the database
        lambda s: s.split(".")[0] + "." + "A" * 32,  # a made-up signature
        lambda s: s[:-1] + ("B" if s[-1] != "B" else "C"),  # one character changed
        lambda s: "s-" + "x" * 32 + "." + s.split(".")[1],  # someone else's signature
    ],
    ids=["key-only", "made-up", "one-changed", "other-signature"],
)
async def test_a_forged_or_unsigned_server_id_is_403(
    open_client: Callable[..., Awaitable[Client]], store: Store, forged: Callable[[str], str]
) -> None:
    client = await open_client()
    sender = await issued(client)
    assert (await client.post(HOOK, json={"sender": sender, "message": "hej"})).status == 200
    response = await client.post(HOOK, json={"sender": forged(sender), "message": "hej"})
    assert response.status == 403, await response.text()
    assert "POST /webhooks/rest/sender" in (await response.json())["message"]
    assert len(await store.recent_turns("rest", sender.split(".")[0])) == 1  # nothing added by the forger


async def test_the_key_part_alone_cannot_read_a_citizens_messages(
    open_client: Callable[..., Awaitable[Client]], store: Store
) -> None:
    client = await open_client()
    sender = await issued(client)
    key = sender.split(".")[0]
    now = datetime.now(UTC)
    waiting = Outbound("Hej, det er Mette. Din tid er torsdag kl. 10.30.")
    await store.transaction(lambda tx: enqueue(tx, "handover", "rest", key, [waiting], now, now))

    thief = await client.get(MESSAGES, params={"sender": key})
    assert thief.status == 403
    owner = await client.get(MESSAGES, params={"sender": sender})
    assert owner.status == 200
    assert [m["text"] for m in await owner.json()] == [waiting.text]


async def test_unsigned_ids_work_unless_signed_ones_are_required(
    open_client: Callable[..., Awaitable[Client]],
) -> None:
    default = await open_client()
    assert (await default.post(HOOK, json={"sender": "legacy-client-7", "message": "hej"})).status == 200
    assert (await default.get(MESSAGES, params={"sender": "legacy-client-7"})).status == 200

    strict = await open_client(signed_only())
    response = await strict.post(HOOK, json={"sender": "legacy-client-7", "message": "hej"})
    assert response.status == 403
    assert (await strict.get(MESSAGES, params={"sender": "legacy-client-7"})).status == 403
    sender = await issued(strict)
    response = await strict.post(HOOK, json={"sender": sender, "message": "hej"})
    assert response.status == 200 and (await response.json())[0]["text"]


async def test_two_app_instances_on_one_database_accept_each_others_ids(
    open_client: Callable[..., Awaitable[Client]],
) -> None:
    """Without EMENTOR_SENDER_SECRET the key is made once and kept in the database: every process agrees."""
    first, second = await open_client(signed_only()), await open_client(signed_only())
    sender = await issued(first)
    assert (await second.post(HOOK, json={"sender": sender, "message": "hej"})).status == 200


async def test_ids_signed_with_another_secret_are_refused(open_client: Callable[..., Awaitable[Client]]) -> None:
    ours = await open_client(dataclasses.replace(signed_only(), sender_secret="our secret of some length"))
    theirs = await open_client(dataclasses.replace(signed_only(), sender_secret="another secret entirely"))
    sender = await issued(theirs)
    assert (await ours.post(HOOK, json={"sender": sender, "message": "hej"})).status == 403
    assert (await theirs.post(HOOK, json={"sender": sender, "message": "hej"})).status == 200
