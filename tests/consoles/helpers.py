"""Shared by the console tests: an app with a hand-set clock, console logins, and logging in as a browser does."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.config import Settings
from bot.consoles.auth import hash_password
from bot.core.clock import ManualClock
from bot.escalation import accounts
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.conftest import app_settings

Client = TestClient[Any, Any]
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # Thursday 3 December 2026, 10.00 in Copenhagen
PASSWORD = "rigtig-hemmelig-42"
_META = re.compile(r'<meta name="csrf" content="([^"]*)">')
_LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')


@asynccontextmanager
async def console_client(
    model: IntentModel, store: Store, clock: ManualClock, settings: Settings | None = None
) -> AsyncIterator[Client]:
    app = build_app(settings or app_settings(), model, store, clock)
    async with TestClient(TestServer(app)) as client:
        yield client


async def add_user(store: Store, username: str, role: str = "ementor", name: str | None = None) -> int:
    hashed = hash_password(PASSWORD)

    async def work(tx: Any) -> int:
        account_id, _ = await accounts.create_ementor(tx, name or username.capitalize(), None, NOW)
        await accounts.set_login(tx, account_id, username, role, hashed)
        return account_id

    result: int = await store.transaction(work)
    return result


async def login(client: Client, username: str, password: str = PASSWORD, **headers: str) -> Any:
    """Open the login page and send the form, as a browser does (the page's own CSRF token with it)."""
    form = await client.get("/login")
    token = _LOGIN_CSRF.search(await form.text())
    assert token is not None
    return await client.post(
        "/login",
        data={"login_csrf": token.group(1), "username": username, "password": password, "next": "/ementor/"},
        allow_redirects=False,
        headers=headers,
    )


async def logged_in(client: Client, username: str) -> str:
    """Log in and return the session's CSRF token (as a page carries it)."""
    response = await login(client, username)
    assert response.status == 303, await response.text()
    page = await client.get("/ementor/queue")
    assert page.status == 200
    found = _META.search(await page.text())
    assert found is not None and found.group(1)
    return found.group(1)


@asynccontextmanager
async def another_browser(client: Client) -> AsyncIterator[Any]:
    """A second browser (its own cookies) on the same server: a colleague at another desk."""
    import aiohttp

    async with aiohttp.ClientSession(
        base_url=str(client.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as session:
        yield session
