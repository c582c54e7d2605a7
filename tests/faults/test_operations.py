"""What an operator's tools read: /health, /ready, /metrics, and the log lines with their request ids, on
SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.app import RUNTIME_KEY, build_app
from bot.core import logs
from bot.core.messages import Outbound
from bot.delivery.outbox import enqueue
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.conftest import app_settings

Client = TestClient[Any, Any]
SECRET_WORDS = "min kode er hemmelig-og-lang 4821"


@pytest.fixture
async def client(project_model: IntentModel, store: Store) -> AsyncIterator[Client]:
    async with TestClient(TestServer(build_app(app_settings(), project_model, store))) as test_client:
        yield test_client


async def metrics(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status == 200 and response.content_type == "text/plain"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(await response.text())
        for sample in family.samples
    }


def value(figures: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return figures.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_health_answers_without_the_database_and_ready_checks_it(client: Client) -> None:
    health = await client.get("/health")
    assert health.status == 200 and await health.json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status == 200
    assert await ready.json() == {"status": "ready", "database": "ok", "model": "ok"}

    runtime = client.app[RUNTIME_KEY]
    loaded = runtime.model
    runtime.model = SimpleNamespace(labels=[])  # type: ignore[assignment]
    try:
        not_ready = await client.get("/ready")
        assert not_ready.status == 503 and (await not_ready.json())["model"] == "not loaded"
    finally:
        runtime.model = loaded
    await runtime.store.close()  # closed, not broken: the next call opens it again
    assert (await client.get("/ready")).status == 200


async def test_metrics_count_turns_fallbacks_and_read_the_outbox_backlog(client: Client, store: Store) -> None:
    before = await metrics(client)
    for text in ("hej", "hvordan bestiller jeg straffeattest", "qwxz blorp fnyk"):
        response = await client.post("/webhooks/rest/webhook", json={"sender": "m1", "message": text})
        assert response.status == 200
    now = datetime.now(UTC)
    await store.transaction(lambda tx: enqueue(tx, "notice", "rest", "m2", [Outbound("Hej")], now, now))
    later = now + timedelta(days=1)
    await store.transaction(lambda tx: enqueue(tx, "notice", "rest", "m2", [Outbound("Senere")], later, now))
    after = await metrics(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("ementor_turns_total", channel="rest", result="answered") == 3
    assert grew("ementor_turn_seconds_count", channel="rest") == 3
    assert grew("ementor_fallbacks_total", channel="rest") == 1
    assert value(after, "ementor_outbox_backlog") == 1  # due now; tomorrow's is not a backlog
    assert value(after, "ementor_database_up") == 1
    assert ("ementor_bookings", (("status", "booked"),)) in after  # every status, 0 when none
    assert ("ementor_handovers", (("status", "waiting"),)) in after


async def test_json_logs_one_line_per_event_with_the_request_id(client: Client) -> None:
    stream = io.StringIO()
    handler = logs.handler("json", stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        response = await client.post(
            "/webhooks/rest/webhook",
            json={"sender": "j1", "message": SECRET_WORDS},
            headers={"X-Request-ID": "proxy-abc-12345"},
        )
        made_up = await client.post("/webhooks/rest/webhook", json={"sender": "j1", "message": "hej"})
        odd = await client.get("/health", headers={"X-Request-ID": "bad id {with} spaces!"})
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert response.status == 200 and response.headers["X-Request-ID"] == "proxy-abc-12345"
    new_id = made_up.headers["X-Request-ID"]
    assert new_id and new_id != "proxy-abc-12345"
    assert odd.headers["X-Request-ID"] != "bad id {with} spaces!"  # not sane: a new one

    lines = [line for line in stream.getvalue().splitlines() if line]
    records = [json.loads(line) for line in lines]  # every line is one whole JSON record
    assert all({"time", "level", "logger", "message", "request_id"} <= set(r) for r in records)
    mine = [r for r in records if r["request_id"] == "proxy-abc-12345"]
    assert any(r["message"].startswith("POST /webhooks/rest/webhook 200") for r in mine)
    assert any(r["request_id"] == new_id for r in records)
    assert SECRET_WORDS not in stream.getvalue() and "hemmelig" not in stream.getvalue()  # no request bodies
