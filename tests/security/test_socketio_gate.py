"""The socket.io channel's gate, on SQLite and PostgreSQL: only pages of the allowed origins connect, a
forged or key-only session id is never confirmed (nor answered), require_signed_sender refuses unsigned
ones, and one flooding session is told kindly to slow down while another is answered."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp.test_utils import TestServer

from bot.config import ChannelSettings, LimitSettings, Settings, SocketIOSettings
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.channels.test_socketio import SIGNED, Webchat, kept_under, serve
from tests.conftest import app_settings

Open = Callable[..., Awaitable[Webchat]]


@pytest.fixture
async def started(project_model: IntentModel, store: Store) -> AsyncIterator[Callable[[Settings], Awaitable[str]]]:
    servers: list[TestServer] = []

    async def start(settings: Settings) -> str:
        server = await serve(settings, project_model, store)
        servers.append(server)
        return f"http://127.0.0.1:{server.port}"

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def clients() -> AsyncIterator[list[Webchat]]:
    opened: list[Webchat] = []
    yield opened
    for client in opened:
        await client.close()


async def connect(clients: list[Webchat], url: str) -> Webchat:
    client = Webchat()
    clients.append(client)
    return await client.connect(url)


async def test_a_foreign_page_cannot_connect_and_the_allowed_one_can(
    started: Callable[[Settings], Awaitable[str]],
) -> None:
    """Over a websocket (the polling handshake's CORS answers: tests/channels/test_socketio.py)."""
    settings = dataclasses.replace(app_settings(), socketio=SocketIOSettings("self, https://www.kk.dk"))
    url = await started(settings)
    for origin, allowed in (("https://evil.example.com", False), ("https://www.kk.dk", True), (url, True)):
        client = socketio.AsyncClient(reconnection=False)
        try:
            await client.connect(url, headers={"Origin": origin}, transports=["websocket"], wait_timeout=10)
            connected = client.connected
        except socketio.exceptions.ConnectionError:
            connected = False
        finally:
            await client.disconnect()
        assert connected == allowed, origin


async def test_a_forged_or_key_only_session_is_never_confirmed_nor_answered(
    started: Callable[[Settings], Awaitable[str]], clients: list[Webchat], store: Store
) -> None:
    url = await started(app_settings())
    owner = await connect(clients, url)
    session = await owner.request_session()
    assert SIGNED.fullmatch(session)
    await owner.say("hej")

    key = kept_under(session)
    for forged in (key, key + "." + "A" * 32):
        thief = await connect(clients, url)
        confirmed = await thief.request_session({"session_id": forged})
        assert confirmed != forged and kept_under(confirmed) != key and SIGNED.fullmatch(confirmed)
        assert await thief.utter({"message": "hej", "session_id": forged}) == []
    assert len(await store.recent_turns("socketio", key)) == 1  # only the owner's own turn


async def test_require_signed_sender_gives_an_unsigned_session_a_new_signed_one(
    started: Callable[[Settings], Awaitable[str]], clients: list[Webchat], store: Store
) -> None:
    url = await started(dataclasses.replace(app_settings(), channels=ChannelSettings(require_signed_sender=True)))
    client = await connect(clients, url)
    confirmed = await client.request_session({"session_id": "0f3c9a6e2b7d4e1f8a5c3b2d1e0f9a8b"})
    assert SIGNED.fullmatch(confirmed)
    assert await client.utter({"message": "hej", "session_id": "0f3c9a6e2b7d4e1f8a5c3b2d1e0f9a8b"}) == []
    assert await client.say("hej")
    assert len(await store.recent_turns("socketio", kept_under(confirmed))) == 1


async def test_a_flooding_session_is_told_to_slow_down_while_another_is_answered(
    started: Callable[[Settings], Awaitable[str]], clients: list[Webchat], store: Store
) -> None:
    limits = LimitSettings(sender_per_minute=1, sender_burst=2)
    url = await started(dataclasses.replace(app_settings(), limits=limits))
    flood, calm = await connect(clients, url), await connect(clients, url)
    session = await flood.request_session()
    await calm.request_session()
    answers: list[list[dict[str, Any]]] = [await flood.say("hej") for _ in range(4)]
    assert all(len(a) >= 1 and "Du skriver meget hurtigt" not in a[0]["text"] for a in answers[:2])
    for answer in answers[2:]:
        assert answer == [{"text": answer[0]["text"]}]
        assert "Du skriver meget hurtigt" in answer[0]["text"] and "You are writing very fast" in answer[0]["text"]
    assert len(await store.recent_turns("socketio", kept_under(session))) == 2
    assert "Du skriver meget hurtigt" not in (await calm.say("hej"))[0]["text"]


@pytest.mark.parametrize(
    "packet",
    ['42["user_uttered"', '4{"not": "a packet"}', "42" + "[" * 2000, '42["session_request",{"session_id":"\\ud800"}]',
     "9garbage", "4-1[]"],
)  # fmt: skip
async def test_a_broken_packet_is_dropped_with_at_most_one_line_and_the_chat_goes_on(
    started: Callable[[Settings], Awaitable[str]],
    clients: list[Webchat],
    caplog: pytest.LogCaptureFixture,
    packet: str,
) -> None:
    url = await started(app_settings())
    caplog.set_level(logging.DEBUG)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/socket.io/?EIO=4&transport=polling") as opened:
            sid = json.loads((await opened.text())[1:])["sid"]
        base = f"{url}/socket.io/?EIO=4&transport=polling&sid={sid}"
        async with http.post(base, data="40") as connected:
            assert connected.status == 200
        async with http.post(base, data=packet + " 010190-1234") as sent:
            assert sent.status < 500
    lines = [r for r in caplog.records if r.name.split(".")[0] in ("socketio", "engineio")]
    assert len(lines) <= 1, [r.getMessage() for r in lines]
    for record in caplog.records:
        assert record.exc_info is None or record.name.split(".")[0] not in ("socketio", "engineio")
        assert "010190" not in record.getMessage() + (record.exc_text or "")
    client = await connect(clients, url)
    await client.request_session()
    assert await client.say("hej")
