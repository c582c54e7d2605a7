"""The admin console in a real browser (Debian's chromium driven by Playwright), with citizens on the REST channel.

- An admin logs in, finds in the inbox a message the bot did not understand, adds it to a topic, retrains,
  follows the progress, reads the gate's report (or overrides it with a reason when the gate holds the version
  back) and finds the new version active; the bot then answers that message with the topic's flow.
- The same with two real `ementor run` processes on one PostgreSQL database: the admin works against process
  A, and process B answers with the new model within 5 seconds of the activation; a step's Danish text edited
  in A's console reaches citizens on A and B without a restart.
- A step's Danish text edited in /admin/content reaches a citizen without a restart (in-process app).
- An eMentor's session gets no admin page and no admin API.

Skipped, with the reason, when chromium or Playwright is not installed.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bench.processes import free_port, migrate, start_bot, stderr_of, stop_bots, temporary_postgres, write_config
from bot.app import build_app
from bot.nlu.classifier import IntentModel
from bot.nlu.model_store import save_model
from bot.nlu.training_data import FALLBACK_INTENT
from bot.storage.store import Store
from tests.browser import Problems, browser_fixture, expect  # noqa: F401  (the `browser` fixture)
from tests.conftest import DEV_SET, ROOT
from tests.consoles.helpers import PASSWORD, add_user
from tests.consoles.test_admin_models import settings as training_settings

# The shipped model falls back on this (best guess nemid at 0.19; asserted below, not assumed); once it is a
# training phrase of `nemid`, the retrained model answers it with the NemID flow (0.97). Not "min nøgleviser er
# løbet tør for strøm": the inbox takes "nøgle… er løbet" for a code given away and never keeps it.
NOT_UNDERSTOOD = "nøgleviseren blinker bare"
TOPIC = "nemid"
NEMID_ANSWER = "NemID er lukket for altid"  # the start of the flow's first step, as flows/mitid_post.yml has it
NEMID_STEP = "closed"
NEW_DANISH = "NemID er lukket. Du kan smide dit gamle nøglekort ud. Nu bruger alle MitID i stedet."
SWAP_LIMIT = 5.0  # the promise: every process answers with a newly activated model within 5 s
TRAINING_LIMIT_MS = 150_000  # the whole job (snapshot, training, 2-fold cross-validation, scoring) on 2 cores
STEP_SHOWN = re.compile(r"Henter træningssætningerne|Træner modellen|Krydsvaliderer|Tester den nye|Sammenligner")
VERSION = re.compile(r"version (\d+)", re.IGNORECASE)
needs_postgres = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs TEST_DATABASE_URL")


# ---- the browser and the citizens ------------------------------------------------------------------------------


async def logged_in_tab(browser: Any, base: str, username: str, path: str) -> tuple[Any, Problems]:
    """A laptop-sized tab that opened `path`, was sent to the login page and logged in there as `username`."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="da-DK")
    tab = await context.new_page()
    problems = Problems()
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    tab.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    await tab.goto(base + path)
    await tab.get_by_label("Brugernavn").fill(username)
    await tab.get_by_label("Adgangskode").fill(PASSWORD)
    await tab.get_by_role("button", name="Log ind").click()
    await expect(tab).to_have_url(re.compile(re.escape(path) + "$"))
    return tab, problems


async def say(base: str, sender: str, message: str) -> list[str]:
    """A citizen's message on the REST channel; the texts the bot answered with."""
    async with ClientSession() as http:
        response = await http.post(f"{base}/webhooks/rest/webhook", json={"sender": sender, "message": message})
        assert response.status == 200, await response.text()
        return [str(r.get("text", "")) for r in await response.json()]


async def first_answer_with(base: str, message: str, wanted: str, seconds: float) -> tuple[datetime, list[str]]:
    """When a citizen (a new one each time) who writes `message` is first answered with `wanted`, polling for
    `seconds`; AssertionError with the last answer when it never is."""
    deadline = time.monotonic() + seconds
    attempt = 0
    while True:
        attempt += 1
        texts = await say(base, f"poll-{attempt}-{time.monotonic_ns()}", message)
        if any(wanted in t for t in texts):
            return datetime.now(UTC), texts
        assert time.monotonic() < deadline, f"after {seconds} s still answered {texts}"
        await asyncio.sleep(0.2)


# ---- what the admin does in the browser -------------------------------------------------------------------------


async def teach_the_inbox_message(tab: Any, times: int = 1) -> None:
    """On /admin/inbox: the message (sent `times` by different citizens: one group) is there as not understood,
    with the model's guesses; add it to TOPIC."""
    await expect(tab.get_by_role("heading", name="Ikke forstået", level=1)).to_be_visible()
    group = tab.locator("section.inbox-group", has_text=NOT_UNDERSTOOD)
    await expect(group).to_have_count(1)
    await expect(group).to_contain_text("ikke forstået")  # the reason, in words
    await expect(group.locator(".guess").first).to_be_visible()
    actions = group.locator("form.group-actions")  # the whole group at once
    await actions.get_by_label("Tilføj til emnet").select_option(TOPIC)
    await actions.get_by_role("button", name="Tilføj" if times == 1 else f"Tilføj alle {times}", exact=True).click()
    await expect(tab.get_by_role("status")).to_contain_text(f"{times} beskeder er tilføjet som træningssætninger")
    await expect(tab.locator("section.inbox-group", has_text=NOT_UNDERSTOOD)).to_have_count(0)  # handled: gone


async def retrain_and_get_it_used(tab: Any) -> int:
    """From /admin/models: train, follow the progress, read the gate's report; when the gate held the version
    back, use it anyway with a written reason (both are what the product does). The version now in use."""
    await tab.get_by_role("link", name="Modeller").click()
    await tab.get_by_role("button", name="Træn en ny model").click()
    await expect(tab).to_have_url(re.compile(r"/admin/jobs/\d+$"))
    await expect(tab.get_by_text("Siden opdaterer sig selv.")).to_be_visible()
    await expect(tab.locator("#job-step")).to_have_text(STEP_SHOWN, timeout=TRAINING_LIMIT_MS)  # a step under way
    verdict = tab.locator("#verdict")
    await expect(verdict).to_be_visible(timeout=TRAINING_LIMIT_MS)  # the page reloaded itself when it ended
    await expect(tab.locator("#job-step")).to_have_text("Færdig.")
    await expect(tab.locator("#job-progress")).to_have_attribute("value", "100")
    # the gate's report: overall, beside the active model, and per topic
    await expect(tab.locator("#overall tbody tr").first).to_contain_text("Testsættet")
    await expect(tab.locator("#intents tbody tr").first).to_be_visible()
    await expect(tab.get_by_text(re.compile(r"Sammenlignet med version \d+"))).to_be_visible()
    found = VERSION.search(await verdict.inner_text())
    assert found is not None
    version = int(found.group(1))
    if await verdict.get_attribute("data-passed") == "1":
        await expect(verdict).to_have_text(f"Den nye model (version {version}) bestod kontrollen og er taget i brug.")
    else:
        await expect(verdict).to_contain_text("bestod ikke kontrollen")
        await expect(tab.locator('#overall tr[data-ok="0"]').first).to_be_visible()  # what fell too far
        reason = "NemID-spørgsmål om nøgleviseren skal besvares; testet af Ada"
        await tab.get_by_label("Begrundelse").fill(reason)
        await tab.get_by_role("button", name="Tag den i brug alligevel").click()
        await expect(tab.get_by_role("status")).to_contain_text(f"Version {version} er taget i brug")
        await tab.goto(tab.url.split("/admin/")[0] + "/admin/models")
        await expect(tab.locator(f'tr[data-version="{version}"]')).to_contain_text(reason)
    await tab.goto(tab.url.split("/admin/")[0] + "/admin/models")
    active = tab.locator('#versions tr[data-status="active"]')
    await expect(active).to_have_count(1)
    await expect(active).to_have_attribute("data-version", str(version))
    await expect(active).to_contain_text("Aktiv")
    return version


async def edit_the_step(tab: Any) -> None:
    """On /admin/content: the NemID topic, its first step, a new Danish text checked and saved."""
    await tab.get_by_role("link", name="Svartekster").click()
    await tab.locator(f'#topics tr[data-intent="{TOPIC}"]').get_by_role("link").click()
    await tab.get_by_role("link", name=f"Ret: {NEMID_STEP}").click()
    danish = tab.get_by_label("Dansk", exact=True)
    await expect(danish).to_have_value(re.compile("^" + NEMID_ANSWER))  # the file's text
    await danish.fill(NEW_DANISH)
    preview = tab.locator("figure.phone[data-preview=da] .text")  # the phone preview follows the typing
    await expect(preview).to_contain_text(NEW_DANISH)
    await tab.get_by_role("button", name="Tjek teksten").click()
    await expect(tab.locator("#verdict-ok")).to_be_visible()
    await tab.get_by_role("button", name="Gem", exact=True).click()
    await expect(tab.get_by_role("status")).to_contain_text("Gemt.")


# ---- one bot in this process (SQLite and PostgreSQL) -------------------------------------------------------------


@pytest.fixture
async def server(project_model: IntentModel, store: Store) -> AsyncIterator[str]:
    """The app `ementor run` serves (worker, watchers and all), training with 2 folds; its address."""
    await add_user(store, "ada", "admin", "Ada Admin")
    await add_user(store, "anna", "ementor", "Anna Hansen")
    async with TestServer(build_app(training_settings(), project_model, store), host="127.0.0.1") as test_server:
        yield str(test_server.make_url("")).rstrip("/")


async def test_an_admin_teaches_the_bot_a_message_it_did_not_understand(
    browser: Any, server: str, project_model: IntentModel
) -> None:
    assert project_model.predict(NOT_UNDERSTOOD).intent == FALLBACK_INTENT  # the premise, checked
    before = await say(server, "karen", NOT_UNDERSTOOD)
    assert not any(NEMID_ANSWER in t for t in before), before

    tab, problems = await logged_in_tab(browser, server, "ada", "/admin/inbox")
    await teach_the_inbox_message(tab)
    version = await retrain_and_get_it_used(tab)
    assert version > 1  # the model file answering before the first training is version 1

    _, texts = await first_answer_with(server, NOT_UNDERSTOOD, NEMID_ANSWER, SWAP_LIMIT)
    assert any(NEMID_ANSWER in t for t in texts)
    async with ClientSession() as http:
        status = await (await http.get(f"{server}/status")).json()
    assert status["model_version"] == version
    assert problems == []


async def test_an_edited_danish_step_reaches_a_citizen_without_a_restart(browser: Any, server: str) -> None:
    before = await say(server, "lis", "/" + TOPIC)
    assert any(t.startswith(NEMID_ANSWER) for t in before), before

    tab, problems = await logged_in_tab(browser, server, "ada", "/admin/content")
    await edit_the_step(tab)

    _, texts = await first_answer_with(server, "/" + TOPIC, NEW_DANISH, SWAP_LIMIT)
    assert not any(NEMID_ANSWER in t for t in texts)  # the file's text is no longer said
    assert problems == []


async def test_an_ementor_gets_no_admin_page_or_api(browser: Any, server: str) -> None:
    tab, _ = await logged_in_tab(browser, server, "anna", "/ementor/queue")
    await expect(tab.get_by_role("heading", name="Kø", exact=True)).to_be_visible()
    await expect(tab.get_by_role("link", name="Admin")).to_have_count(0)  # not offered
    for path in ("/admin/", "/admin/inbox", "/admin/models", "/admin/content", "/admin/phrases", "/admin/stats"):
        response = await tab.goto(server + path)
        assert response is not None and response.status == 403, path
        await expect(tab.get_by_text("Denne side er kun for administratorer.")).to_be_visible()
        await expect(tab.locator("nav.subnav")).to_have_count(0)  # no admin menu either
    api = await tab.evaluate(
        """async () => { const r = await fetch('/api/admin/models'); return [r.status, await r.json()]; }"""
    )
    assert api[0] == 403 and api[1]["code"] == 403


# ---- two real bot processes on one PostgreSQL database -----------------------------------------------------------


@pytest.fixture
def shared_postgres() -> Iterator[str]:
    """A PostgreSQL database of its own, migrated with `ementor db upgrade` (the processes use its public
    schema); dropped afterwards even while something is still connected."""
    with temporary_postgres(os.environ["TEST_DATABASE_URL"], "admin_browser") as url:
        migrate(url)
        yield url


@pytest.fixture
def two_bots(shared_postgres: str, project_model: IntentModel, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Processes A and B (`python -m bot --config … run`) on one database, training with 2 folds; an admin
    `ada` made with `ementor user add`. Their addresses; both are stopped afterwards, whatever happened."""
    model = save_model(project_model, tmp_path / "model.npz")
    gate = f'nlu:\n  gate:\n    folds: 2\n    dev_set: "{DEV_SET}"\n'
    procs: list[subprocess.Popen[bytes]] = []
    ports = [free_port(), free_port()]
    configs = []
    for port in ports:
        path = write_config(tmp_path / f"config-{port}.yml", port, shared_postgres, model)
        path.write_text(path.read_text("utf-8").replace("nlu:\n", gate, 1), "utf-8")
        configs.append(path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMENTOR_")} | {"EMENTOR_NEW_PASSWORD": PASSWORD}
    command = ["user", "add", "ada", "--role", "admin", "--name", "Ada Admin"]
    made = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(configs[0]), *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    try:
        for port, config in zip(ports, configs, strict=True):
            procs.append(start_bot(config, port))
        yield f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"
    finally:
        errors = [stderr_of(p) for p in procs if p.poll() is not None]
        stop_bots(procs)
        assert not errors, errors  # neither process died under the test


@needs_postgres
async def test_two_processes_answer_with_the_model_activated_in_one_within_five_seconds(
    browser: Any, two_bots: tuple[str, str], project_model: IntentModel
) -> None:
    a, b = two_bots
    assert project_model.predict(NOT_UNDERSTOOD).intent == FALLBACK_INTENT
    for base in (a, b):
        assert not any(NEMID_ANSWER in t for t in await say(base, "karen-" + base[-5:], NOT_UNDERSTOOD))

    tab, problems = await logged_in_tab(browser, a, "ada", "/admin/inbox")
    await teach_the_inbox_message(tab, times=2)
    version = await retrain_and_get_it_used(tab)

    listing = await tab.evaluate("async () => (await fetch('/api/admin/models')).json()")
    assert listing["active"] == version
    [row] = [m for m in listing["models"] if m["id"] == version]
    activated = datetime.fromisoformat(row["activated_at"])
    for base in (b, a):  # B first: it learns of the activation only through the database
        answered, _ = await first_answer_with(base, NOT_UNDERSTOOD, NEMID_ANSWER, SWAP_LIMIT)
        assert (answered - activated).total_seconds() <= SWAP_LIMIT, (base, answered, activated)
        async with ClientSession() as http:
            assert (await (await http.get(f"{base}/status")).json())["model_version"] == version

    # a step's Danish text edited in A's console: citizens on A and B are told the new text, no restart
    await edit_the_step(tab)
    for base in (b, a):
        _, texts = await first_answer_with(base, "/" + TOPIC, NEW_DANISH, SWAP_LIMIT)
        assert not any(NEMID_ANSWER in t for t in texts)
    assert problems == []
