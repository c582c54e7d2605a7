"""The citizens' web chat in a real browser (Debian's chromium driven by Playwright) on a 360 px phone screen.

The real app serves the page and answers through the REST channel with the real NLU and database, so these
tests see what a citizen sees. Skipped, with the reason, when chromium or Playwright is not installed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.app import RUNTIME_KEY, build_app
from bot.config import ChannelSettings
from bot.core.messages import Button, File, Inbound, Outbound
from bot.core.ports import StorageUnavailable
from bot.delivery.outbox import enqueue
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.booking.helpers import Clock, booking_settings
from tests.browser import Problems, browser_fixture, expect  # noqa: F401  (the `browser` fixture)
from tests.conftest import ROOT, app_settings

SCREENSHOT = ROOT / "results" / "webchat.png"
WIDTH, HEIGHT = 360, 740


@pytest.fixture
async def app_server(project_model: IntentModel, store: Store) -> AsyncIterator[TestServer]:
    async with TestServer(build_app(app_settings(), project_model, store), host="127.0.0.1") as server:
        yield server


@contextlib.asynccontextmanager
async def phone_tab(browser: Any, server: TestServer) -> AsyncIterator[tuple[Any, Problems]]:
    """The chat opened on a 360 px touch phone, with every script error, console error and dialog recorded."""
    context = await browser.new_context(
        viewport={"width": WIDTH, "height": HEIGHT},
        is_mobile=True,
        has_touch=True,
        base_url=str(server.make_url("")),
    )
    tab = await context.new_page()
    problems = Problems()
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    tab.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)

    async def dialog(d: Any) -> None:
        problems.append(f"dialog: {d.message}")
        await d.dismiss()

    tab.on("dialog", dialog)
    await tab.goto("/")
    try:
        yield tab, problems
    finally:
        await context.close()


@pytest.fixture
async def page(browser: Any, app_server: TestServer) -> AsyncIterator[tuple[Any, Problems]]:
    async with phone_tab(browser, app_server) as opened:
        yield opened


def bot_messages(tab: Any) -> Any:
    return tab.locator("#log .msg.bot p")


def choices(tab: Any) -> Any:
    return tab.locator("#choices button")


async def ask(tab: Any, text: str) -> None:
    await tab.get_by_label(re.compile("Skriv dit spørgsmål|Write your question")).fill(text)
    await tab.get_by_role("button", name="Send", exact=True).click()


async def kept_sender(tab: Any) -> str:
    """The conversation key of the page's signed sender id (its unsigned part: all the server keeps)."""
    signed = await tab.evaluate("() => JSON.parse(localStorage.getItem('ementor-webchat-v1')).sender")
    assert re.fullmatch(r"s-[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{32}", signed), signed
    return str(signed).split(".")[0]


async def opened(tab: Any) -> None:
    """A first visit opens with the welcome and the topics."""
    await expect(bot_messages(tab).first).to_contain_text(re.compile("velkommen", re.IGNORECASE))
    await expect(choices(tab).first).to_be_visible()


async def test_question_answer_and_next_step(page: tuple[Any, Problems], capsys: pytest.CaptureFixture[str]) -> None:
    tab, problems = page
    await opened(tab)
    await ask(tab, "hvordan bestiller jeg straffeattest")
    await expect(tab.locator("#log .msg.user p").last).to_have_text("hvordan bestiller jeg straffeattest")
    await expect(bot_messages(tab).last).to_contain_text("straffeattest")
    await expect(choices(tab)).to_have_text(["Ja", "Nej", "Tal med en eMentor"])
    await expect(tab.locator("[aria-live=polite]")).to_contain_text("Har du MitID?")

    await choices(tab).first.click()
    await expect(tab.locator("#log .msg.user p").last).to_have_text("Ja")
    await expect(bot_messages(tab).last).to_contain_text("Log ind med MitID")
    await expect(choices(tab).first).to_have_text("Det virkede")
    await expect(tab.locator("[aria-live=polite]")).to_contain_text("Log ind med MitID")

    link = bot_messages(tab).last.get_by_role("link", name=re.compile("Bestil på politi.dk"))
    await expect(link).to_have_attribute("href", re.compile(r"^https://politi\.dk/"))
    await expect(link).to_have_attribute("target", "_blank")
    await expect(link).to_have_attribute("rel", re.compile(r"\bnoopener\b"))

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    await tab.screenshot(path=str(SCREENSHOT))
    with capsys.disabled():
        print(f"\nweb chat screenshot: {SCREENSHOT}")
    assert not problems, problems


async def test_fits_a_360_px_phone_with_large_text_and_big_buttons(page: tuple[Any, Problems]) -> None:
    tab, problems = page
    await opened(tab)
    await ask(tab, "x" * 300 + " https://www.example.org/" + "a" * 200)
    await expect(tab.locator("#log .msg.user p")).to_have_count(1)
    await expect(choices(tab).first).to_be_visible()
    sizes: dict[str, Any] = await tab.evaluate(
        """() => {
          const box = (e) => e.getBoundingClientRect();
          const px = (e) => parseFloat(getComputedStyle(e).fontSize);
          const buttons = [...document.querySelectorAll('button')].filter((b) => b.offsetParent);
          return {
            scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
            smallest_text: Math.min(...[...document.querySelectorAll('.msg p, input, button, label')].map(px)),
            lowest_button: Math.min(...buttons.map((b) => box(b).height)),
            choice_widths: [...document.querySelectorAll('#choices button')].map((b) => box(b).width),
            column: box(document.querySelector('#choices')).width,
          };
        }"""
    )
    assert sizes["scroll"] <= sizes["client"] == WIDTH, "the page scrolls sideways on a 360 px screen"
    assert sizes["smallest_text"] >= 18
    assert sizes["lowest_button"] >= 48
    assert all(w == pytest.approx(sizes["column"], abs=1) for w in sizes["choice_widths"])
    assert sizes["column"] >= WIDTH - 32
    assert not problems, problems


async def test_the_text_box_stays_in_reach_and_the_answer_starts_in_view(page: tuple[Any, Problems]) -> None:
    """On a 360 px phone, after an answer with many choices, the citizen still sees where the answer starts
    and can type without scrolling: the box is pinned at the bottom, as in messaging apps."""
    tab, problems = page
    await opened(tab)
    for question in ("hvordan bestiller jeg straffeattest", "start forfra", "hjælp"):
        await ask(tab, question)
        await expect(tab.locator("#log .msg.user p").last).to_have_text(question)
        await expect(choices(tab).first).to_be_visible()
        # the box is on screen, and the answer's start is in view above it (waits for the scroll to settle)
        await tab.wait_for_function(
            """() => {
              const box = (e) => e.getBoundingClientRect();
              const users = document.querySelectorAll('#log .msg.user');
              const answer = users[users.length - 1].nextElementSibling;
              const input = box(document.querySelector('#input'));
              const composer = box(document.querySelector('#composer'));
              return answer && input.top >= 0 && input.bottom <= window.innerHeight
                && box(answer).top >= 0 && box(answer).top < composer.top;
            }""",
            timeout=5000,
        )
    await tab.get_by_label("Skriv dit spørgsmål").fill("ja")
    await expect(tab.get_by_label("Skriv dit spørgsmål")).to_have_value("ja")
    assert not problems, problems


async def test_conversation_survives_a_reload(page: tuple[Any, Problems], store: Store) -> None:
    tab, problems = page
    await opened(tab)
    await ask(tab, "hvordan bestiller jeg straffeattest")
    await expect(choices(tab)).to_have_text(["Ja", "Nej", "Tal med en eMentor"])
    before = await tab.locator("#log .msg").all_inner_texts()
    sender = await kept_sender(tab)

    await tab.reload()
    await expect(tab.locator("#log .msg")).to_have_text(before)
    await expect(choices(tab)).to_have_text(["Ja", "Nej", "Tal med en eMentor"])
    await choices(tab).first.click()
    await expect(bot_messages(tab).last).to_contain_text("Log ind med MitID")
    turns = await store.recent_turns("rest", sender)
    assert [t["intent"] for t in turns] == ["greet", "criminal_record", "choose"]
    assert not problems, problems


async def test_start_forfra_clears_the_screen_and_shows_the_topics(page: tuple[Any, Problems]) -> None:
    tab, problems = page
    await opened(tab)
    await ask(tab, "hvordan bestiller jeg straffeattest")
    await expect(choices(tab).first).to_have_text("Ja")
    await tab.get_by_role("button", name="Start forfra").click()
    await expect(bot_messages(tab)).to_have_text(["Vælg et emne, eller skriv dit spørgsmål med dine egne ord."])
    await expect(tab.locator("#log .msg.user p")).to_have_count(0)
    await expect(choices(tab).first).to_have_text("MitID virker ikke")
    assert not problems, problems


async def test_switches_to_english_and_back(page: tuple[Any, Problems]) -> None:
    tab, problems = page
    await opened(tab)
    await expect(tab.locator("html")).to_have_attribute("lang", "da")
    await tab.get_by_role("button", name="English", exact=True).first.click()
    await expect(bot_messages(tab).filter(has_text="I will write in English now.")).to_have_count(1)
    await expect(tab.locator("html")).to_have_attribute("lang", "en")
    await expect(tab.get_by_label("Write your question")).to_be_visible()
    await expect(tab.get_by_role("button", name="Start again")).to_be_visible()
    await expect(choices(tab).first).to_have_text("MitID is not working")

    await tab.locator("#language").click()
    await expect(tab.locator("html")).to_have_attribute("lang", "da")
    await expect(bot_messages(tab).last).to_contain_text("Vælg et emne")
    assert not problems, problems


async def test_keyboard_only(page: tuple[Any, Problems]) -> None:
    tab, problems = page
    await opened(tab)
    outlines = []
    for _ in range(30):
        await tab.keyboard.press("Tab")
        focused = await tab.evaluate(
            "() => { const e = document.activeElement, s = getComputedStyle(e);"
            " return {id: e.id, outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2}; }"
        )
        outlines.append(focused["outline"])
        if focused["id"] == "input":
            break
    assert focused["id"] == "input", "the message field cannot be reached with Tab"
    assert all(outlines), "an element has no visible focus"

    await tab.keyboard.type("hvordan bestiller jeg straffeattest")
    await tab.keyboard.press("Enter")
    await expect(bot_messages(tab).last).to_contain_text("Har du MitID?")
    await expect(tab.locator("#input")).to_be_focused()
    await expect(tab.locator("[aria-live=polite]")).to_contain_text("Har du MitID?")

    await tab.keyboard.press("Shift+Tab")  # the last choice, just above the field
    await expect(choices(tab).last).to_be_focused()
    await tab.keyboard.press("Shift+Tab")
    await tab.keyboard.press("Shift+Tab")
    await expect(choices(tab).first).to_be_focused()
    await tab.keyboard.press("Enter")
    await expect(bot_messages(tab).last).to_contain_text("Log ind med MitID")
    await expect(choices(tab).first).to_be_focused()  # the next question's first choice, not lost focus
    assert not problems, problems


CONTRAST = """() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const channel = (v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
  const lum = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (e) => {
    for (; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || c[3] > 0) return c;
    }
    return [255, 255, 255];
  };
  const ratio = (a, b) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
  const seen = ["h1", ".intro", ".tool", ".msg.bot p", ".msg.user p", ".choice", "label", "#input", ".send"];
  return seen.map((s) => {
    const e = document.querySelector(s);
    return [s, Math.round(100 * ratio(rgb(getComputedStyle(e).color), background(e))) / 100];
  });
}"""


async def test_accessible_names_contrast_and_live_region(page: tuple[Any, Problems]) -> None:
    tab, problems = page
    await opened(tab)
    await ask(tab, "hej")
    await expect(tab.locator("#log .msg.user p")).to_have_count(1)
    low = [(s, r) for s, r in await tab.evaluate(CONTRAST) if r < 4.5]
    assert not low, f"text below WCAG AA contrast 4.5:1: {low}"
    await expect(tab.locator("[aria-live=polite]")).to_contain_text("Velkommen")
    assert await tab.locator("#choices > :not(button)").count() == 0
    for name in ["English", "Start forfra", "Send", "MitID virker ikke"]:
        await expect(tab.get_by_role("button", name=name, exact=True).first).to_be_visible()
    await expect(tab.get_by_role("textbox", name="Skriv dit spørgsmål")).to_be_visible()
    assert not problems, problems


async def test_user_text_is_shown_as_text_never_as_html(page: tuple[Any, Problems]) -> None:
    tab, problems = page
    await opened(tab)
    attack = "<img src=x onerror=alert(1)>"
    await ask(tab, attack)
    await expect(tab.locator("#log .msg.user p").last).to_have_text(attack)
    await expect(bot_messages(tab).last).to_contain_text("anden måde")
    assert await tab.locator("#log img, #choices img").count() == 0
    await tab.reload()  # and again from the saved history
    await expect(tab.locator("#log .msg.user p").last).to_have_text(attack)
    assert await tab.locator("#log img").count() == 0
    assert not problems, problems


async def test_malicious_bot_message_is_shown_as_text(page: tuple[Any, Problems]) -> None:
    tab, problems = page
    await opened(tab)
    evil = '<img src=x onerror=alert(1)><script>alert(2)</script> <a href="javascript:alert(3)">x</a>'

    async def reply(route: Any) -> None:
        await route.fulfill(
            json=[
                {
                    "recipient_id": "x",
                    "text": evil + "\nKlik: javascript:alert(4)",
                    "buttons": [{"title": "<b onmouseover=alert(5)>Ja</b>", "payload": "/affirm"}],
                }
            ]
        )

    await tab.route("**/webhooks/rest/webhook", reply)
    await ask(tab, "hej")
    await expect(bot_messages(tab).last).to_contain_text(evil)
    await expect(choices(tab)).to_have_text(["<b onmouseover=alert(5)>Ja</b>"])
    assert await tab.locator("#log img, #log script, #log b, #choices b, a[href^='javascript']").count() == 0
    assert not problems, problems


async def test_kind_message_when_the_server_answers_503_and_retry_works(
    page: tuple[Any, Problems], app_server: TestServer
) -> None:
    tab, problems = page
    await opened(tab)
    dispatcher = app_server.app[RUNTIME_KEY].dispatcher
    real_handle = dispatcher.handle

    async def database_away(inbound: Inbound) -> list[Outbound] | None:
        raise StorageUnavailable("test")

    dispatcher.handle = database_away  # type: ignore[method-assign]
    await ask(tab, "hvordan bestiller jeg straffeattest")
    await expect(tab.locator("#notice")).to_contain_text("Der er et teknisk problem lige nu")
    await expect(tab.locator("#input")).to_have_value("hvordan bestiller jeg straffeattest")
    await expect(tab.locator("#log .msg.user p")).to_have_count(0)
    await expect(tab.locator("[aria-live=polite]")).to_contain_text("teknisk problem")

    dispatcher.handle = real_handle  # type: ignore[method-assign]
    await tab.get_by_role("button", name="Prøv igen").click()
    await expect(bot_messages(tab).last).to_contain_text("Har du MitID?")
    await expect(tab.locator("#notice")).to_be_hidden()
    await expect(tab.locator("#input")).to_have_value("")
    problems[:] = [p for p in problems if "503" not in p]  # the browser logs the failed request itself
    assert not problems, problems


async def test_clear_message_when_the_server_is_unreachable(page: tuple[Any, Problems], app_server: TestServer) -> None:
    tab, _ = page
    await opened(tab)
    await app_server.close()
    await ask(tab, "hej")
    await expect(tab.locator("#notice")).to_contain_text("Der er ingen forbindelse til chatten lige nu")
    await expect(tab.get_by_role("button", name="Prøv igen")).to_be_visible()
    await expect(tab.locator("#input")).to_have_value("hej")


async def test_a_message_from_the_outbox_appears_without_typing_with_a_calendar_download(
    page: tuple[Any, Problems], store: Store
) -> None:
    tab, problems = page
    await opened(tab)
    sender = await kept_sender(tab)
    ics = File("calendar/ABC123.ics", "ementor.ics", "text/calendar", "BEGIN:VCALENDAR")
    confirmation = Outbound("Hej, det er Mette fra eMentor-teamet. Din tid er torsdag den 3. december kl. 10.30.")
    choice = Outbound("Passer tiden?", buttons=(Button("Ja, tak", "/affirm"), Button("Nej", "/deny")), file=ics)
    now = datetime.now(UTC)
    await store.transaction(lambda tx: enqueue(tx, "handover", "rest", sender, [confirmation, choice], now, now))

    await expect(tab.locator("#log .msg.bot p").filter(has_text="Mette fra eMentor-teamet")).to_have_count(1)
    await expect(choices(tab)).to_have_text(["Ja, tak", "Nej"])
    download = tab.get_by_role("link", name="Gem i kalender")
    await expect(download).to_have_attribute("download", "ABC123.ics")
    await expect(download).to_have_attribute("href", re.compile(r"/calendar/ABC123\.ics$"))
    await expect(tab.locator("[aria-live=polite]")).to_contain_text("Mette fra eMentor-teamet")
    box = await download.bounding_box()
    assert box is not None and box["height"] >= 48

    await tab.reload()  # kept in the history, shown once
    await expect(tab.get_by_role("link", name="Gem i kalender")).to_have_count(1)
    await expect(tab.locator("#log .msg.bot p").filter(has_text="Mette fra eMentor-teamet")).to_have_count(1)
    assert not problems, problems


@pytest.fixture
async def booking_page(browser: Any, project_model: IntentModel, store: Store) -> AsyncIterator[tuple[Any, Problems]]:
    """The chat on an app with workshop locations and a clock on Monday 1 December 2025, 8.00."""
    app = build_app(booking_settings(), project_model, store, Clock())
    async with TestServer(app, host="127.0.0.1") as server, phone_tab(browser, server) as opened:
        yield opened


async def test_booking_a_time_by_tapping_ends_with_a_calendar_file(booking_page: tuple[Any, Problems]) -> None:
    tab, problems = booking_page
    await opened(tab)
    await ask(tab, "jeg vil gerne booke en tid hos en eMentor")
    await expect(bot_messages(tab).last).to_contain_text("Hvor vil du have hjælp")
    await choices(tab).filter(has_text="Testvej").click()
    await expect(choices(tab).first).to_have_text(re.compile(r"i dag kl\. 9\.00"))
    await choices(tab).first.click()
    await expect(bot_messages(tab).last).to_contain_text("Vil du booke i dag, mandag den 1. december kl. 9.00?")
    await choices(tab).filter(has_text="Ja, book tiden").click()
    await expect(bot_messages(tab).last).to_contain_text("fornavn")
    await ask(tab, "Anna")
    await expect(bot_messages(tab).last).to_contain_text("telefonnummer")
    await choices(tab).filter(has_text="Spring over").click()
    confirmation = tab.locator("#log .msg.bot p").filter(has_text="Din tid er booket")
    await expect(confirmation).to_contain_text("mandag den 1. december kl. 9.00")
    await expect(confirmation).to_contain_text("Reference:")
    download = tab.get_by_role("link", name="Gem i kalender")
    await expect(download).to_have_attribute("href", re.compile(r"/calendar/[A-Za-z0-9_-]+\.ics$"))
    calendar = await tab.request.get(await download.get_attribute("href"))
    assert calendar.status == 200 and "DTSTART;TZID=Europe/Copenhagen:20251201T090000" in await calendar.text()
    await expect(choices(tab)).to_have_text(["Mine tider", "Aflys eller flyt"])
    assert not problems, problems


async def test_with_signed_ids_required_the_chat_works_under_its_csp(
    browser: Any, project_model: IntentModel, store: Store
) -> None:
    """The page asks the server for a signed sender id, keeps it, and talks with it; an id kept from before
    (not signed) is replaced, not refused; nothing on the page breaks the Content-Security-Policy (Chromium
    reports each violation as a console error)."""
    settings = dataclasses.replace(app_settings(), channels=ChannelSettings(require_signed_sender=True))
    async with (
        TestServer(build_app(settings, project_model, store), host="127.0.0.1") as server,
        phone_tab(browser, server) as (tab, problems),
    ):
        await opened(tab)  # the first greeting answered before the reload (else the page greets twice)
        loaded = await tab.reload()
        policy = loaded.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        await opened(tab)
        await ask(tab, "hvordan bestiller jeg straffeattest")
        await expect(choices(tab)).to_have_text(["Ja", "Nej", "Tal med en eMentor"])
        key = await kept_sender(tab)
        assert [t["intent"] for t in await store.recent_turns("rest", key)] == ["greet", "criminal_record"]

        await tab.evaluate(
            """() => {
              const kept = JSON.parse(localStorage.getItem('ementor-webchat-v1'));
              kept.sender = 'web-0123456789abcdef0123456789abcdef';
              localStorage.setItem('ementor-webchat-v1', JSON.stringify(kept));
            }"""
        )
        await tab.reload()
        await choices(tab).first.click()
        await expect(bot_messages(tab).last).to_contain_text("Log ind med MitID")
        assert await kept_sender(tab) != key
        assert not problems, problems
