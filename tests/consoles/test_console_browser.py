"""The eMentor console in a real browser (Debian's chromium driven by Playwright), with citizens on the REST
channel: a citizen joins the queue and the eMentor sees it without reloading, takes the hand-over, reads what
the citizen tried in words, chats both ways, hands to a colleague who ends it; a booking is marked attended
on the day; time is blocked over a booking and the citizen is told. Skipped, with the reason, when chromium or
Playwright is not installed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.app import build_app
from bot.booking import bookings
from bot.core.clock import COPENHAGEN, ManualClock
from bot.core.statuses import BookingStatus
from bot.escalation import accounts
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.booking.helpers import booking_settings
from tests.browser import Problems, browser_fixture, expect  # noqa: F401  (the `browser` fixture)
from tests.consoles.helpers import PASSWORD, add_user

NOW = datetime(2025, 12, 4, 9, 0, tzinfo=UTC)  # Thursday 4 December 2025, 10.00 in Copenhagen


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def server(project_model: IntentModel, store: Store, clock: ManualClock) -> AsyncIterator[TestServer]:
    for username, name in (("anna", "Anna Hansen"), ("bo", "Bo Berg")):
        account = await add_user(store, username, "ementor", name)
        await store.transaction(lambda tx, a=account: accounts.set_online(tx, a, NOW + timedelta(hours=4)))
    app = build_app(booking_settings(), project_model, store, clock)
    async with TestServer(app, host="127.0.0.1") as test_server:
        yield test_server


async def desk(browser: Any, server: TestServer, username: str) -> tuple[Any, Problems]:
    """A laptop-sized tab, logged in as `username` through the login form."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="da-DK")
    tab = await context.new_page()
    problems = Problems()
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    tab.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    await tab.goto(str(server.make_url("/ementor/queue")))
    await tab.get_by_label("Brugernavn").fill(username)
    await tab.get_by_label("Adgangskode").fill(PASSWORD)
    await tab.get_by_role("button", name="Log ind").click()
    await expect(tab.get_by_role("heading", name="Kø", exact=True)).to_be_visible()
    return tab, problems


async def citizen(server: TestServer, sender: str, text: str) -> list[dict[str, Any]]:
    async with ClientSession() as http:
        response = await http.post(server.make_url("/webhooks/rest/webhook"), json={"sender": sender, "message": text})
        assert response.status == 200
        body: list[dict[str, Any]] = await response.json()
        return body


async def pulled(server: TestServer, sender: str) -> list[str]:
    async with ClientSession() as http:
        response = await http.get(server.make_url("/webhooks/rest/messages"), params={"sender": sender})
        return [m["text"] for m in await response.json()]


def payload(replies: list[dict[str, Any]], title: str) -> str:
    return next(b["payload"] for r in replies for b in r.get("buttons", []) if b["title"] == title)


async def test_a_hand_over_from_queue_to_colleague_to_end(browser: Any, server: TestServer, store: Store) -> None:
    anna, anna_problems = await desk(browser, server, "anna")
    await expect(anna.get_by_text("Ingen borgere venter lige nu.")).to_be_visible()

    # the citizen goes through the MitID flow, gets stuck and asks for a person
    replies = await citizen(server, "karen", "min mitid app virker ikke")
    replies = await citizen(server, "karen", payload(replies, "Appen er spærret"))
    await citizen(server, "karen", "jeg vil gerne tale med et menneske")

    # Anna sees her in the queue without reloading, and the menu counts her
    row = anna.locator("#queue-rows tr[data-handover]")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("MitID virker ikke")
    await expect(anna.locator("#queue-count")).to_have_text("(1)")

    await row.get_by_role("button", name="Tag samtalen").click()
    await expect(anna.get_by_role("heading", level=1)).to_contain_text("MitID virker ikke")
    # what she tried, in the bot's words, with the button she pressed — not step ids
    tried = anna.locator("#tried")
    await expect(tried).to_contain_text("«Hvad er problemet?» → Appen er spærret")
    await expect(anna.locator("#transcript")).to_contain_text("trykkede: Appen er spærret")
    assert "what_wrong" not in await anna.locator("main").inner_text()
    assert any("Du taler nu med Anna" in t for t in await pulled(server, "karen"))

    # chat both ways: the citizen's answer arrives without reloading
    await anna.get_by_label("Skriv til borgeren").fill("Hej Karen, jeg kigger på det.")
    await anna.get_by_role("button", name="Send", exact=True).click()
    await expect(anna.locator("#messages li.ementor")).to_contain_text("Hej Karen, jeg kigger på det.")
    assert any("Hej Karen, jeg kigger på det." in t for t in await pulled(server, "karen"))
    await citizen(server, "karen", "tak, det er appen på min telefon")
    await expect(anna.locator("#messages li.citizen")).to_contain_text("tak, det er appen på min telefon")

    # a saved reply goes into the box, to be read before sending
    await anna.get_by_role("button", name="Et øjeblik").click()
    await expect(anna.get_by_label("Skriv til borgeren")).to_have_value("Et øjeblik – jeg kigger på det.")
    await anna.get_by_label("Skriv til borgeren").fill("")

    # Anna hands her to Bo, who ends the conversation
    await anna.get_by_label("Giv samtalen videre").select_option(label="Bo Berg")
    await anna.get_by_role("button", name="Giv videre").click()
    await expect(anna.get_by_text("Samtalen er givet videre.")).to_be_visible()
    bo, bo_problems = await desk(browser, server, "bo")
    await bo.locator("#queue-rows tr[data-handover]").get_by_role("link", name="Åbn").click()
    await expect(bo.locator("#status-line")).to_contain_text("I gang med Bo Berg")
    await expect(bo.locator("#messages")).to_contain_text("tak, det er appen på min telefon")  # the chat so far
    await bo.get_by_label("Private noter (ses kun af eMentorer)").fill("Appen var spærret; hjalp med ny PIN.")
    await bo.get_by_label("Resultat").select_option("solved")
    await bo.get_by_role("button", name="Gem").click()
    await expect(bo.get_by_text("Gemt.")).to_be_visible()
    await bo.get_by_role("button", name="Afslut samtalen").click()
    await expect(bo.locator("#status-line")).to_contain_text("Afsluttet (afsluttet af Bo Berg)")
    told = await pulled(server, "karen")
    assert any("Du bliver nu hjulpet af Bo, eMentor." in t for t in told), told
    assert any("eMentoren har afsluttet samtalen. Jeg er tilbage." in t for t in told), told

    # Anna finds it in the history, with who ended it and the outcome
    await anna.goto(str(server.make_url("/ementor/history")))
    history = anna.locator("table.history tbody tr")
    await expect(history).to_have_count(1)
    await expect(history).to_contain_text("afsluttet af Bo Berg")
    await expect(history).to_contain_text("Løst")
    assert anna_problems == [] and bo_problems == []


async def _booking(store: Store, sender: str, start: datetime) -> str:
    request = bookings.Request(
        kind="slot",
        resource=bookings.resource_of("slot", "lab", start),
        capacity=1,
        location="lab",
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        channel="rest",
        sender=sender,
        language="da",
        topic="mitid_login_problem",
        tried=[{"flow": "mitid_login_problem", "step": "what_wrong", "outcome": "chose", "answer": "choice:1"}],
        name="Lis",
    )
    row = await store.transaction(lambda tx: bookings.reserve(tx, request, BookingStatus.BOOKED, NOW))
    assert row is not None
    return row["reference"]


async def test_attendance_on_the_day_and_a_block_over_a_booking(
    browser: Any, server: TestServer, store: Store, clock: ManualClock
) -> None:
    today = datetime(2025, 12, 4, 10, 30, tzinfo=COPENHAGEN)
    tomorrow = datetime(2025, 12, 5, 10, 0, tzinfo=COPENHAGEN)
    reference = await _booking(store, "lis", today)
    later = await _booking(store, "ole", tomorrow)
    anna, problems = await desk(browser, server, "anna")

    await anna.goto(str(server.make_url("/ementor/")))
    row = anna.locator(f"#booking-{reference}")
    await expect(row).to_contain_text("Lis")
    await expect(row).to_contain_text("Kan markeres fra kl. 10.30")  # not before the time has started
    for _ in range(2):  # 10.40, the page used in between (an idle login ends after 30 minutes)
        clock.advance(timedelta(minutes=20))
        await anna.reload()
    await row.get_by_role("button", name="Mødt").click()
    await expect(anna.get_by_text("Markeret.")).to_be_visible()
    await expect(anna.locator(f"#booking-{reference} .status")).to_contain_text("Mødt")
    await expect(anna.locator(f"#booking-{reference} .status")).to_contain_text("markeret af Anna Hansen kl. 10.40")
    # a mistake can be put right
    await anna.locator(f"#booking-{reference}").get_by_role("button", name="Fortryd markering").click()
    await expect(anna.locator(f"#booking-{reference} .status")).to_contain_text("Booket")

    # blocking tomorrow morning would take Ole's time: warned first, then he is told
    await anna.goto(str(server.make_url("/ementor/blocks")))
    await anna.get_by_label("Dato").fill("2025-12-05")
    await anna.get_by_label("Fra kl.").fill("09:00")
    await anna.get_by_label("Til kl.").fill("12:00")
    await anna.get_by_label("Grund (ses kun af eMentorer)").fill("Personalemøde")
    await anna.get_by_role("button", name="Bloker tid").click()
    warning = anna.get_by_role("alert")
    await expect(warning).to_contain_text("Der er 1 booket tid")
    await expect(warning).to_contain_text(later)
    await anna.get_by_role("button", name="Bloker og aflys 1 tid").click()
    await expect(anna.get_by_text("Tiden er blokeret, og 1 borger har fået besked.")).to_be_visible()
    told = await pulled(server, "ole")
    assert told and "5. december" in told[0], told
    cancelled = await store.transaction(lambda tx: bookings.by_reference(tx, later))
    assert cancelled is not None and cancelled["status"] == BookingStatus.CANCELLED
    audit = await store.transaction(lambda tx: tx.fetch("SELECT action, detail FROM audit_log ORDER BY id"))
    assert [a["action"] for a in audit][:2] == ["attendance", "attendance"]
    assert "Personalemøde" not in json.dumps([dict(a) for a in audit])  # reasons stay on the block
    assert problems == []
