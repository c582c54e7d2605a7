"""The audit log cannot be edited (SQLite and PostgreSQL): every route of the app that could change something
(POST, PUT, PATCH, DELETE; ids filled in with the audit lines' own) is called as an admin, and every line
written before is still there, unchanged; no SQL in the code updates or deletes it; and the database itself
refuses an UPDATE or DELETE (migration 0008)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.booking import audit
from bot.core.clock import ManualClock
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.api.test_admin_phrases import token_for
from tests.conftest import ROOT, app_settings
from tests.consoles.helpers import NOW, add_user, logged_in

Client = TestClient[Any, Any]


@pytest.fixture
async def client(project_model: IntentModel, store: Store) -> AsyncIterator[Client]:
    app = build_app(app_settings(), project_model, store, ManualClock(NOW))
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def lines(store: Store) -> list[dict[str, Any]]:
    return await store.transaction(lambda tx: tx.fetch("SELECT * FROM audit_log ORDER BY id"))


async def test_no_route_changes_a_written_audit_line(client: Client, store: Store) -> None:
    for n in range(3):
        await store.transaction(lambda tx, n=n: audit.record(tx, NOW, None, "test", f"subject:{n}", {"n": n}))
    before = await lines(store)
    admin = await token_for(store, "Ada", "admin")
    await add_user(store, "ida", "admin")
    csrf = await logged_in(client, "ida")
    called = 0
    for route in list(client.server.app.router.routes()):
        if route.method not in ("POST", "PUT", "PATCH", "DELETE"):
            continue
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or ""
        for line in before:
            url = re.sub(r"\{[^}]+\}", str(line["id"]), path)
            for headers in (admin, {"X-CSRF-Token": csrf}):
                response = await client.request(route.method, url, json={}, headers=headers)
                assert response.status < 500 or response.status == 503, (route.method, url, response.status)
                called += 1
    after = await lines(store)
    assert called > 50
    assert after[: len(before)] == before  # later acts may add lines; none changed or went away


def test_no_sql_in_the_code_updates_or_deletes_audit_lines() -> None:
    changing = re.compile(r"(UPDATE|DELETE\s+FROM)\s+audit_log", re.IGNORECASE)
    found = [
        str(path.relative_to(ROOT))
        for folder in ("bot", "handlers")
        for path in (ROOT / folder).rglob("*.py")
        if "migrations" not in path.parts and changing.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []


async def test_the_database_refuses_to_change_an_audit_line(store: Store) -> None:
    await store.transaction(lambda tx: audit.record(tx, NOW, None, "test", "subject", {}))
    for sql in ("UPDATE audit_log SET action = 'changed'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"):
            await store.transaction(lambda tx, sql=sql: tx.execute(sql))
    assert [line["action"] for line in await lines(store)] == ["test"]
