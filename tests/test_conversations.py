"""Scripted conversations (tests/conversations/*.yml) through the REST channel, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.config import Settings, load_settings
from bot.core.clock import COPENHAGEN, ManualClock
from bot.core.ports import Tx
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.conftest import ROOT, app_settings

MONDAY = datetime(2025, 12, 1, 8, 0, tzinfo=COPENHAGEN)  # every conversation happens on a Monday morning

SCRIPTS = sorted((Path(__file__).parent / "conversations").glob("*.yml"))
CONVERSATIONS = [c for path in SCRIPTS for c in yaml.safe_load(path.read_text("utf-8"))]


def settings_for(conversation: dict[str, Any]) -> Settings:
    """Without booking places (the flows answer), or with the shipped config.yml's (`booking: true`)."""
    if not conversation.get("booking"):
        return app_settings()
    shipped = load_settings(ROOT / "config.yml", environ={})
    return dataclasses.replace(app_settings(), booking=shipped.booking)


class Citizen:
    """A citizen talking to a real bot app; `restart` rebuilds the bot on the same database."""

    def __init__(self, model: IntentModel, store: Store, sender: str, settings: Settings) -> None:
        self.model, self.store, self.sender, self.settings = model, store, sender, settings
        self.client: TestClient[Any, Any] | None = None
        self.own_store: Store | None = None
        self.last: list[dict[str, Any]] = []
        self.clock = ManualClock(MONDAY)

    async def start(self) -> None:
        # a fresh Store on the same database: nothing is kept in the old app's memory
        store = self.own_store = Store(self.store.url, self.store.schema)
        self.client = TestClient(TestServer(build_app(self.settings, self.model, store, self.clock)))
        await self.client.start_server()

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
        if self.own_store is not None:  # the app does not close a store it was handed
            await self.own_store.close()

    async def send(self, message: str) -> None:
        assert self.client is not None
        response = await self.client.post("/webhooks/rest/webhook", json={"sender": self.sender, "message": message})
        assert response.status == 200
        self.last = await response.json()

    def press(self, title: str) -> str:
        offered = [b for r in self.last for b in r.get("buttons", [])]
        matches = [b["payload"] for b in offered if b["title"] == title]
        assert matches, f"no button {title!r} among {[b['title'] for b in offered]}"
        return str(matches[0])


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=[c["name"] for c in CONVERSATIONS])
async def test_conversation(conversation: dict[str, Any], project_model: IntentModel, store: Store) -> None:
    citizen = Citizen(project_model, store, "script", settings_for(conversation))
    await citizen.start()
    try:
        for number, turn in enumerate(conversation["turns"], 1):
            where = f"turn {number}: {turn}"
            if turn.get("restart_bot"):
                await citizen.stop()
                await citizen.start()
                continue
            await citizen.send(citizen.press(turn["button"]) if "button" in turn else turn["user"])
            logged = (await store.recent_turns("rest", "script", limit=1))[-1]
            if "intent" in turn:
                assert logged["intent"] == turn["intent"], where
            if "step" in turn:
                step = f"{logged['flow']}.{logged['step']}" if logged["flow"] else "none"
                assert step == turn["step"], where
            if "outcome" in turn:
                assert logged["outcome"] == turn["outcome"], where
            titles = [b["title"] for r in citizen.last for b in r.get("buttons", [])]
            for title in turn.get("buttons", []):
                assert title in titles, f"{where}: {title!r} not in {titles}"
            text = " ".join(r.get("text", "") for r in citizen.last)
            assert turn.get("says", "") in text, f"{where}: {text!r}"
            for absent in turn.get("not_says", []):
                assert absent not in text, f"{where}: {absent!r} in {text!r}"
            if "booked" in turn:
                assert await live_bookings(store) == turn["booked"], where
    finally:
        await citizen.stop()


async def live_bookings(store: Store) -> int:
    async def count(tx: Tx) -> int:
        rows = await tx.fetch("SELECT COUNT(*) AS n FROM bookings WHERE status = 'booked' AND sender = 'script'")
        return int(rows[0]["n"])

    return await store.transaction(count)
