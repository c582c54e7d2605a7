"""What the eMentors' Telegram group is told of a booking: enough to prepare (topic, what was tried, where it
stopped working, a first name, the number to call for a call-back), and nothing of what the citizen wrote."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.config import HandoverSettings
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.booking.helpers import Client, Clock, booking_settings, payloads, rows, say, slot_payload

GROUP = -100555


@pytest.fixture
async def client(project_model: IntentModel, store: Store, clock: Clock) -> AsyncIterator[Client]:
    settings = dataclasses.replace(booking_settings(), handover=HandoverSettings(telegram_group_chat_id=GROUP))
    async with TestClient(TestServer(build_app(settings, project_model, store, clock))) as test_client:
        yield test_client


async def group_lines(store: Store) -> list[str]:
    found = await rows(store, "SELECT body FROM outbox WHERE recipient = :g ORDER BY id", g=str(GROUP))
    return [json.loads(r["body"])[0]["text"] for r in found]


async def stuck_in_a_flow(client: Client, sender: str) -> None:
    """The citizen asks about a locked MitID app and answers "Det virker ikke" until an eMentor is offered."""
    replies = await say(client, sender, "min mitid app er spærret, hvad gør jeg")
    for _ in range(12):
        if "/book_ementor" in payloads(replies):
            return
        options = payloads(replies)
        press = next((p for p in options if p.startswith(("/deny", "/next"))), None) or next(
            p for p in options if p.startswith("/choose")
        )
        replies = await say(client, sender, press)
    assert "/book_ementor" in payloads(replies), replies


async def test_a_booking_after_a_failed_flow_tells_the_group_what_to_prepare(client: Client, store: Store) -> None:
    await stuck_in_a_flow(client, "anna")
    await say(client, "anna", "/book_ementor")
    await say(client, "anna", slot_payload("2025-12-04T10:30"))
    await say(client, "anna", "Anna")
    await say(client, "anna", "20 30 40 50")
    [line] = await group_lines(store)
    assert line.startswith("📅 Ny booking") and "torsdag den 4. december kl. 10.30" in line
    # the steps in the bot's own words, each with the answer given: the eMentor sees what was tried
    assert "Sprog: dansk. Emne: MitID virker ikke. Prøvet: «Hvad er problemet?» → Jeg har glemt PIN-koden; " in line
    assert "«Det kræver et pas med chip. Har du det?» → Ja, et pas med chip; " in line
    assert "«Ring til MitID Support på 33 98 00 10» → det virkede ikke; " in line
    assert "Gik i stå ved: Ring til MitID Support på 33 98 00 10." in line  # the last step that did not work
    assert line.endswith(" Fornavn: Anna.") and "20304050" not in line  # not a call-back: no number
    assert "spærret" not in line  # never the citizen's words
    [notice] = await rows(store, "SELECT body FROM notices WHERE kind = 'booking'")
    body = json.loads(notice["body"])  # the feed says the same in words, in Copenhagen time
    assert body["topic_title"] == "MitID virker ikke" and body["starts_at"] == "2025-12-04T10:30:00+01:00"
    assert body["steps"][0] == {
        "id": "what_wrong", "text": "Hvad er problemet?", "answer": "Jeg har glemt PIN-koden", "outcome": "chose"
    }  # fmt: skip


async def test_a_call_back_booking_gives_the_group_the_number_to_call(client: Client, store: Store) -> None:
    await say(client, "bo", slot_payload("2025-12-02T10:00", "phone"))
    await say(client, "bo", "/skip")
    await say(client, "bo", "22 33 44 55")
    [line] = await group_lines(store)
    assert line.endswith("Emne: intet. Prøvet: intet. Gik i stå ved: intet. Ring til: 22334455.")
