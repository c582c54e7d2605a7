"""The socket.io channel as rasa-webchat uses it: a real socket.io client against the app served on
127.0.0.1, real NLU, real database (SQLite and PostgreSQL).

The client asks for an acknowledgement of each `user_uttered` (`call`): the server sends it after the
last `bot_uttered` of that message, on the same connection, so "no reply" is checked without waiting.
The widget itself never asks for one; the server's behaviour is the same either way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp.test_utils import TestServer

from bot.app import build_app
from bot.channels.socketio import to_webchat
from bot.config import Settings, SocketIOSettings
from bot.core.messages import Button, File, Link, Outbound
from bot.core.ports import StorageUnavailable
from bot.nlu.backends import BuiltinBackend
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.booking.helpers import Clock, booking_settings
from tests.conftest import app_settings

MITID_NEW_PHONE = "jeg har faaet ny telefon hvordan flytter jeg mitid"
CRIMINAL_RECORD = "hvordan bestiller jeg straffeattest"
SIGNED = re.compile(r"s-[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{32}")


def kept_under(session_id: str) -> str:
    """The key a signed session's conversation is stored under: its unsigned part."""
    return session_id.split(".")[0]


TIMEOUT = 20


async def serve(settings: Settings, model: IntentModel, store: Store) -> TestServer:
    server = TestServer(build_app(settings, model, store), host="127.0.0.1")
    await server.start_server()
    return server


@pytest.fixture
async def url(project_model: IntentModel, store: Store) -> AsyncIterator[str]:
    server = await serve(app_settings(), project_model, store)
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


class Webchat:
    """A socket.io client that does what rasa-webchat does and records every event it is sent."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.session_id = ""
        for name in ("session_confirm", "bot_uttered"):
            self.sio.on(name, self.recorder(name))

    def recorder(self, name: str) -> Any:
        async def record(data: Any = None) -> None:
            await self.events.put((name, data))

        return record

    async def connect(self, url: str, transports: list[str] | None = None) -> Webchat:
        await self.sio.connect(url, transports=transports, wait_timeout=TIMEOUT)
        return self

    async def next_event(self) -> tuple[str, Any]:
        return await asyncio.wait_for(self.events.get(), TIMEOUT)

    def pending(self) -> list[tuple[str, Any]]:
        out = []
        while not self.events.empty():
            out.append(self.events.get_nowait())
        return out

    async def request_session(self, data: Any = None) -> str:
        await self.sio.emit("session_request", data)
        event, session_id = await self.next_event()
        assert event == "session_confirm"
        assert isinstance(session_id, str)
        self.session_id = session_id
        return session_id

    async def utter(self, data: Any) -> list[tuple[str, Any]]:
        """Send `user_uttered` as it is; every event the server sent in answer."""
        await self.sio.call("user_uttered", data, timeout=TIMEOUT)
        return self.pending()

    async def say(self, message: Any, session_id: str | None = None) -> list[dict[str, Any]]:
        data = {"message": message, "customData": {"language": "da"}, "session_id": session_id or self.session_id}
        events = await self.utter(data)
        assert events and all(name == "bot_uttered" for name, _ in events), events
        return [payload for _, payload in events]

    async def close(self) -> None:
        if not self.sio.connected:
            return
        if self.sio.transport() == "polling":
            # python-engineio's client waits ~30 s for its pending long-poll to end; a browser aborts it.
            await self.sio.eio.disconnect(abort=True)
        else:
            await self.sio.disconnect()


@pytest.fixture
async def clients() -> AsyncIterator[list[Webchat]]:
    opened: list[Webchat] = []
    yield opened
    for client in opened:
        await client.close()


@pytest.fixture
def webchat(url: str, clients: list[Webchat]) -> Any:
    async def open_client(transports: list[str] | None = None) -> Webchat:
        client = Webchat()
        clients.append(client)
        return await client.connect(url, transports)

    return open_client


def assert_webchat_shape(message: dict[str, Any]) -> None:
    """What rasa-webchat shows: {text} or {text, quick_replies}; anything else it drops silently."""
    assert set(message) in ({"text"}, {"text", "quick_replies"}), message
    assert isinstance(message["text"], str) and message["text"]
    for reply in message.get("quick_replies", []):
        assert set(reply) == {"content_type", "title", "payload"} and reply["content_type"] == "text"


# ---- CORS on the engine.io handshake --------------------------------------------------------------


async def handshake(url: str, origin: str, method: str = "GET") -> tuple[int, dict[str, str], str]:
    headers = {"Origin": origin}
    if method == "OPTIONS":
        headers["Access-Control-Request-Method"] = "GET"
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{url}/socket.io/?EIO=4&transport=polling", headers=headers) as response,
    ):
        return response.status, dict(response.headers), await response.text()


async def test_polling_handshake_allows_only_the_bots_own_site_by_default(url: str) -> None:
    status, headers, body = await handshake(url, url)
    assert status == 200 and body.startswith("0{") and '"sid"' in body
    assert "Access-Control-Allow-Credentials" not in headers
    status, headers, _ = await handshake(url, "https://www.kk.dk")
    assert status == 400 and "Access-Control-Allow-Origin" not in headers
    status, headers, _ = await handshake(url, "https://www.kk.dk", "OPTIONS")
    assert "Access-Control-Allow-Origin" not in headers


async def test_polling_handshake_allows_any_page_with_a_star(project_model: IntentModel, store: Store) -> None:
    server = await serve(dataclasses.replace(app_settings(), socketio=SocketIOSettings("*")), project_model, store)
    try:
        status, headers, _ = await handshake(f"http://127.0.0.1:{server.port}", "https://www.kk.dk")
        assert status == 200 and headers["Access-Control-Allow-Origin"] == "https://www.kk.dk"
        assert "Access-Control-Allow-Credentials" not in headers
    finally:
        await server.close()


async def test_polling_handshake_only_for_configured_origins(project_model: IntentModel, store: Store) -> None:
    settings = dataclasses.replace(
        app_settings(), socketio=SocketIOSettings("https://www.kk.dk, https://jobcenter.example.dk/")
    )
    server = await serve(settings, project_model, store)
    url = f"http://127.0.0.1:{server.port}"
    try:
        for allowed in ("https://www.kk.dk", "https://jobcenter.example.dk"):
            status, headers, _ = await handshake(url, allowed)
            assert status == 200 and headers["Access-Control-Allow-Origin"] == allowed
        status, headers, _ = await handshake(url, "https://evil.example.com")
        assert status == 400 and "Access-Control-Allow-Origin" not in headers
    finally:
        await server.close()


# ---- session_request / session_confirm ------------------------------------------------------------


async def test_session_request_is_confirmed_with_the_same_id(webchat: Any) -> None:
    client = await webchat()
    assert await client.request_session({"session_id": "0f3c9a6e2b7d4e1f8a5c3b2d1e0f9a8b"}) == (
        "0f3c9a6e2b7d4e1f8a5c3b2d1e0f9a8b"
    )
    assert client.pending() == []


NO_USABLE_SESSION_ID = [None, {}, {"session_id": None}, {"session_id": ""}, {"session_id": "has spaces"},
                        {"session_id": 42}, {"session_id": "x" * 200}, {"session_id": ["a"]}, "a string", [1, 2],
                        b"\x00\xffbinary"]  # fmt: skip


async def test_session_request_without_a_usable_id_gets_a_new_one(webchat: Any) -> None:
    client = await webchat()
    confirmed = [await client.request_session(data) for data in NO_USABLE_SESSION_ID]
    assert all(SIGNED.fullmatch(session_id) for session_id in confirmed), confirmed
    assert len(set(confirmed)) == len(confirmed)
    assert client.pending() == []


# ---- user_uttered / bot_uttered -------------------------------------------------------------------


@pytest.mark.parametrize("transports", [None, ["polling"]])
async def test_message_is_answered_in_the_shape_the_widget_shows(
    webchat: Any, store: Store, transports: list[str] | None
) -> None:
    client = await webchat(transports)
    session_id = await client.request_session({"session_id": None})
    replies = await client.say(MITID_NEW_PHONE)
    for reply in replies:
        assert_webchat_shape(reply)
    buttons = replies[-1]["quick_replies"]
    assert buttons and all(b["payload"].startswith("/") and b["title"] for b in buttons)
    turns = await store.recent_turns("socketio", kept_under(session_id))
    assert [t["intent"] for t in turns] == ["mitid_new_phone"]


async def test_quick_reply_payload_continues_the_flow(webchat: Any) -> None:
    client = await webchat()
    await client.request_session()
    first = await client.say(CRIMINAL_RECORD)
    second = await client.say(first[-1]["quick_replies"][0]["payload"])
    assert second and second[-1]["text"] != first[-1]["text"]
    for reply in second:
        assert_webchat_shape(reply)


async def test_links_are_written_into_the_text(webchat: Any) -> None:
    client = await webchat()
    await client.request_session()
    replies = await client.say("hvordan faar jeg mitid")
    choice = next(r for r in replies[-1]["quick_replies"] if "pas og smartphone" in r["title"])
    replies = await client.say(choice["payload"])
    with_link = [r for r in replies if "https://" in r["text"]]
    assert with_link, replies
    for reply in replies:
        assert_webchat_shape(reply)


@pytest.mark.parametrize(
    "data",
    [{"message": None}, {}, {"message": ""}, {"message": None, "customData": {"language": "da"}}],
    ids=["null", "no-message-key", "empty", "null-with-customData"],
)
async def test_initial_message_without_payload_is_not_answered(webchat: Any, store: Store, data: Any) -> None:
    client = await webchat()
    session_id = await client.request_session()
    assert await client.utter({**data, "session_id": session_id}) == []
    assert await store.recent_turns("socketio", kept_under(session_id)) == []
    assert await client.say("hej")


async def test_init_payload_greeting_is_answered(webchat: Any) -> None:
    """A site that wants the bot to greet first sets the widget's initPayload to "/greet"."""
    client = await webchat()
    await client.request_session()
    replies = await client.say("/greet")
    assert replies and all(set(r) <= {"text", "quick_replies"} for r in replies)


async def test_messages_sent_at_once_are_answered_in_order(webchat: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = await webchat(), await webchat()
    await one.request_session()
    expected = await one.say(CRIMINAL_RECORD) + await one.say("tak")

    # The first message now takes the NLU longer to understand, as a remote Rasa server may.
    parse = BuiltinBackend.parse

    async def slow_first(self: BuiltinBackend, text: str) -> dict[str, Any]:
        if text == CRIMINAL_RECORD:
            await asyncio.sleep(0.3)
        return await parse(self, text)

    monkeypatch.setattr(BuiltinBackend, "parse", slow_first)
    await two.request_session()
    data = [{"message": m, "session_id": two.session_id} for m in (CRIMINAL_RECORD, "tak")]
    await asyncio.gather(*(two.sio.call("user_uttered", d, timeout=TIMEOUT) for d in data))
    assert [payload for _, payload in two.pending()] == expected


async def test_database_away_gets_a_kind_answer(webchat: Any, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    async def away(*args: Any, **kwargs: Any) -> Any:
        raise StorageUnavailable("down")

    monkeypatch.setattr(store, "turn", away)
    client = await webchat()
    await client.request_session()
    replies = await client.say("hej")
    assert len(replies) == 1 and set(replies[0]) == {"text"}
    assert "teknisk problem" in replies[0]["text"] and "technical problem" in replies[0]["text"]


# ---- rooms: replies reach every connection of the session, and only those -------------------------


async def test_reply_reaches_a_client_that_reconnected_to_its_session(webchat: Any, store: Store) -> None:
    first = await webchat()
    session_id = await first.request_session()
    await first.say(CRIMINAL_RECORD)
    await first.close()

    again = await webchat()
    assert await again.request_session({"session_id": session_id}) == session_id
    replies = await again.say("tak")
    assert replies and all(set(r) <= {"text", "quick_replies"} for r in replies)
    turns = await store.recent_turns("socketio", kept_under(session_id))
    assert [t["intent"] for t in turns] == ["criminal_record", "thanks"]


async def test_confirming_a_session_joins_its_room(webchat: Any) -> None:
    """The connection that only asked for the session gets the replies too: enter_room was awaited."""
    writer, reader, stranger = await webchat(), await webchat(), await webchat()
    session_id = await writer.request_session()
    assert await reader.request_session({"session_id": session_id}) == session_id
    await stranger.request_session()

    replies = await writer.say(MITID_NEW_PHONE)
    received = [await reader.next_event() for _ in replies]
    assert received == [("bot_uttered", reply) for reply in replies]
    # Anything sent to the stranger would arrive before the replies to its own message.
    own = await stranger.say("tak")
    assert all(reply not in replies for reply in own)


async def test_message_with_a_session_id_but_no_session_request_is_answered(webchat: Any, store: Store) -> None:
    client = await webchat()
    replies = await client.say("hej", session_id="4a1e0c2f9b8d4c7e")
    assert replies
    assert len(await store.recent_turns("socketio", "4a1e0c2f9b8d4c7e")) == 1
    anonymous = await webchat()
    assert (await anonymous.utter({"message": "hej"}))[0][0] == "bot_uttered"


# ---- bad input ------------------------------------------------------------------------------------


BAD_INPUT = ["just text", 42, None, [1, 2], b"\x00\x01\xfe binary", {"message": b"\x89PNG\r\n"}, {"message": 5},
             {"message": {"text": "hej"}}, {"message": ["hej"]}, {"message": True}]  # fmt: skip


async def test_bad_input_gets_no_answer_and_breaks_nothing(webchat: Any) -> None:
    client = await webchat()
    await client.request_session()
    for data in BAD_INPUT:
        assert await client.utter(data) == [], data
    assert await client.say("hej")


async def test_long_message_is_answered(webchat: Any) -> None:
    client = await webchat()
    await client.request_session()
    replies = await client.say("hvordan bestiller jeg straffeattest " * 600)
    assert replies and replies[0]["text"]


async def test_huge_message_ends_only_that_connection(webchat: Any) -> None:
    client = await webchat()
    session_id = await client.request_session()
    await client.sio.emit("user_uttered", {"message": "x" * 200_000, "session_id": session_id})
    await asyncio.wait_for(client.sio.wait(), TIMEOUT)
    assert not client.sio.connected
    again = await webchat()
    assert await again.request_session({"session_id": session_id}) == session_id
    assert await again.say("hej")


# ---- the payloads, for every kind of bot message ---------------------------------------------------


def test_to_webchat_emits_only_shapes_the_widget_shows() -> None:
    messages = [
        Outbound("Vælg", buttons=(Button("Ja", "/affirm"),), links=(Link("MitID", "https://mitid.dk"),)),
        Outbound("Se billedet", image="https://example.dk/a.png"),
        Outbound("Her er filen", file=File("https://example.dk/a.pdf", "a.pdf")),
        Outbound("Gem tiden", (Button("Mine tider", "/my_bookings"),), file=File("calendar/K.ics", "tid.ics")),
    ]
    assert to_webchat(messages, "https://chat.example.dk/") == [
        {
            "text": "Vælg\n\nMitID: https://mitid.dk",
            "quick_replies": [{"content_type": "text", "title": "Ja", "payload": "/affirm"}],
        },
        {"attachment": {"type": "image", "payload": {"src": "https://example.dk/a.png"}}},
        {"text": "Se billedet"},
        {"text": "Her er filen\n\na.pdf: https://example.dk/a.pdf"},
        {  # the file's link in the text, the quick replies kept on the last message
            "text": "Gem tiden\n\ntid.ics: https://chat.example.dk/calendar/K.ics",
            "quick_replies": [{"content_type": "text", "title": "Mine tider", "payload": "/my_bookings"}],
        },
    ]


async def test_booking_through_the_widget_ends_with_the_calendar_link(project_model: IntentModel, store: Store) -> None:
    server = TestServer(build_app(booking_settings(), project_model, store, Clock()), host="127.0.0.1")
    await server.start_server()
    client = Webchat()
    try:
        await client.connect(f"http://127.0.0.1:{server.port}")
        await client.request_session()
        places = await client.say("/book_ementor")
        lab = next(r["payload"] for r in places[-1]["quick_replies"] if "Testvej" in r["title"])
        times = await client.say(lab)
        ask = await client.say(times[-1]["quick_replies"][0]["payload"])
        assert ask[-1]["text"].startswith("Vil du booke i dag, mandag den 1. december kl. 9.00")
        await client.say(ask[-1]["quick_replies"][0]["payload"])  # Ja, book tiden
        await client.say("/skip")  # no first name
        booked = await client.say("/skip")  # no phone number
        for reply in booked:
            assert_webchat_shape(reply)
        said = "\n".join(r["text"] for r in booked)
        assert "Din tid er booket" in said and "Reference:" in said
        assert re.search(r"http://127\.0\.0\.1:8080/calendar/[A-Za-z0-9_-]+\.ics", said)  # the file as a link
        assert [r["title"] for r in booked[-1]["quick_replies"]] == ["Mine tider", "Aflys eller flyt"]
    finally:
        await client.close()  # before the server, which otherwise waits for the open connection
        await server.close()
