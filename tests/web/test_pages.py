"""The web pages are served from the package, with no external resources (no CDN) and a strict policy."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.conftest import app_settings

Client = TestClient[Any, Any]
EXTERNAL = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?(?:https?:)?//""", re.IGNORECASE)


@pytest.fixture
async def client(project_model: IntentModel, store: Store) -> AsyncIterator[Client]:
    async with TestClient(TestServer(build_app(app_settings(), project_model, store))) as test_client:
        yield test_client


async def test_chat_page_and_its_files_are_served_without_external_resources(client: Client) -> None:
    page = await client.get("/")
    html = await page.text()
    assert page.status == 200 and page.content_type == "text/html"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "webhooks" not in html and 'id="input"' in html
    for path, kind in [("/static/chat.js", "javascript"), ("/static/chat.css", "text/css")]:
        assert path.lstrip("/") in html
        response = await client.get(path)
        assert response.status == 200 and kind in response.content_type
        assert not EXTERNAL.search(await response.text()), f"{path} loads something from another site"
    assert not EXTERNAL.search(html)


async def test_nlu_tryout_is_still_reachable(client: Client) -> None:
    response = await client.get("/nlu")
    assert response.status == 200 and "/model/parse" in await response.text()


async def test_only_the_static_folder_is_served(client: Client) -> None:
    assert (await client.get("/static/../pages.py")).status in (403, 404)
    assert (await client.get("/static/nope.js")).status == 404
