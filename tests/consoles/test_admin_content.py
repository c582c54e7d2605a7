"""The admin console's answer texts, used as an admin would (SQLite and PostgreSQL): find a text, edit it beside
the phone preview, get the checker's verdict before saving, save (recorded), revert; an eMentor gets 403 on
every page and call; the JSON API saves and refuses the same way."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import pytest

from bot.booking import audit
from bot.consoles import content
from bot.core import live
from bot.core.clock import ManualClock
from bot.core.text import Text
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.consoles.helpers import NOW, Client, add_user, console_client, logged_in

STEP = "mitid_get.which_way"
EDIT_URL = f"/admin/content/step/{STEP}"
NEW_DA = "Du kan få MitID på to måder. Hvad passer bedst på dig?"
NEW_EN = "You can get MitID in two ways. Which fits you best?"


@pytest.fixture
async def client(project_model: IntentModel, store: Store) -> AsyncIterator[Client]:
    await add_user(store, "anna", "ementor", "Anna Hansen")
    await add_user(store, "ada", "admin", "Ada Admin")
    async with console_client(project_model, store, ManualClock(NOW)) as test_client:
        yield test_client


def text_of(page: str) -> str:
    """The page's words, without tags (and entities decoded), for asserting what an admin reads."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


async def test_the_overview_lists_topics_by_title_the_phrase_groups_and_finds_a_text(client: Client) -> None:
    await logged_in(client, "ada")
    page = await client.get("/admin/content")
    assert page.status == 200
    body = await page.text()
    assert 'href="/admin/content/flows/mitid_get"' in body and "Få MitID" in body
    assert 'href="/admin/content/phrases/booking"' in body and "Booking af tider og workshops" in body
    found = await client.get("/admin/content", params={"q": "to maader"})  # folded: "to måder"
    words = text_of(await found.text())
    assert "fund for »to maader«" in words and f'href="{EDIT_URL}"' in await found.text()
    none = text_of(await (await client.get("/admin/content", params={"q": "zzzyyyxxx"})).text())
    assert "Ingen tekster indeholder »zzzyyyxxx«." in none


async def test_a_topic_shows_its_steps_with_buttons_and_links(client: Client) -> None:
    await logged_in(client, "ada")
    page = await client.get("/admin/content/flows/mitid_get")
    assert page.status == 200
    words = text_of(await page.text())
    assert "Trinene i »Få MitID«" in words and "Du kan få MitID på to måder." in words
    assert "Tal med en eMentor" in words and "Talk to an eMentor" in words  # a choice step's own button
    assert f'href="{EDIT_URL}"' in await page.text()
    assert (await client.get("/admin/content/flows/no_such_topic")).status == 404
    group = await client.get("/admin/content/phrases/booking")
    assert group.status == 200 and 'href="/admin/content/phrase/booking.ask_name"' in await group.text()


async def test_the_form_shows_both_languages_and_a_phone_preview_with_the_steps_buttons(client: Client) -> None:
    await logged_in(client, "ada")
    page = await client.get(EDIT_URL)
    assert page.status == 200
    body = await page.text()
    assert '<textarea id="text-da" name="da"' in body and '<textarea id="text-en" name="en"' in body
    assert 'data-preview="da"' in body and 'data-preview="en"' in body
    assert "/console/static/admin_content.js" in body and "<script>" not in body  # no inline code (CSP)
    words = text_of(body)
    assert "Teksten kan gemmes: den overholder reglerne." in words
    assert "Sådan ser borgeren det på en telefon" in words
    css = await client.get("/console/static/admin_content.css")
    assert css.status == 200 and "width: 360px" in await css.text()


async def test_checking_shows_the_verdict_and_saves_nothing(client: Client, store: Store) -> None:
    csrf = await logged_in(client, "ada")
    hard = "Dokumentationsforpligtelsen vedrørende arbejdsmarkedsydelsesberettigelsen administreres kommunalt."
    page = await client.post(EDIT_URL, data={"csrf": csrf, "da": hard, "en": NEW_EN, "action": "check"})
    assert page.status == 200
    words = text_of(await page.text())
    assert "Teksten kan ikke gemmes endnu:" in words and f"{STEP} (da): LIX" in words
    assert hard in words  # the preview shows what was typed
    assert await store.transaction(content.overrides) == []


async def test_a_refused_save_says_why_in_the_checkers_words(client: Client, store: Store) -> None:
    csrf = await logged_in(client, "ada")
    page = await client.post(EDIT_URL, data={"csrf": csrf, "da": NEW_DA, "en": "", "action": "save"})
    assert page.status == 422
    assert f"{STEP}: text has no `en` translation" in text_of(await page.text())
    long = " ".join(["Tryk her nu."] * 21)
    page = await client.post(EDIT_URL, data={"csrf": csrf, "da": long, "en": NEW_EN, "action": "save"})
    assert page.status == 422 and f"{STEP} (da): 63 words, at most 60" in text_of(await page.text())
    assert await store.transaction(content.overrides) == []
    assert await store.transaction(live.versions) == {}


async def test_a_saved_edit_is_shown_recorded_and_can_be_reverted(client: Client, store: Store) -> None:
    csrf = await logged_in(client, "ada")
    saved = await client.post(
        EDIT_URL, data={"csrf": csrf, "da": NEW_DA, "en": NEW_EN, "action": "save"}, allow_redirects=False
    )
    assert saved.status == 303 and saved.headers["Location"] == f"{EDIT_URL}?saved=1"
    page = text_of(await (await client.get(f"{EDIT_URL}?saved=1")).text())
    assert "Gemt. Botten bruger den nye tekst om få sekunder i alle processer." in page
    assert "Rettet i konsollen" in page and "af Ada Admin" in page and NEW_DA in page
    [line] = await store.transaction(lambda tx: audit.recent(tx, subject=f"step:{STEP}"))
    assert line["detail"]["after"] == {"da": NEW_DA, "en": NEW_EN}
    topic = text_of(await (await client.get("/admin/content/flows/mitid_get")).text())
    assert NEW_DA in topic and "Rettet i konsollen" in topic
    reverted = await client.post(f"{EDIT_URL}/revert", data={"csrf": csrf}, allow_redirects=False)
    assert reverted.status == 303 and reverted.headers["Location"] == f"{EDIT_URL}?reverted=1"
    page = text_of(await (await client.get(f"{EDIT_URL}?reverted=1")).text())
    assert "Filens tekst bruges igen." in page and NEW_DA not in page
    assert await store.transaction(content.overrides) == []
    assert await store.transaction(live.versions) == {live.CONTENT: 2}


async def test_a_phrase_keeps_its_placeholders(client: Client, store: Store) -> None:
    csrf = await logged_in(client, "ada")
    url = "/admin/content/phrase/booking.choose_time"
    page = await client.get(url)
    assert "Skal stå i teksten, præcis sådan: {place}" in text_of(await page.text())
    refused = await client.post(url, data={"csrf": csrf, "da": "Vælg en tid:", "en": "Choose a time – {place}:",
                                           "action": "save"})  # fmt: skip
    assert refused.status == 422
    assert "booking.choose_time (da): the placeholders must stay exactly {place}" in text_of(await refused.text())
    ok = await client.post(url, data={"csrf": csrf, "da": "Vælg en tid hos {place}:", "en": "Pick a time at {place}:",
                                      "action": "save"}, allow_redirects=False)  # fmt: skip
    assert ok.status == 303
    edited = Text("Vælg en tid hos {place}:", "Pick a time at {place}:")
    assert await store.transaction(content.overrides) == [content.Override("phrase", "booking.choose_time", edited)]


async def test_a_form_without_its_csrf_token_changes_nothing(client: Client, store: Store) -> None:
    await logged_in(client, "ada")
    page = await client.post(EDIT_URL, data={"da": NEW_DA, "en": NEW_EN, "action": "save"})
    assert page.status == 403
    assert await store.transaction(content.overrides) == []


async def test_an_ementor_gets_no_content_page_or_call(client: Client, store: Store) -> None:
    csrf = await logged_in(client, "anna")
    for path in ("/admin/content", "/admin/content/flows/mitid_get", EDIT_URL, "/admin/content/phrases/booking"):
        assert (await client.get(path)).status == 403, path
    posted = await client.post(EDIT_URL, data={"csrf": csrf, "da": NEW_DA, "en": NEW_EN, "action": "save"})
    assert posted.status == 403
    api = await client.put(f"/api/admin/content/step/{STEP}", json={"da": NEW_DA, "en": NEW_EN},
                           headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert api.status == 403
    assert (await client.get("/api/admin/content")).status == 403
    assert await store.transaction(content.overrides) == []


async def test_the_api_reads_checks_saves_refuses_and_reverts(client: Client, store: Store) -> None:
    csrf = await logged_in(client, "ada")
    headers = {"X-CSRF-Token": csrf}
    listed = await (await client.get("/api/admin/content")).json()
    assert len(listed["steps"]) > 300 and any(p["key"] == "booking.ask_name" for p in listed["phrases"])
    check = await client.post("/api/admin/content/check", json={"kind": "step", "key": STEP, "da": NEW_DA, "en": ""},
                              headers=headers)  # fmt: skip
    assert (await check.json())["problems"] == [f"{STEP}: text has no `en` translation"]
    refused = await client.put(f"/api/admin/content/step/{STEP}", json={"da": NEW_DA, "en": ""}, headers=headers)
    assert refused.status == 422 and (await refused.json())["problems"] == [f"{STEP}: text has no `en` translation"]
    saved = await client.put(f"/api/admin/content/step/{STEP}", json={"da": NEW_DA, "en": NEW_EN}, headers=headers)
    body = await saved.json()
    assert saved.status == 200 and body["changed"] and body["edited"] and body["text"] == {"da": NEW_DA, "en": NEW_EN}
    one = await (await client.get(f"/api/admin/content/step/{STEP}")).json()
    assert one["edited"] and one["file"]["da"].startswith("Du kan få MitID på to måder. Med et pas")
    assert (await client.get("/api/admin/content/step/mitid_get.nope")).status == 404
    assert (await client.put(f"/api/admin/content/step/{STEP}", json={"da": 3}, headers=headers)).status == 400
    gone = await client.delete(f"/api/admin/content/step/{STEP}", headers=headers)
    assert (await gone.json())["edited"] is False
    assert await store.transaction(content.overrides) == []
