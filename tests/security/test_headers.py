"""Security headers on every kind of answer: the chat page, the NLU try-out, the console's login, a JSON API,
a static file and an error; HSTS only when the request came over https (directly, or through a trusted
proxy that says so)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.config import ConsoleSettings, Settings
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.conftest import app_settings

Client = TestClient[Any, Any]
PATHS = ["/", "/nlu", "/login", "/api/ementor/me", "/static/chat.js", "/model/parse", "/no/such/page"]


async def open_client(settings: Settings, model: IntentModel, store: Store) -> Client:
    client: Client = TestClient(TestServer(build_app(settings, model, store)))
    await client.start_server()
    return client


@pytest.fixture
async def client(project_model: IntentModel, store: Store) -> AsyncIterator[Client]:
    test_client = await open_client(app_settings(), project_model, store)
    yield test_client
    await test_client.close()


@pytest.mark.parametrize("path", PATHS)
async def test_every_answer_carries_the_security_headers(client: Client, path: str) -> None:
    response = await client.get(path)
    await response.read()
    headers = response.headers
    policy = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "default-src 'none'" in policy and "frame-ancestors" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] in ("DENY", "SAMEORIGIN")
    assert "Strict-Transport-Security" not in headers  # plain http


async def test_pages_that_may_not_be_framed_say_so(client: Client) -> None:
    for path in ("/nlu", "/login"):
        response = await client.get(path)
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    chat = await client.get("/")  # the chat may be framed by its own site, nobody else's
    assert chat.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in chat.headers["Content-Security-Policy"]


async def test_hsts_only_when_a_trusted_proxy_says_https(
    client: Client, project_model: IntentModel, store: Store
) -> None:
    spoofed = await client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in spoofed.headers  # no trusted proxy: the header is anyone's

    trusting = dataclasses.replace(app_settings(), console=ConsoleSettings(trust_forwarded_for=True))
    proxied = await open_client(trusting, project_model, store)
    try:
        for path in ("/", "/api/ementor/me", "/static/chat.css"):
            response = await proxied.get(path, headers={"X-Forwarded-Proto": "https"})
            assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        plain = await proxied.get("/", headers={"X-Forwarded-Proto": "http"})
        assert "Strict-Transport-Security" not in plain.headers
    finally:
        await proxied.close()
