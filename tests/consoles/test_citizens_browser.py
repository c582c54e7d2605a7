"""/admin/citizens in a real browser (Debian's chromium driven by Playwright), SQLite and PostgreSQL: an admin
finds a citizen by booking reference, downloads the JSON, cannot delete without ticking the box, ticks it and
deletes; the citizen's time is cancelled. Skipped, with the reason, when chromium or Playwright is missing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from bot.storage.store import Store
from tests.booking.helpers import slot_payload
from tests.browser import browser_fixture, expect
from tests.consoles.helpers import add_user
from tests.consoles.test_console_browser import citizen, clock, desk, server

__all__ = ["browser_fixture", "clock", "server"]


async def test_an_admin_finds_downloads_and_deletes_a_citizens_data(
    browser: Any,
    server: TestServer,
    store: Store,
    tmp_path: Path,
) -> None:
    await add_user(store, "ada", "admin", "Ada Admin")
    await citizen(server, "karin", slot_payload("2025-12-05T10:00"))
    await citizen(server, "karin", "/skip")
    done = await citizen(server, "karin", "/skip")
    reference = "\n".join(m.get("text", "") for m in done).split("Reference: ")[1].split()[0]

    tab, problems = await desk(browser, server, "ada")
    await tab.goto(str(server.make_url("/admin/citizens")))
    await tab.get_by_label("Bookingreference").fill(reference)
    await tab.get_by_role("button", name="Find").click()
    await expect(tab.get_by_role("heading", name="Det har vi gemt")).to_be_visible()

    async with tab.expect_download() as waiting:
        await tab.get_by_role("link", name="Hent alt som JSON").click()
    download = await waiting.value
    saved = tmp_path / "citizen.json"
    await download.save_as(saved)
    exported = json.loads(saved.read_text(encoding="utf-8"))
    assert [b["reference"] for b in exported["data"]["bookings"]] == [reference]

    await tab.get_by_role("button", name="Slet borgerens data").click()  # the box is not ticked: nothing sent
    await expect(tab.get_by_role("heading", name="Det har vi gemt")).to_be_visible()
    assert (await store.transaction(lambda tx: tx.fetch("SELECT status FROM bookings")))[0]["status"] == "booked"

    await tab.get_by_label("Ja, slet alt om borgeren").check()
    await tab.get_by_role("button", name="Slet borgerens data").click()
    await expect(tab.get_by_role("status")).to_contain_text("1 aflyste tider")
    rows = await store.transaction(lambda tx: tx.fetch("SELECT status, sender FROM bookings"))
    assert [(r["status"], r["sender"]) for r in rows] == [("cancelled", "anon-erased")]
    assert problems == []
