"""The zero-downtime model swap, on SQLite and PostgreSQL: a version activated anywhere answers in every bot
process within the watcher's interval, turns under way during swaps all succeed, and a swapped-out model is
freed (nothing keeps old models: memory does not grow with swaps)."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.config import DeliverySettings, LimitSettings
from bot.core.clock import ManualClock
from bot.nlu import registry
from bot.nlu.classifier import IntentModel
from bot.nlu.embeddings import builtin_vectors
from bot.nlu.model_store import model_to_bytes
from bot.runtime import build_runtime
from bot.storage.store import Store
from tests.conftest import app_settings
from tests.consoles.helpers import Client
from tests.nlu.test_model_versions import tiny_blob

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
# the citizens here send faster than a citizen may (limits.sender_*): the turns, not the rate limit, are tested
UNLIMITED = dataclasses.replace(app_settings(), limits=LimitSettings(sender_per_minute=100_000, sender_burst=10_000))
PROBE = "blåbærgrød med kanel"  # only the taught version knows this one
TAUGHT = [(PROBE, "make_pdf"), ("blåbærgrød", "make_pdf"), ("grød med kanel og blåbær", "make_pdf")]


async def version(store: Store, blob: bytes) -> int:
    return await store.transaction(lambda tx: registry.save_version(tx, blob, {}, [], NOW, None))


async def activate(store: Store, model_id: int) -> None:
    await store.transaction(lambda tx: registry.activate(tx, model_id, NOW, None))


@pytest.fixture
async def two_processes(project_model: IntentModel, store: Store) -> AsyncIterator[list[Client]]:
    """Two bot apps on one database, each with its own Store (connections) and worker: two processes."""
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(2):
            own = Store(store.url, store.schema)
            stack.push_async_callback(own.close)
            app = build_app(UNLIMITED, project_model, own, ManualClock(NOW))
            clients.append(await stack.enter_async_context(TestClient(TestServer(app))))
        yield clients


async def intent_of(client: Client, text: str) -> str:
    parsed = await (await client.post("/model/parse", json={"text": text})).json()
    return str(parsed["intent"]["name"])


async def test_a_version_activated_anywhere_answers_in_every_process_within_the_interval(
    two_processes: list[Client], store: Store
) -> None:
    assert [await intent_of(c, PROBE) for c in two_processes] != ["make_pdf", "make_pdf"]
    taught = await version(store, tiny_blob(TAUGHT))
    await asyncio.sleep(1.2)  # both workers ticked at least once: they serve the model file still
    started = time.monotonic()
    await activate(store, taught)  # from a third connection: an admin in yet another process
    took: list[float] = []
    for client in two_processes:
        while await intent_of(client, PROBE) != "make_pdf":
            assert time.monotonic() - started < 5.0, "not swapped in within 5 s"
            await asyncio.sleep(0.05)
        took.append(time.monotonic() - started)
        assert (await (await client.get("/status")).json())["model_version"] == taught
    assert max(took) < 2.5, took  # the watcher polls every second; loading takes milliseconds


async def test_on_postgresql_a_notification_swaps_at_once_without_waiting_for_the_poll(
    project_model: IntentModel, store: Store
) -> None:
    if not store.url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite relies on the poll")
    slow = dataclasses.replace(app_settings(), delivery=DeliverySettings(poll_seconds=30.0))
    taught = await version(store, tiny_blob(TAUGHT))
    async with AsyncExitStack() as stack:
        own = Store(store.url, store.schema)
        stack.push_async_callback(own.close)
        client = await stack.enter_async_context(TestClient(TestServer(build_app(slow, project_model, own))))
        await asyncio.sleep(0.5)  # the worker's first tick: it listens from now on
        started = time.monotonic()
        await activate(store, taught)
        while await intent_of(client, PROBE) != "make_pdf":
            assert time.monotonic() - started < 3.0, "the notification did not wake the watcher"
            await asyncio.sleep(0.02)


async def test_turns_during_swaps_all_succeed(
    project_model: IntentModel, two_processes: list[Client], store: Store
) -> None:
    blob = model_to_bytes(project_model)
    ids = [await version(store, blob), await version(store, blob)]  # the same model twice: swaps, same answers
    stop = asyncio.Event()
    failures: list[str] = []
    answered = 0

    async def citizen(n: int) -> None:
        nonlocal answered
        client = two_processes[n % 2]
        messages = ("hej", "jeg kan ikke logge på mitid", "start forfra", "hvordan laver jeg en pdf")
        turn = 0
        while not stop.is_set():
            text = messages[turn % len(messages)]
            response = await client.post("/webhooks/rest/webhook", json={"sender": f"s{n}", "message": text})
            replies = await response.json() if response.status == 200 else []
            if response.status != 200 or not replies or "prøv igen om et øjeblik" in str(replies).lower():
                failures.append(f"{response.status} {replies}")
            answered += 1
            turn += 1

    citizens = [asyncio.create_task(citizen(n)) for n in range(20)]
    for swap in range(6):
        await activate(store, ids[swap % 2])
        await asyncio.sleep(0.6)
    stop.set()
    await asyncio.gather(*citizens)
    assert failures == [] and answered > 40
    for client in two_processes:  # and the last activation answers everywhere within the watcher's interval
        for _ in range(50):
            if (await (await client.get("/status")).json())["model_version"] == ids[1]:
                break
            await asyncio.sleep(0.1)
        assert (await (await client.get("/status")).json())["model_version"] == ids[1]


async def test_a_swapped_out_model_is_freed_and_the_word_vectors_are_shared(
    project_model: IntentModel, store: Store
) -> None:
    runtime = build_runtime(app_settings(), project_model, store)
    vectors = builtin_vectors()
    first, second = await version(store, tiny_blob()), await version(store, tiny_blob(TAUGHT))
    await activate(store, first)
    await runtime.reload_model()
    old = weakref.ref(runtime.model)
    assert runtime.model_id == first and (await runtime.nlu.parse("hej"))["intent"]
    await activate(store, second)
    await runtime.reload_model()
    assert runtime.model_id == second and (await runtime.nlu.parse(PROBE))["intent"]["name"] == "make_pdf"
    gc.collect()
    assert old() is None  # nothing holds the model that was swapped out
    assert builtin_vectors() is vectors and builtin_vectors.cache_info().currsize == 1  # loaded once, shared
    await runtime.reload_model()  # nothing new: no reload
    assert runtime.model_id == second
    await runtime.close()
