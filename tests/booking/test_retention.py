"""Retention (bot/privacy/retention.py) on SQLite and PostgreSQL: a conversation, a hand-over, an inbox item
and a call-back booking made through REST, then the job run as days pass on a ManualClock. Each kind of data
goes on its own day, and no earlier; the statistics' counts survive; a second run changes nothing."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from bot.config import PrivacySettings
from bot.core.clock import ManualClock
from bot.escalation import accounts
from bot.privacy.retention import RetentionJob, apply_retention
from bot.storage.store import Store
from tests.booking.helpers import NOW, Client, Clock, book, rows, say

SETTINGS = PrivacySettings()


async def counts(store: Store) -> dict[str, Any]:
    one = await rows(
        store,
        "SELECT (SELECT COUNT(*) FROM turns) AS turns,"
        " (SELECT COUNT(DISTINCT channel || ':' || sender) FROM turns) AS conversations,"
        " (SELECT COUNT(*) FROM turns WHERE text <> '') AS texts,"
        " (SELECT COUNT(*) FROM conversations) AS states,"
        " (SELECT COUNT(*) FROM handover_messages) AS handover_messages,"
        " (SELECT COUNT(*) FROM inbox_items) AS inbox_items,"
        " (SELECT COUNT(*) FROM outbox WHERE status = 'sent') AS sent,"
        " (SELECT COUNT(*) FROM outbox) AS outbox,"
        " (SELECT COUNT(*) FROM notices) AS notices,"
        " (SELECT COUNT(*) FROM bookings WHERE phone IS NOT NULL) AS phones",
    )
    return dict(one[0])


async def run(store: Store, clock: ManualClock) -> dict[str, int]:
    return await store.transaction(lambda tx: apply_retention(tx, SETTINGS, clock()))


async def test_each_kind_goes_on_its_day_and_a_second_run_changes_nothing(
    client: Client, store: Store, clock: Clock
) -> None:
    clock.now = NOW + timedelta(hours=2)  # the eMentors are at work
    _, token = await store.transaction(lambda tx: accounts.create_ementor(tx, "Anna", None, clock.now))
    response = await client.post(
        "/api/ementor/presence", json={"online": True}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status == 200
    await book(client, "ret", "2025-12-02T10:00", location="phone", phone="22334455")
    await say(client, "ret", "hvordan laver jeg lasagne")  # not understood: an inbox item
    sent = {"sender": "ret", "message": "tak", "message_id": "m-1"}  # a message id: its reply is kept for a repeat
    assert (await client.post("/webhooks/rest/webhook", json=sent)).status == 200
    await say(client, "olga", "jeg vil tale med et menneske")
    await say(client, "olga", "min app virker ikke")  # kept for the eMentor
    await store.transaction(lambda tx: tx.execute("UPDATE outbox SET status = 'sent', sent_at = created_at"))
    start = await counts(store)
    assert start["phones"] == 1 and start["handover_messages"] >= 1 and start["inbox_items"] == 1
    assert start["sent"] >= 1 and start["notices"] >= 1 and start["texts"] == start["turns"] > 0

    days = ManualClock(NOW)
    assert set((await run(store, days)).values()) == {0}  # nothing is old yet

    days.advance(timedelta(days=1 + SETTINGS.booking_personal_days, hours=3))  # a week after the appointment
    assert (await run(store, days))["bookings"] == 1
    after_week = await counts(store)
    assert after_week == {**start, "phones": 0}
    assert (await rows(store, "SELECT name, phone, reference FROM bookings"))[0]["reference"]  # the booking stays

    days.advance(timedelta(days=SETTINGS.outbox_days - 8 + 1))
    assert (await run(store, days))["inbound_seen"] > 0  # the repeated-message record, with its reply
    assert (await counts(store))["sent"] == 0

    days.advance(timedelta(days=SETTINGS.handover_messages_days - SETTINGS.outbox_days))
    await run(store, days)
    month = await counts(store)
    assert (month["handover_messages"], month["notices"], month["inbox_items"]) == (0, 0, 1)

    days.advance(timedelta(days=SETTINGS.turns_days - SETTINGS.handover_messages_days))
    await run(store, days)
    end = await counts(store)
    assert (end["texts"], end["states"], end["inbox_items"]) == (0, 0, 0)
    assert (end["turns"], end["conversations"]) == (start["turns"], start["conversations"])  # statistics keep
    senders = {r["sender"] for r in await rows(store, "SELECT sender FROM turns")}
    assert senders.isdisjoint({"ret", "olga"}) and all(s.startswith("anon-") for s in senders)

    assert set((await run(store, days)).values()) == {0}  # idempotent: a second run (another process) is a no-op


async def test_the_job_works_at_most_once_per_interval(client: Client, store: Store, clock: Clock) -> None:
    await say(client, "ida", "hej")
    minutes = ManualClock(NOW + timedelta(days=SETTINGS.turns_days + 1))
    job = RetentionJob(dataclasses.replace(SETTINGS, retention_every_minutes=60))
    await store.transaction(lambda tx: job(tx, minutes()))
    clock.now = NOW + timedelta(days=1)
    await say(client, "ida", "hej igen")  # a new turn, old by the time the job looks again
    minutes.advance(timedelta(minutes=30))
    await store.transaction(lambda tx: job(tx, minutes()))
    assert (await counts(store))["texts"] == 1  # within the hour: not looked at again
    minutes.advance(timedelta(minutes=31))
    await store.transaction(lambda tx: job(tx, minutes()))
    assert (await counts(store))["texts"] == 0
