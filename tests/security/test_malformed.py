"""Malformed requests against every JSON entry, on SQLite and PostgreSQL: each is a clear 4xx, never a 500,
and the bot still answers a citizen afterwards. A garbled raw HTTP request is logged in one line, without
the bytes it carried."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.config import Settings, TelegramSettings
from bot.consoles.auth import hash_password
from bot.core.ports import Tx
from bot.escalation import accounts
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from bot.web import guard
from tests.channels.fake_bot_api import TOKEN, FakeBotApi
from tests.conftest import app_settings

Client = TestClient[Any, Any]
SECRET = "webhook-Secret_123"
TELEGRAM = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
CPR_AND_CODE = b"010190-1234 adgangskoden er Hund1234"
NESTED = b"[" * 1000 + b"1" + b"]" * 1000


def settings_with_telegram(fake: FakeBotApi) -> Settings:
    return dataclasses.replace(
        app_settings(),
        telegram=TelegramSettings(base_url=fake.base_url),
        telegram_token=TOKEN,
        telegram_webhook_secret=SECRET,
    )


@pytest.fixture
async def server(project_model: IntentModel, store: Store, fake: FakeBotApi) -> AsyncIterator[TestServer]:
    settings = settings_with_telegram(fake)
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


async def tokens(store: Store) -> tuple[dict[str, str], dict[str, str]]:
    """Bearer headers of an eMentor and of an admin."""

    async def make(tx: Tx) -> tuple[str, str]:
        _, ementor = await accounts.create_ementor(tx, "Mette", None, datetime.now(UTC))
        admin_id, admin = await accounts.create_ementor(tx, "Admin", None, datetime.now(UTC))
        await accounts.set_login(tx, admin_id, "admin", "admin", hash_password("a long test password"))
        return ementor, admin

    ementor, admin = await store.transaction(make)
    return {"Authorization": f"Bearer {ementor}"}, {"Authorization": f"Bearer {admin}"}


def telegram_update(text: Any = "hej", chat_id: Any = 4242) -> dict[str, Any]:
    chat = {"id": chat_id, "type": "private", "first_name": "Anna"}
    sender = {"id": chat_id, "is_bot": False, "first_name": "Anna"}
    return {"update_id": 7, "message": {"message_id": 1, "date": 0, "chat": chat, "from": sender, "text": text}}


def raw(value: Any) -> bytes:
    """As a client would send it: json.dumps escapes a lone surrogate as \\ud800 and NUL as \\u0000."""
    return json.dumps(value).encode("ascii")


Case = tuple[str, str, str, bytes | None, dict[str, str]]  # label, method, path (with query), body, headers


def body_cases(label: str, path: str, make: Callable[..., dict[str, Any]], fields: list[str],
               headers: dict[str, str]) -> list[Case]:  # fmt: skip
    """The malformed bodies every JSON entry is tried with; `make(**{field: value})` builds a body with one
    field replaced."""
    in_field = raw(make(**{fields[0]: "DEEP"})).replace(b'"DEEP"', NESTED)
    cases: list[Case] = [
        (f"{label}: JSON nested 1000 deep", "POST", path, b"[" * 1000 + b"]" * 1000, headers),
        (f"{label}: object nested 1000 deep", "POST", path, b'{"a":' * 1000 + b"1" + b"}" * 1000, headers),
        (f"{label}: nested 1000 deep in a field", "POST", path, in_field, headers),
        (f"{label}: not UTF-8", "POST", path, b'{"text": "\xff\xfe\xc3"}', headers),
        (f"{label}: huge body", "POST", path, b'{"text": "' + b"a" * 400_000 + b'"}', headers),
    ]
    for name in fields:
        cases.append((f"{label}: lone surrogate in {name}", "POST", path, raw(make(**{name: "a\ud800b"})), headers))
    return cases


def all_cases(ementor: dict[str, str], admin: dict[str, str]) -> list[Case]:
    def rest(**over: Any) -> dict[str, Any]:
        return {"sender": "mal-1", "message": "hej", "message_id": "m-1", **over}

    def parse(**over: Any) -> dict[str, Any]:
        return {"text": "hej", **over}

    def telegram(**over: Any) -> dict[str, Any]:
        return telegram_update(**over)

    def block(**over: Any) -> dict[str, Any]:
        return {"location": "gammel-koege-landevej", "starts_at": "2030-01-01T10:00", "ends_at": "2030-01-01T11:00",
                "reason": "kursus", **over}  # fmt: skip

    def message(**over: Any) -> dict[str, Any]:
        return {"text": "hej", **over}

    def phrase(**over: Any) -> dict[str, Any]:
        return {"intent": "greet", "language": "da", "text": "goddag", **over}

    hook = "/webhooks/rest/webhook"
    cases = body_cases("REST", hook, rest, ["sender", "message_id", "message"], {})
    cases += [
        ("REST: NUL in sender", "POST", hook, raw(rest(sender="a\x00b")), {}),
        ("REST: NUL in message_id", "POST", hook, raw(rest(message_id="a\x00b")), {}),
        ("REST: message_id of 200 characters", "POST", hook, raw(rest(message_id="m" * 200)), {}),
        ("REST: sender of 200 characters", "POST", hook, raw(rest(sender="s" * 200)), {}),
        ("REST messages: ?sender=a%00b", "GET", "/webhooks/rest/messages?sender=a%00b", None, {}),
        ("REST messages: sender of 200", "GET", "/webhooks/rest/messages?sender=" + "s" * 200, None, {}),
    ]
    cases += body_cases("/model/parse", "/model/parse", parse, ["text"], {})
    cases += body_cases("Telegram", "/webhooks/telegram/webhook", telegram, ["text"], TELEGRAM)
    cases += body_cases("eMentor API blocks", "/api/ementor/blocks", block, ["reason", "location"], ementor)
    messages = "/api/ementor/handovers/1/messages"
    cases += body_cases("eMentor API message", messages, message, ["text"], ementor)
    cases += [
        ("eMentor API: NUL in a message", "POST", messages, raw(message(text="a\x00b")), ementor),
        ("eMentor API: NUL in a block's reason", "POST", "/api/ementor/blocks", raw(block(reason="a\x00b")), ementor),
    ]
    for moment in ("0001-01-01", "9999-12-31T23:59:59-23:59", "9999-12-31", "0001-01-01T00:00:00+23:59"):
        cases += [
            (f"eMentor API: bookings from {moment}", "GET", f"/api/ementor/bookings?from={moment}", None, ementor),
            (f"eMentor API: bookings to {moment}", "GET", f"/api/ementor/bookings?to={moment}", None, ementor),
            (
                f"eMentor API: block at {moment}",
                "POST",
                "/api/ementor/blocks",
                raw(block(starts_at=moment, ends_at="2030-01-01T11:00")),
                ementor,
            ),
            (
                f"eMentor API: block to {moment}",
                "POST",
                "/api/ementor/blocks",
                raw(block(starts_at="2030-01-01T10:00", ends_at=moment)),
                ementor,
            ),
            (f"admin API: stats from {moment}", "GET", f"/api/admin/stats?from={moment[:10]}", None, admin),
        ]
    cases += body_cases("admin API phrases", "/api/admin/phrases", phrase, ["text", "intent"], admin)
    cases += [("admin API: NUL in a phrase", "POST", "/api/admin/phrases", raw(phrase(text="a\x00b")), admin)]
    cases += [(f"query: NUL on {path}", "GET", f"{path}?lang=a%00b", None, ementor)
              for path in ("/api/ementor/me", "/api/admin/stats", "/nlu", "/")]  # fmt: skip
    return cases


async def test_malformed_requests_get_a_4xx_never_a_500(client: Client, store: Store, server: TestServer) -> None:
    ementor, admin = await tokens(store)
    cases = all_cases(ementor, admin)
    statuses: dict[str, int] = {}
    for label, method, path, body, headers in cases:
        sent = {**headers, "Content-Type": "application/json"} if body is not None else headers
        response = await client.request(method, path, data=body, headers=sent)
        await response.read()
        statuses[label] = response.status
    server_errors = {label: status for label, status in statuses.items() if status >= 500}
    not_refused = {label: status for label, status in statuses.items() if not 400 <= status < 500}
    database = "postgresql" if store.url.startswith("postgresql") else "sqlite"
    summary = f"{database}: {len(cases)} malformed requests tried, {len(server_errors)} answered 5xx"
    print(summary)
    assert not server_errors, f"{summary}: {server_errors}"
    assert not not_refused, f"{summary}; not refused: {not_refused}"

    # the bot still answers a citizen, and the eMentor API still works
    response = await client.post("/webhooks/rest/webhook", json={"sender": "after", "message": "hej"})
    assert response.status == 200 and (await response.json())[0]["text"]
    response = await client.get("/api/ementor/me", headers=ementor)
    assert response.status == 200


async def test_a_garbled_http_request_is_logged_in_one_line_without_its_bytes(
    server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    reader, writer = await asyncio.open_connection(server.host, server.port)
    garbage = b"GET /\x00" + CPR_AND_CODE + b" HTTP/1.1\r\nHost: x\r\nX-Note: " + CPR_AND_CODE + b"\r\n\x01\r\n\r\n"
    writer.write(garbage)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert answer.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400")), answer[:80]
    lines = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    record = lines[0]
    assert record.exc_info is None and "\n" not in record.getMessage()
    assert record.getMessage().startswith("malformed HTTP request refused")
    for logged in caplog.records:
        text = logged.getMessage() + (logged.exc_text or "")
        assert "010190" not in text and "Hund1234" not in text, text
