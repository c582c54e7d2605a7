"""Booking test kit: small booking settings, a clock the test moves, REST talk, rows straight from the DB."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from aiohttp.test_utils import TestClient

from bot.config import BookingSettings, LocationSettings, Settings, WeekHours, WorkshopSettings
from bot.core.clock import COPENHAGEN
from bot.core.payloads import format_payload
from bot.core.ports import Tx
from bot.core.text import Text
from bot.storage.store import Store
from tests.conftest import app_settings

Client = TestClient[Any, Any]
# a Monday morning (the store stamps each turn with the dispatcher's clock)
NOW = datetime(2025, 12, 1, 8, 0, tzinfo=COPENHAGEN)
WEEKDAYS = WeekHours(*(["9.00-12.00"] * 5))
LAB = LocationSettings(
    "lab",
    Text("Digitalt værksted, Testvej", "Digital workshop, Testvej"),
    address="Jobcenter, Testvej",
    map_url="https://www.google.com/maps/search/?api=1&query=Jobcenter+Testvej",
    bring=Text("din telefon med MitID-appen og oplader", "your phone with the MitID app and charger"),
    hours=WEEKDAYS,
    places=1,
)
PHONE = LocationSettings("phone", Text("eMentor ringer dig op", "An eMentor calls you"), kind="phone", hours=WEEKDAYS)
JOBNET = WorkshopSettings(
    "jobnet", Text("Kom godt i gang med Jobnet", "Getting started with Jobnet"), "lab", places=2, weekday="wednesday"
)


def booking_settings(**overrides: Any) -> Settings:
    booking = BookingSettings(locations=(LAB, PHONE), workshops=(JOBNET,), **overrides)
    return dataclasses.replace(app_settings(), booking=booking)


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def slot_payload(start: str, location: str = "lab", intent: str = "book_confirm") -> str:
    return format_payload(intent, location=location, start=start)


async def say(client: Client, sender: str, message: str) -> list[dict[str, Any]]:
    response = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": message})
    assert response.status == 200, await response.text()
    body: list[dict[str, Any]] = await response.json()
    return body


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def payloads(replies: list[dict[str, Any]]) -> list[str]:
    return [b["payload"] for r in replies for b in r.get("buttons", [])]


async def rows(store: Store, sql: str, **params: Any) -> list[dict[str, Any]]:
    async def run(tx: Tx) -> list[dict[str, Any]]:
        return await tx.fetch(sql, **params)

    return await store.transaction(run)


async def live(store: Store) -> list[dict[str, Any]]:
    return await rows(store, "SELECT * FROM bookings WHERE status IN ('held', 'booked') ORDER BY id")


async def book(client: Client, sender: str, start: str, location: str = "lab", phone: str = "") -> str:
    """Book through the chat, skipping the name (and giving `phone` when asked); the booking's reference."""
    await say(client, sender, slot_payload(start, location))
    await say(client, sender, "/skip")
    done = await say(client, sender, phone or "/skip")
    assert "Reference:" in texts(done), texts(done)
    return texts(done).split("Reference: ")[1].split()[0]
