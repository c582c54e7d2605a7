"""The delivery worker on SQLite and PostgreSQL: every due message sent once, even with two workers on two
bot processes' stores; none sent early; a failed send retried, then given up and visible."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.config import DeliverySettings
from bot.delivery.outbox import count_by_status, list_deliveries
from bot.delivery.sender import PermanentFailure, Unreachable
from bot.delivery.worker import DeliveryWorker
from bot.storage.store import Store
from tests.delivery.helpers import START, Clock, Recording, put, row

SETTINGS = DeliverySettings(poll_seconds=0.05, max_attempts=3, retry_seconds=10)


@pytest.fixture
async def second_store(database: tuple[str, str | None]) -> AsyncIterator[Store]:
    """Another bot process's store on the same database."""
    url, schema = database
    other = Store(url, schema)
    yield other
    await other.close()


async def test_two_workers_send_every_due_message_exactly_once_and_none_early(
    store: Store, second_store: Store
) -> None:
    clock = Clock()
    ids = {}
    for hour in range(3):
        for n in range(12):
            text = f"h{hour}-{n}"
            ids[text] = await put(store, text, START + timedelta(hours=hour), recipient=f"chat{n % 5}")
    one, two = Recording(pause=0.002), Recording(pause=0.002)
    workers = [
        DeliveryWorker(store, {"telegram": one}, SETTINGS, clock, batch=5),
        DeliveryWorker(second_store, {"telegram": two}, SETTINGS, clock, batch=5),
    ]
    for hour in range(3):
        counts = await asyncio.gather(*(w.run_once() for _ in range(4) for w in workers))  # interleaved
        while any(counts):
            counts = await asyncio.gather(*(w.run_once() for w in workers))
        texts = sorted(t for _, sent in one.sent + two.sent for t in sent)
        assert texts == sorted(f"h{h}-{n}" for h in range(hour + 1) for n in range(12)), f"at +{hour} h"
        clock.advance(hours=1)
    # (which worker sends which row is up to the database's locks: on SQLite one may well take them all)
    assert [(await row(store, i))["attempts"] for i in ids.values()] == [1] * 36
    assert await store.transaction(count_by_status) == {"sent": 36}


async def test_two_running_workers_in_the_background(store: Store, second_store: Store) -> None:
    clock = Clock()
    for n in range(20):
        await put(store, f"r{n}", START - timedelta(minutes=1), recipient=str(n))
    one, two = Recording(), Recording()
    workers = [
        DeliveryWorker(store, {"telegram": one}, SETTINGS, clock),
        DeliveryWorker(second_store, {"telegram": two}, SETTINGS, clock),
    ]
    for worker in workers:
        await worker.start()
    try:
        for _ in range(200):
            if len(one.sent) + len(two.sent) >= 20:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(3 * SETTINGS.poll_seconds)  # a second copy would arrive by now
    finally:
        for worker in workers:
            await worker.stop()
    assert sorted(t for _, sent in one.sent + two.sent for t in sent) == sorted(f"r{n}" for n in range(20))


async def test_a_failed_send_is_retried_later_and_sent_once(store: Store) -> None:
    clock = Clock()
    delivery = await put(store, "I morgen kl. 10.30", START)
    sender = Recording(OSError("network down"))
    worker = DeliveryWorker(store, {"telegram": sender}, SETTINGS, clock)
    assert await worker.run_once() == 0
    first = await row(store, delivery)
    assert (first["status"], first["attempts"], first["last_error"]) == ("pending", 1, "OSError: network down")
    assert first["due_at"] == START + timedelta(seconds=10)
    clock.advance(seconds=9)
    assert await worker.run_once() == 0 and sender.calls == 1  # not before its time
    clock.advance(seconds=1)
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0
    done = await row(store, delivery)
    assert (done["status"], done["attempts"], done["external_id"]) == ("sent", 2, "m1")
    assert done["sent_at"] == clock.now
    assert sender.sent == [("42", ["I morgen kl. 10.30"])]


async def test_after_the_last_attempt_it_fails_visibly(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    delivery = await put(store, "Påmindelse", START)
    sender = Recording(*(RuntimeError(f"boom {n}") for n in range(5)))
    worker = DeliveryWorker(store, {"telegram": sender}, SETTINGS, clock)
    with caplog.at_level(logging.ERROR, logger="bot.delivery.worker"):
        for wait in (0, 10, 20, 40):
            clock.advance(seconds=wait)
            await worker.run_once()
    assert sender.calls == 3
    failed = await row(store, delivery)
    assert (failed["status"], failed["attempts"], failed["last_error"]) == ("failed", 3, "RuntimeError: boom 2")
    listed = await store.transaction(lambda tx: list_deliveries(tx, "failed"))
    assert [(d["id"], d["kind"], d["last_error"]) for d in listed] == [(delivery, "reminder", "RuntimeError: boom 2")]
    assert any(f"delivery {delivery} failed (telegram reminder)" in r.getMessage() for r in caplog.records)


async def test_a_permanent_failure_is_not_retried(store: Store) -> None:
    clock = Clock()
    delivery = await put(store, "Påmindelse", START)
    worker = DeliveryWorker(store, {"telegram": Recording(PermanentFailure("bot blocked"))}, SETTINGS, clock)
    await worker.run_once()
    failed = await row(store, delivery)
    assert (failed["status"], failed["attempts"], failed["last_error"]) == (
        "failed",
        1,
        "PermanentFailure: bot blocked",
    )


async def test_a_stale_lease_is_claimed_again(store: Store) -> None:
    clock = Clock()
    delivery = await put(store, "Påmindelse", START)
    crashed = DeliveryWorker(store, {"telegram": Recording()}, SETTINGS, clock)
    await store.transaction(lambda tx: crashed._claim(tx, clock.now))  # claimed, then the process died
    sender = Recording()
    worker = DeliveryWorker(store, {"telegram": sender}, SETTINGS, clock)
    clock.advance(minutes=1)
    assert await worker.run_once() == 0  # the lease still holds
    clock.advance(minutes=1, seconds=1)
    assert await worker.run_once() == 1
    sent = await row(store, delivery)
    assert (sent["status"], sent["attempts"]) == ("sent", 2)
    assert sender.sent == [("42", ["Påmindelse"])]


async def test_unreachable_here_counts_no_attempt_and_another_process_sends_it(
    store: Store, second_store: Store
) -> None:
    clock = Clock()
    delivery = await put(store, "Svar fra eMentor", START, channel="socketio", recipient="abc")
    elsewhere = DeliveryWorker(store, {"socketio": Recording(Unreachable("not here"))}, SETTINGS, clock)
    assert await elsewhere.run_once() == 0
    released = await row(store, delivery)
    assert (released["status"], released["attempts"]) == ("pending", 0)
    here = Recording()
    clock.advance(seconds=1)
    assert await DeliveryWorker(second_store, {"socketio": here}, SETTINGS, clock).run_once() == 1
    assert here.sent == [("abc", ["Svar fra eMentor"])]
    assert (await row(store, delivery))["attempts"] == 1


async def test_pull_channel_rows_and_other_channels_are_left_alone(store: Store) -> None:
    clock = Clock()
    rest = await put(store, "til web", START, channel="rest", recipient="web1")
    worker = DeliveryWorker(store, {"telegram": Recording()}, SETTINGS, clock)
    assert await worker.run_once() == 0
    assert (await row(store, rest))["status"] == "pending"


async def test_jobs_run_each_tick_in_their_own_transaction(store: Store) -> None:
    clock = Clock()
    seen: list[object] = []

    async def job(tx: object, now: object) -> None:
        seen.append(now)

    async def broken(tx: object, now: object) -> None:
        raise ValueError("a bug in one job")

    worker = DeliveryWorker(store, {}, SETTINGS, clock, jobs=[broken, job])  # type: ignore[list-item]
    await worker.run_once()
    await worker.run_once()
    assert seen == [START, START]


async def test_a_backlog_is_sent_batch_after_batch_without_waiting_a_poll(store: Store) -> None:
    """The day-before reminders all fall due at 17.00: a full batch means more wait, so no pause between."""
    clock = Clock()
    for n in range(60):
        await put(store, f"b{n}", START - timedelta(minutes=1), recipient=str(n))
    sender = Recording()
    worker = DeliveryWorker(store, {"telegram": sender}, DeliverySettings(poll_seconds=30), clock, batch=10)
    await worker.start()
    try:
        for _ in range(250):  # 6 batches; with a 30 s pause between them this would take minutes
            if len(sender.sent) >= 60:
                break
            await asyncio.sleep(0.02)
    finally:
        await worker.stop()
    assert len(sender.sent) == 60


async def test_an_unreachable_recipient_is_looked_for_less_often_as_time_goes_by(store: Store) -> None:
    clock = Clock()
    delivery = await put(store, "Svar fra eMentor", START, channel="socketio", recipient="gone")
    worker = DeliveryWorker(store, {"socketio": Recording(*[Unreachable("not here")] * 3)}, SETTINGS, clock)
    await worker.run_once()
    soon = (await row(store, delivery))["due_at"] - clock()
    clock.advance(hours=2)
    await worker.run_once()
    later = (await row(store, delivery))["due_at"] - clock()
    assert soon <= timedelta(seconds=1) and later == timedelta(minutes=5)
    assert (await row(store, delivery))["attempts"] == 0
