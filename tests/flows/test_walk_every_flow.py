"""Every flow, in both languages, walked through the REST channel by pressing its buttons to an end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.nlu.catalogue import catalogue
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.conftest import app_settings

MAX_TURNS = 15
ENDINGS = {"solved", "escalated", "menu", "language", "goodbye", "erased"}


@pytest.fixture
async def client(project_model: IntentModel, store: Store) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(build_app(app_settings(), project_model, store))) as test_client:
        yield test_client


@pytest.mark.parametrize("language", ["da", "en"])
async def test_every_flow_reaches_an_end(client: TestClient[Any, Any], store: Store, language: str) -> None:
    for intent in catalogue():
        sender = f"walk-{intent}-{language}"
        await client.post(
            "/webhooks/rest/webhook", json={"sender": sender, "message": f'/change_language{{"language":"{language}"}}'}
        )
        message = f"/{intent}"
        for _ in range(MAX_TURNS):
            response = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": message})
            replies = await response.json()
            assert response.status == 200 and replies and all(r["text"].strip() for r in replies), intent
            logged = (await store.recent_turns("rest", sender, limit=1))[-1]
            if intent != "change_language":  # that flow switches language by design
                assert logged["language"] == language
            buttons = replies[-1].get("buttons", [])
            if logged["flow"] is None and logged["outcome"] in ENDINGS:
                break
            # outside a flow only a handler's own question (e.g. "delete everything?") may go on, by its buttons
            assert logged["flow"] is not None or buttons, (intent, logged)
            assert buttons, f"{intent}: step {logged['step']} offers no way on"
            message = buttons[0]["payload"]
        else:
            pytest.fail(f"{intent} ({language}) did not end within {MAX_TURNS} turns")
