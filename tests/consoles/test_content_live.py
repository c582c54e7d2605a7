"""Edited answer texts are live in every process without a restart (SQLite and PostgreSQL): an admin edits a step
and a button through one app instance and a citizen on the REST channel of another instance on the same
database sees them within seconds; a turn already under way when the texts swap finishes with the old ones;
`ementor flows export --clear` puts the edits in the files and every process then serves the files' texts."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.cli import main
from bot.config import ConversationSettings, Settings
from bot.consoles import content
from bot.core import live
from bot.core.clock import utc_now
from bot.core.messages import Inbound
from bot.core.text import Text
from bot.flows.content import load_files, shelf
from bot.nlu.classifier import IntentModel
from bot.runtime import build_engine, build_runtime, content_reloader
from bot.storage.migrate import upgrade_async
from bot.storage.store import Store
from tests.conftest import ROOT
from tests.consoles.helpers import Client, add_user, logged_in

STEP = "mitid_get.which_way"
NEW_DA = "Du kan få MitID på to måder. Hvad passer bedst på dig?"
NEW_EN = "You can get MitID in two ways. Which fits you best?"
SECONDS = 5.0  # the watcher looks every delivery.poll_seconds (1 s): a few seconds is plenty


def flows_copy(root: Path) -> Path:
    """A flows folder of its own, as a second machine has: its texts change only through its own watcher."""
    folder = root / "flows"
    shutil.copytree(ROOT / "flows", folder)
    return folder


async def say(client: Client, sender: str, message: str) -> list[dict[str, Any]]:
    response = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": message})
    assert response.status == 200, await response.text()
    replies: list[dict[str, Any]] = await response.json()
    return replies


async def test_an_edit_through_one_instance_reaches_a_citizen_on_another(
    project_model: IntentModel, database: tuple[str, str | None], tmp_path: Path
) -> None:
    url, schema = database
    store_a, store_b = Store(url, schema), Store(url, schema)
    await add_user(store_a, "ada", "admin", "Ada Admin")
    settings_a = Settings(conversation=ConversationSettings(flows=str(flows_copy(tmp_path / "a"))))
    settings_b = Settings(conversation=ConversationSettings(flows=str(flows_copy(tmp_path / "b"))))
    try:
        async with (
            TestClient(TestServer(build_app(settings_a, project_model, store_a))) as admin,
            TestClient(TestServer(build_app(settings_b, project_model, store_b))) as citizen,
        ):
            first = await say(citizen, "borger-1", "/mitid_get")
            assert first[0]["text"].startswith("Du kan få MitID på to måder. Med et pas")
            assert "Tal med en eMentor" in [b["title"] for b in first[-1]["buttons"]]
            csrf = await logged_in(admin, "ada")
            for url_path, da, en in (
                (f"/admin/content/step/{STEP}", NEW_DA, NEW_EN),
                ("/admin/content/phrase/texts.buttons.ementor", "Tal med en person", "Talk to a person"),
            ):
                saved = await admin.post(
                    url_path, data={"csrf": csrf, "da": da, "en": en, "action": "save"}, allow_redirects=False
                )
                assert saved.status == 303, await saved.text()
            loop = asyncio.get_running_loop()
            started = loop.time()
            while True:
                replies = await say(citizen, "borger-1", "/mitid_get")
                if replies[0]["text"] == NEW_DA:
                    break
                assert loop.time() - started < SECONDS, "instance B still says the old text"
                await asyncio.sleep(0.1)
            assert "Tal med en person" in [b["title"] for b in replies[-1]["buttons"]]
            # reverting in A: B says the file's text again, as quickly
            await admin.post(f"/admin/content/step/{STEP}/revert", data={"csrf": csrf})
            started = loop.time()
            while (await say(citizen, "borger-1", "/mitid_get"))[0]["text"] == NEW_DA:
                assert loop.time() - started < SECONDS, "instance B still says the reverted text"
                await asyncio.sleep(0.1)
    finally:
        await store_a.close()
        await store_b.close()


async def test_a_turn_under_way_during_a_reload_finishes_with_the_old_texts(
    project_model: IntentModel, store: Store, tmp_path: Path
) -> None:
    settings = Settings(conversation=ConversationSettings(flows=str(flows_copy(tmp_path))))
    runtime = build_runtime(settings, project_model, store)
    dispatcher = runtime.dispatcher
    understood = dispatcher.understand
    inside, release = asyncio.Event(), asyncio.Event()

    async def slow_understanding(text: str) -> Any:
        inside.set()
        await release.wait()  # the turn has begun: the texts swap now
        return await understood(text)

    dispatcher.understand = slow_understanding  # type: ignore[method-assign]
    try:
        turn = asyncio.create_task(dispatcher.handle(Inbound("rest", "borger-1", "/mitid_get", "m1")))
        await inside.wait()
        files = shelf(settings.conversation.flows).base
        await store.transaction(lambda tx: content.save(tx, files, utc_now(), None, "step", STEP, Text(NEW_DA, NEW_EN)))
        await runtime.on_live[live.CONTENT]()  # the reload the watcher would start
        assert runtime.engine.flows["mitid_get"].steps["which_way"].text.da == NEW_DA  # swapped for new turns
        release.set()
        old = await turn
        assert old is not None and old[0].text.startswith("Du kan få MitID på to måder. Med et pas")
        dispatcher.understand = understood  # type: ignore[method-assign]
        new = await dispatcher.handle(Inbound("rest", "borger-1", "/mitid_get", "m2"))
        assert new is not None and new[0].text == NEW_DA
    finally:
        await runtime.close()


CONFIG = """\
version: 1
database:
  url: sqlite+aiosqlite:///{db}
conversation:
  flows: {flows}
"""


def test_export_writes_the_edits_into_the_files_and_clear_serves_them_from_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = flows_copy(tmp_path)
    db = tmp_path / "bot.db"
    config = tmp_path / "config.yml"
    config.write_text(CONFIG.format(db=db, flows=folder), encoding="utf-8")
    url = f"sqlite+aiosqlite:///{db}"
    asyncio.run(upgrade_async(url))
    before = (folder / "mitid_post.yml").read_text("utf-8")

    async def edit() -> None:
        store = Store(url)
        try:
            files = load_files(folder)
            await store.transaction(
                lambda tx: content.save(tx, files, utc_now(), None, "step", STEP, Text(NEW_DA, NEW_EN))
            )
        finally:
            await store.close()

    asyncio.run(edit())
    assert main(["--config", str(config), "flows", "export"]) == 0
    out = capsys.readouterr().out
    assert f"wrote {folder / 'mitid_post.yml'}" in out and "1 edited text(s)" in out and "--clear" in out
    after = (folder / "mitid_post.yml").read_text("utf-8")
    assert after != before and f'da: "{NEW_DA}"' in after and f'en: "{NEW_EN}"' in after
    assert len(after.splitlines()) == len(before.splitlines())
    assert load_files(folder).text_of("step", STEP) == Text(NEW_DA, NEW_EN)
    assert main(["--config", str(config), "flows", "check"]) == 0

    served = build_engine(Settings(conversation=ConversationSettings(flows=str(folder)))).shelf  # a process
    assert main(["--config", str(config), "flows", "export", "--clear"]) == 0
    assert "1 edit(s) cleared" in capsys.readouterr().out

    async def reload() -> tuple[list[content.Override], dict[str, int]]:
        store = Store(url)
        try:
            await content_reloader(store, served)()  # what its watcher does on the announcement
            return await store.transaction(content.overrides), await store.transaction(live.versions)
        finally:
            await store.close()

    left, versions = asyncio.run(reload())
    assert left == [] and versions == {live.CONTENT: 3}  # the edit, the export, the clearing
    assert served.now().edited == frozenset()  # no edit applied: the text comes from the file now
    assert served.now().text_of("step", STEP) == Text(NEW_DA, NEW_EN)
