"""The admin API for training phrases and the inbox, as a script uses it (SQLite and PostgreSQL): admins only,
conflicts as 409 with what stands against the phrase, bad input as a clear 4xx, checks against the model
serving at the moment of the request."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import RUNTIME_KEY, build_app
from bot.consoles.auth import hash_password
from bot.core.clock import ManualClock
from bot.escalation import accounts
from bot.nlu.classifier import IntentModel, train
from bot.nlu.features import FeatureSpec
from bot.nlu.training_data import Example
from bot.storage.store import Store
from tests.conftest import app_settings
from tests.consoles.helpers import NOW, add_user, logged_in

Client = TestClient[Any, Any]
CONFLICTING = "jeg kan ikke logge ind på jobnet med mitid"  # the project model: not "thanks", and sure of it


async def token_for(store: Store, name: str, role: str) -> dict[str, str]:
    async def work(tx: Any) -> str:
        account_id, token = await accounts.create_ementor(tx, name, None, NOW)
        await accounts.set_login(tx, account_id, name.lower(), role, hash_password("rigtig-hemmelig-42"))
        return token

    token: str = await store.transaction(work)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def client(project_model: IntentModel, store: Store) -> AsyncIterator[Client]:
    app = build_app(app_settings(), project_model, store, ManualClock(NOW))
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest.fixture
async def admin(store: Store) -> dict[str, str]:
    return await token_for(store, "Ada", "admin")


async def keep(store: Store, *texts: str) -> list[int]:
    async def work(tx: Any) -> list[int]:
        ids = []
        for text in texts:
            rows = await tx.fetch(
                "INSERT INTO inbox_items (created_at, channel, language, text, reason, guesses, status)"
                " VALUES (:now, 'rest', 'da', :text, 'fallback', :g, 'open') RETURNING id",
                now=NOW,
                text=text,
                g=json.dumps([{"intent": "pdf_convert", "confidence": 0.04}]),
            )
            ids.append(int(rows[0]["id"]))
        return ids

    result: list[int] = await store.transaction(work)
    return result


async def test_list_filters_and_pages(client: Client, admin: dict[str, str]) -> None:
    response = await client.get("/api/admin/phrases?intent=mitid_get&language=en&limit=5", headers=admin)
    body = await response.json()
    assert response.status == 200 and len(body["phrases"]) == 5 and body["total"] > 5
    assert {(p["intent"], p["language"], p["file"]) for p in body["phrases"]} == {
        ("mitid_get", "en", "en/mitid_post.yml")
    }
    later = await (
        await client.get("/api/admin/phrases?intent=mitid_get&language=en&limit=5&offset=5", headers=admin)
    ).json()
    assert not {p["id"] for p in body["phrases"]} & {p["id"] for p in later["phrases"]}
    found = await (await client.get("/api/admin/phrases?q=kodeviser", headers=admin)).json()
    assert found["total"] >= 1 and all("kodeviser" in p["text"].lower() for p in found["phrases"])
    for bad in ("language=de", "limit=0", "limit=x", "offset=-1"):
        answer = await client.get(f"/api/admin/phrases?{bad}", headers=admin)
        assert answer.status == 400 and (await answer.json())["status"] == "failure"


async def test_add_conflict_confirm_delete(client: Client, admin: dict[str, str], store: Store) -> None:
    new = {"intent": "mitid_get", "language": "da", "text": "hvordan skaffer jeg et mitid"}
    created = await client.post("/api/admin/phrases", json=new, headers=admin)
    row = await created.json()
    assert created.status == 201 and row["text"] == new["text"] and row["source"] == "console"
    again = await client.post("/api/admin/phrases", json=new, headers=admin)
    assert again.status == 409 and (await again.json())["reason"] == "exists"

    warned = await client.post(
        "/api/admin/phrases", json={**new, "intent": "thanks", "text": CONFLICTING}, headers=admin
    )
    body = await warned.json()
    assert warned.status == 409 and body["conflicts"][0]["kind"] == "model" and '"confirm": true' in body["message"]
    confirmed = await client.post(
        "/api/admin/phrases", json={**new, "intent": "thanks", "text": CONFLICTING, "confirm": True}, headers=admin
    )
    assert confirmed.status == 201

    deleted = await client.delete(f"/api/admin/phrases/{row['id']}", headers=admin)
    assert deleted.status == 200 and (await deleted.json())["text"] == new["text"]
    assert (await client.delete(f"/api/admin/phrases/{row['id']}", headers=admin)).status == 404
    audit = await store.transaction(lambda tx: tx.fetch("SELECT action FROM audit_log ORDER BY id"))
    assert [a["action"] for a in audit] == ["phrase_added", "phrase_added", "phrase_deleted"]


@pytest.mark.parametrize(
    "body",
    [
        {"intent": "mitid_get", "language": "da"},
        {"intent": "mitid_get", "language": "da", "text": 5},
        {"intent": "mitid_get", "language": "da", "text": "ring på 22 33 44 55"},
        {"intent": "nope", "language": "da", "text": "noget helt nyt"},
        {"intent": "mitid_get", "language": "da", "text": "x" * 400},
        {"intent": "mitid_get", "language": "da", "text": "noget helt nyt", "confirm": "yes"},
        ["not", "an", "object"],
    ],
)
async def test_bad_input_is_a_clear_400(client: Client, admin: dict[str, str], body: Any) -> None:
    response = await client.post("/api/admin/phrases", json=body, headers=admin)
    assert response.status == 400 and (await response.json())["message"]
    broken = await client.post("/api/admin/phrases", data=b"{not json", headers=admin)
    assert broken.status == 400


async def test_the_check_uses_the_model_serving_now(client: Client, admin: dict[str, str]) -> None:
    """After a swap (the other engineer's Runtime.use_model), the next request checks with the new model."""
    texts = [(CONFLICTING, "thanks"), ("mange tak for hjaelpen", "thanks"), ("hvordan faar jeg mitid", "mitid_get")]
    examples = [Example(text, intent, "t", n) for n, (text, intent) in enumerate(texts)]
    other = train(examples, FeatureSpec(embedding_weight=0.0), 0.5, 3.0)
    client.server.app[RUNTIME_KEY].use_model(other, None)
    added = await client.post(
        "/api/admin/phrases", json={"intent": "thanks", "language": "da", "text": CONFLICTING}, headers=admin
    )
    assert added.status == 201  # the model serving now gives it to thanks: nothing to warn about


async def test_inbox_groups_and_resolve_a_group(client: Client, admin: dict[str, str], store: Store) -> None:
    first, second, other = await keep(store, "hvordan laver jeg lasagne", "hvordan laver man lasagne", "printer lyd")
    listed = await (await client.get("/api/admin/inbox", headers=admin)).json()
    assert listed["open"] == 3
    assert [[i["id"] for i in g["items"]] for g in listed["groups"]] == [[other], [second, first]]  # newest first
    assert listed["groups"][1]["guesses"][0]["intent"] == "pdf_convert" and listed["groups"][1]["count"] == 2

    done = await client.post(
        f"/api/admin/inbox/{first}/resolve",
        json={"action": "add", "intent": "out_of_scope", "group": True},
        headers=admin,
    )
    body = await done.json()
    assert done.status == 200 and sorted(body["handled"]) == sorted([first, second]) and len(body["phrases"]) == 2
    left = await (await client.get("/api/admin/inbox", headers=admin)).json()
    assert left["open"] == 1
    again = await client.post(f"/api/admin/inbox/{first}/resolve", json={"action": "dismiss"}, headers=admin)
    assert again.status == 404
    for bad in ({"action": "delete"}, {"action": "add"}, {"action": "add", "intent": "nope"}, {}):
        assert (await client.post(f"/api/admin/inbox/{other}/resolve", json=bad, headers=admin)).status == 400
    dismissed = await client.post(f"/api/admin/inbox/{other}/resolve", json={"action": "dismiss"}, headers=admin)
    assert dismissed.status == 200
    statuses = await store.transaction(
        lambda tx: tx.fetch("SELECT status, resolved_intent FROM inbox_items ORDER BY id")
    )
    assert [(s["status"], s["resolved_intent"]) for s in statuses] == [
        ("added", "out_of_scope"), ("added", "out_of_scope"), ("dismissed", None)
    ]  # fmt: skip


async def test_a_message_added_from_the_inbox_joins_the_seeded_phrases(
    client: Client, admin: dict[str, str], store: Store
) -> None:
    """The first thing an admin does may be adding an inbox message: the working copy is seeded from nlu_data/
    before it, so a training afterwards still learns every topic, not that one phrase alone."""
    [item] = await keep(store, "nøgleviseren blinker bare")
    done = await client.post(
        f"/api/admin/inbox/{item}/resolve", json={"action": "add", "intent": "nemid"}, headers=admin
    )
    assert done.status == 200, await done.text()
    rows = await store.transaction(lambda tx: tx.fetch("SELECT intent, text, source FROM nlu_phrases"))
    assert {"nemid", "mitid_get", "jobnet_cv", "greet"} <= {r["intent"] for r in rows}
    assert [(r["intent"], r["source"]) for r in rows if r["text"] == "nøgleviseren blinker bare"] == [
        ("nemid", "inbox")
    ]


async def test_resolve_asks_before_adding_what_the_model_gives_elsewhere(
    client: Client, admin: dict[str, str], store: Store
) -> None:
    [item] = await keep(store, CONFLICTING)
    warned = await client.post(
        f"/api/admin/inbox/{item}/resolve", json={"action": "add", "intent": "thanks"}, headers=admin
    )
    body = await warned.json()
    assert warned.status == 409 and body["conflicts"][0]["id"] == item
    marked = await client.post(f"/api/admin/inbox/{item}/resolve", json={"action": "out_of_scope"}, headers=admin)
    assert marked.status == 200
    [row] = await store.transaction(lambda tx: tx.fetch("SELECT status FROM inbox_items"))
    assert row["status"] == "out_of_scope"


ROUTES = [
    ("GET", "/api/admin/phrases", None),
    ("POST", "/api/admin/phrases", {"intent": "mitid_get", "language": "da", "text": "noget helt nyt om mitid"}),
    ("DELETE", "/api/admin/phrases/1", None),
    ("GET", "/api/admin/inbox", None),
    ("POST", "/api/admin/inbox/1/resolve", {"action": "dismiss"}),
]


async def test_an_ementor_token_or_session_gets_403_and_nobody_gets_in_without(client: Client, store: Store) -> None:
    await keep(store, "hvordan laver jeg lasagne")
    mentor = await token_for(store, "Anna", "ementor")
    for method, path, body in ROUTES:
        assert (await client.request(method, path, json=body)).status == 401
        assert (await client.request(method, path, json=body, headers=mentor)).status == 403
    await add_user(store, "bo", "ementor")
    csrf = await logged_in(client, "bo")
    for method, path, body in ROUTES:
        response = await client.request(method, path, json=body, headers={"X-CSRF-Token": csrf})
        assert response.status == 403 and "lasagne" not in await response.text()
    rows = await store.transaction(lambda tx: tx.fetch("SELECT status FROM inbox_items"))
    assert [r["status"] for r in rows] == ["open"]


async def test_an_admin_session_needs_the_csrf_token_to_change_anything(client: Client, store: Store) -> None:
    [item] = await keep(store, "hvordan laver jeg lasagne")
    await add_user(store, "ida", "admin")
    csrf = await logged_in(client, "ida")
    assert (await client.get("/api/admin/inbox")).status == 200
    without = await client.post(f"/api/admin/inbox/{item}/resolve", json={"action": "dismiss"})
    assert without.status == 403
    with_token = await client.post(
        f"/api/admin/inbox/{item}/resolve", json={"action": "dismiss"}, headers={"X-CSRF-Token": csrf}
    )
    assert with_token.status == 200
