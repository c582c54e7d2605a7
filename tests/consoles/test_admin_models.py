"""The admin console's model pages and API, on SQLite and PostgreSQL: an admin retrains from the page, follows
the progress, reads the gate's report and finds the new version answering; a version the gate held back is
used only with a written reason (kept, and in the audit log); a roll back is one click; eMentors get 403."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.booking import audit
from bot.config import GateSettings, NluSettings, Settings
from bot.core.clock import ManualClock
from bot.escalation import accounts
from bot.nlu import registry
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.conftest import DEV_SET, NLU_DATA, app_settings
from tests.consoles.helpers import NOW, Client, add_user, console_client, logged_in
from tests.nlu.test_model_versions import TINY, tiny_blob

JOB_LINK = re.compile(r"/admin/jobs/(\d+)$")


def settings() -> Settings:
    base = app_settings()
    gate = GateSettings(folds=2, dev_set=str(DEV_SET))
    return dataclasses.replace(base, nlu=NluSettings(data=str(NLU_DATA), model=base.nlu.model, gate=gate))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def client(project_model: IntentModel, store: Store, clock: ManualClock) -> AsyncIterator[Client]:
    await add_user(store, "anna", "ementor", "Anna Hansen")
    await add_user(store, "ada", "admin", "Ada Admin")
    async with console_client(project_model, store, clock, settings()) as test_client:
        yield test_client


async def held_back(store: Store) -> int:
    """A version the gate held back (as a training job leaves one), without a job of its own."""
    metrics = {"gate": {"passed": False, "checks": []}, "scores": {"dev": {"accuracy": 0.5}}, "examples": len(TINY)}
    return await store.transaction(lambda tx: registry.save_version(tx, tiny_blob(), metrics, TINY, NOW, None))


async def test_an_ementor_reaches_no_model_page_or_api(client: Client, store: Store) -> None:
    csrf = await logged_in(client, "anna")
    for method, path in (
        ("GET", "/admin/models"),
        ("GET", "/admin/jobs/1"),
        ("POST", "/admin/models/train"),
        ("POST", "/admin/models/1/activate"),
        ("POST", "/admin/models/rollback"),
    ):
        response = await client.request(method, path, data={"csrf": csrf}, allow_redirects=False)
        assert response.status == 403, (method, path)
        assert "administratorer" in await response.text()
    for method, path in (
        ("POST", "/api/admin/train"),
        ("GET", "/api/admin/jobs/1"),
        ("GET", "/api/admin/models"),
        ("POST", "/api/admin/models/1/activate"),
        ("POST", "/api/admin/models/rollback"),
    ):
        response = await client.request(method, path, headers={"X-CSRF-Token": csrf}, json={})
        assert response.status == 403, (method, path)
        assert (await response.json())["code"] == 403
    anna = await store.transaction(lambda tx: accounts.by_name(tx, "Anna Hansen"))
    assert anna is not None
    token = await store.transaction(lambda tx: accounts.new_token(tx, anna["id"]))
    client.session.cookie_jar.clear()
    response = await client.post("/api/admin/train", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 403
    assert await store.transaction(lambda tx: tx.fetch("SELECT id FROM nlu_jobs")) == []  # nothing queued


async def test_an_admin_retrains_follows_the_progress_and_the_new_model_answers(client: Client, store: Store) -> None:
    csrf = await logged_in(client, "ada")
    page = await client.get("/admin/models")
    assert page.status == 200
    text = await page.text()
    assert "Træn en ny model" in text and "Modelfilen svarer" in text  # no version yet: the model file answers

    started = await client.post("/admin/models/train", data={"csrf": csrf}, allow_redirects=False)
    assert started.status == 303
    link = JOB_LINK.search(started.headers["Location"])
    assert link is not None
    job_id = int(link.group(1))
    page = await client.get(f"/admin/jobs/{job_id}")
    text = await page.text()
    assert page.status == 200 and "<progress" in text and "admin_models.js" in text  # updates itself

    steps: set[str] = set()
    for _ in range(240):  # the app's own worker takes the job within a tick and trains in a child process
        job = await (await client.get(f"/api/admin/jobs/{job_id}?lang=en")).json()
        steps.add(job["step_text"])
        if job["status"] in ("done", "failed"):
            break
        await asyncio.sleep(0.25)
    assert job["status"] == "done", job
    assert "Training the model …" in steps or "Cross-validating …" in steps
    assert job["model"]["status"] == "active" and job["report"]["gate"]["passed"] is True
    new_id = job["model"]["id"]

    page = await client.get(f"/admin/jobs/{job_id}")
    text = await page.text()
    assert f"Den nye model (version {new_id}) bestod kontrollen og er taget i brug." in text
    assert 'id="overall"' in text and 'data-intent="mitid_login_problem"' in text
    assert "admin_models.js" not in text  # finished: nothing left to follow

    for _ in range(50):  # this process swaps the new version in within the watcher's interval (1 s)
        status = await (await client.get("/status")).json()
        if status["model_version"] == new_id:
            break
        await asyncio.sleep(0.1)
    assert status["model_version"] == new_id
    reply = await client.post("/webhooks/rest/webhook", json={"sender": "c1", "message": "jeg kan ikke logge på mitid"})
    assert reply.status == 200 and await reply.json()

    listing = await (await client.get("/api/admin/models")).json()
    assert listing["active"] == new_id
    assert [m["status"] for m in listing["models"]] == ["active", "retired"]  # and the model file, as version 1
    assert listing["models"][1]["origin"] == "file"
    text = await (await client.get("/admin/models")).text()
    assert f"Gå tilbage til version {listing['models'][1]['id']}" in text


async def test_a_held_back_version_needs_a_written_reason_which_is_kept(client: Client, store: Store) -> None:
    csrf = await logged_in(client, "ada")
    model_id = await held_back(store)
    headers = {"X-CSRF-Token": csrf}

    refused = await client.post(f"/api/admin/models/{model_id}/activate", json={}, headers=headers)
    assert refused.status == 409
    body = await refused.json()
    assert body["needs_reason"] is True and "reason" in body["message"]
    page = await client.post(f"/admin/models/{model_id}/activate", data={"csrf": csrf, "reason": " "})
    assert page.status == 400 and "Skriv en begrundelse" in await page.text()
    assert await store.transaction(registry.active) is None

    reason = "Kørekort-appen er ny; testsættet kender den ikke endnu"
    used = await client.post(f"/api/admin/models/{model_id}/activate", json={"reason": reason}, headers=headers)
    assert used.status == 200, await used.text()
    assert (await used.json())["override_reason"] == reason
    row = await store.transaction(lambda tx: registry.version(tx, model_id))
    assert row is not None and row["status"] == "active" and row["override_reason"] == reason
    lines = await store.transaction(lambda tx: audit.recent(tx, subject=f"model:{model_id}"))
    assert lines[0]["action"] == "model_activated" and lines[0]["detail"]["override_reason"] == reason
    assert lines[0]["actor_id"] is not None
    text = await (await client.get("/admin/models")).text()
    assert reason in text


async def test_activate_and_roll_back_from_the_page(client: Client, store: Store, clock: ManualClock) -> None:
    csrf = await logged_in(client, "ada")
    metrics: dict[str, Any] = {"gate": {"passed": True, "checks": []}}
    first, second = [
        await store.transaction(lambda tx: registry.save_version(tx, tiny_blob(), metrics, TINY, NOW, None))
        for _ in range(2)
    ]
    nothing = await client.post("/admin/models/rollback", data={"csrf": csrf})
    assert nothing.status == 409 and "ingen tidligere version" in await nothing.text()

    done = await client.post(f"/admin/models/{first}/activate", data={"csrf": csrf}, allow_redirects=False)
    assert done.status == 303 and done.headers["Location"] == f"/admin/models?activated={first}"
    clock.advance(timedelta(minutes=1))
    await client.post(f"/admin/models/{second}/activate", data={"csrf": csrf})
    page = await client.get(f"/admin/models?activated={second}")
    text = await page.text()
    assert f"Version {second} er taget i brug" in text
    assert re.search(rf'data-version="{second}" data-status="active"', text)

    clock.advance(timedelta(minutes=1))
    back = await client.post("/admin/models/rollback", data={"csrf": csrf}, allow_redirects=False)
    assert back.status == 303 and back.headers["Location"] == f"/admin/models?activated={first}"
    assert (await store.transaction(registry.active) or {}).get("id") == first

    missing = await client.post("/admin/models/999/activate", data={"csrf": csrf})
    assert missing.status == 404
    api_missing = await client.post("/api/admin/models/999/activate", json={}, headers={"X-CSRF-Token": csrf})
    assert api_missing.status == 404
    assert (await client.get("/api/admin/jobs/999")).status == 404
    assert (await client.get("/admin/jobs/999")).status == 404

    client.session.cookie_jar.update_cookies({"console_lang": "en"})
    text = await (await client.get("/admin/models")).text()
    assert "Train a new model" in text and "Go back to version" in text
