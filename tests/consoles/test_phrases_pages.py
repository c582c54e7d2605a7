"""The admin console's training phrases and "not understood" inbox pages, as an admin uses them (SQLite and
PostgreSQL): find, add, edit, delete, a conflict that needs a decision, import; the inbox grouped, redacted,
resolved one message or a whole group at a time; an eMentor reaches none of it."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.core.clock import ManualClock
from bot.nlu import inbox
from bot.nlu.classifier import IntentModel
from bot.storage.store import Store
from tests.consoles.helpers import NOW, Client, add_user, console_client, logged_in

FORMS = re.compile(r'<form method="post" action="([^"]+)"')


@pytest.fixture
async def client(project_model: IntentModel, store: Store) -> AsyncIterator[Client]:
    await add_user(store, "anna", "ementor", "Anna Hansen")
    await add_user(store, "ada", "admin", "Ada Admin")
    async with console_client(project_model, store, ManualClock(NOW)) as test_client:
        yield test_client


async def post(client: Client, path: str, csrf: str, **data: Any) -> Any:
    return await client.post(path, data={"csrf": csrf, **data}, allow_redirects=False)


async def phrase_rows(store: Store, text: str) -> list[dict[str, Any]]:
    return await store.transaction(lambda tx: tx.fetch("SELECT * FROM nlu_phrases WHERE text = :t", t=text))


async def keep(store: Store, text: str, reason: str = "fallback", guesses: Any = None) -> int:
    async def work(tx: Any) -> int:
        rows = await tx.fetch(
            "INSERT INTO inbox_items (created_at, channel, language, text, reason, guesses, status)"
            " VALUES (:now, 'rest', 'da', :text, :reason, :guesses, 'open') RETURNING id",
            now=NOW,
            text=text,
            reason=reason,
            guesses=json.dumps(guesses or [{"intent": "mitid_get", "confidence": 0.41}]),
        )
        return int(rows[0]["id"])

    result: int = await store.transaction(work)
    return result


async def test_the_phrases_page_lists_every_topic_with_counts_and_searches(client: Client) -> None:
    await logged_in(client, "ada")
    page = await client.get("/admin/phrases")
    text = await page.text()
    assert page.status == 200 and 'data-intent="mitid_get"' in text and 'data-intent="out_of_scope"' in text
    found = await (await client.get("/admin/phrases?q=kodeviser")).text()
    assert 'data-intent="mitid_get"' in found and 'data-intent="jobnet_cv"' not in found
    intent = await client.get("/admin/phrases/mitid_get?language=en&q=mitid")
    body = await intent.text()
    assert intent.status == 200 and "how" in body.lower() and "hvordan faar jeg et mitid" not in body
    assert (await client.get("/admin/phrases/no_such_topic")).status == 404
    english = await (await client.get("/admin/phrases", cookies={"console_lang": "en"})).text()
    assert "Training phrases" in english


async def test_add_edit_delete_from_the_page(client: Client, store: Store) -> None:
    csrf = await logged_in(client, "ada")
    added = await post(client, "/admin/phrases/add", csrf, intent="mitid_get", language="da",
                       text="hvordan skaffer jeg et mitid")  # fmt: skip
    assert added.status == 303 and added.headers["Location"].startswith("/admin/phrases/mitid_get")
    shown = await (await client.get(added.headers["Location"] + "&q=skaffer")).text()
    assert "Sætningen er tilføjet." in shown and 'value="hvordan skaffer jeg et mitid"' in shown
    [row] = await phrase_rows(store, "hvordan skaffer jeg et mitid")
    assert row["source"] == "console" and row["created_by"] is not None

    edited = await post(client, f"/admin/phrases/{row['id']}/edit", csrf, text="hvordan skaffer jeg mig et mitid")
    assert edited.status == 303
    assert await phrase_rows(store, "hvordan skaffer jeg mig et mitid") != []
    deleted = await post(client, f"/admin/phrases/{row['id']}/delete", csrf)
    assert deleted.status == 303 and await phrase_rows(store, "hvordan skaffer jeg mig et mitid") == []
    actions = await store.transaction(lambda tx: tx.fetch("SELECT action FROM audit_log ORDER BY id"))
    assert [a["action"] for a in actions] == ["phrase_added", "phrase_edited", "phrase_deleted"]
    again = await post(client, f"/admin/phrases/{row['id']}/delete", csrf)
    assert again.status == 404


async def test_a_conflict_is_shown_and_saved_only_when_confirmed(client: Client, store: Store) -> None:
    csrf = await logged_in(client, "ada")
    text = "jeg kan ikke logge ind på jobnet med mitid"  # the model gives it to another topic, sure of it
    warned = await post(client, "/admin/phrases/add", csrf, intent="thanks", language="da", text=text)
    body = await warned.text()
    assert warned.status == 409 and "Den nuværende model forstår sætningen som" in body
    assert await phrase_rows(store, text) == []
    assert 'name="confirm" value="1"' in body and 'action="/admin/phrases/add"' in body
    saved = await post(client, "/admin/phrases/add", csrf, intent="thanks", language="da", text=text, confirm="1")
    assert saved.status == 303 and [r["intent"] for r in await phrase_rows(store, text)] == ["thanks"]
    # another topic's phrase: moved only when the admin says so
    moved = await post(client, "/admin/phrases/add", csrf, intent="mitid_login_problem", language="da", text=text)
    assert moved.status == 409 and "findes allerede under emnet thanks" in await moved.text()
    moved = await post(client, "/admin/phrases/add", csrf, intent="mitid_login_problem", language="da", text=text,
                       move="1", confirm="1")  # fmt: skip
    assert moved.status == 303 and [r["intent"] for r in await phrase_rows(store, text)] == ["mitid_login_problem"]


@pytest.mark.parametrize(
    ("text", "says"),
    [("", "Skriv en sætning."), ("ring på 22 33 44 55", "personlige oplysninger"), ("x" * 301, "300 tegn")],
)
async def test_a_bad_phrase_gets_a_clear_answer(client: Client, store: Store, text: str, says: str) -> None:
    csrf = await logged_in(client, "ada")
    response = await post(client, "/admin/phrases/add", csrf, intent="mitid_get", language="da", text=text)
    assert response.status == 400 and says in await response.text()


async def test_import_pasted_and_uploaded(client: Client, store: Store) -> None:
    csrf = await logged_in(client, "ada")
    document = (
        'version: "3.1"\nnlu:\n- intent: mitid_get\n  examples: |\n    - hvordan opretter jeg et helt nyt mitid\n'
    )
    pasted = await post(client, "/admin/phrases/import", csrf, yaml=document, language="da")
    body = await pasted.text()
    assert pasted.status == 200 and "Tilføjet: 1" in body and "Sprunget over: 0" in body
    form = aiohttp.FormData()
    form.add_field("csrf", csrf)
    form.add_field("file", document.replace("helt nyt", "splinternyt").encode(), filename="x.yml")
    uploaded = await client.post("/admin/phrases/import", data=form, allow_redirects=False)
    assert uploaded.status == 200 and "Tilføjet: 1" in await uploaded.text()
    assert [r["source"] for r in await phrase_rows(store, "hvordan opretter jeg et splinternyt mitid")] == ["import"]
    broken = await post(client, "/admin/phrases/import", csrf, yaml="version: 3.1\nnlu: [")
    assert broken.status == 400 and "Filen kunne ikke læses" in await broken.text()
    nothing = await post(client, "/admin/phrases/import", csrf, yaml="  ")
    assert nothing.status == 400


SECRETS = [
    "mit cpr er 010190-1234 og lasagne",
    "cpr 01.01.90 1234 lasagne",
    "0101901234 lasagne",
    "ring til mig på 22 33 44 55",
    "mit nummer er +45 22334455",
    "nummer 22-33-44-55 lasagne",
    "koden er hest123",
    "min adgangskode: Sommer2024!",
    "password is hunter2",
]


async def test_the_inbox_never_shows_a_cpr_number_phone_number_or_password(
    client: Client, store: Store, project_model: IntentModel
) -> None:
    """Even rows written around the capture (here straight into the table) are shown scrubbed."""
    for text in SECRETS:
        await keep(store, text)
    await logged_in(client, "ada")
    page = await client.get("/admin/inbox")
    body = await page.text()
    assert page.status == 200
    for leaked in ("010190", "1234", "01.01.90", "22 33 44 55", "22334455", "22-33-44-55", "hest123",
                   "Sommer2024", "hunter2"):  # fmt: skip
        assert leaked not in body, leaked
    api = await client.get("/api/admin/inbox")
    assert api.status == 200
    for leaked in ("010190", "22334455", "hest123", "hunter2"):
        assert leaked not in await api.text()


async def test_the_inbox_groups_similar_messages_with_counts_and_guesses(client: Client, store: Store) -> None:
    await keep(store, "hvordan laver jeg lasagne", guesses=[{"intent": "pdf_convert", "confidence": 0.04}])
    await keep(store, "printeren laver mærkelig lyd")
    await keep(store, "hvordan laver man lasagne", guesses=[{"intent": "pdf_convert", "confidence": 0.02}])
    await logged_in(client, "ada")
    body = await (await client.get("/admin/inbox")).text()
    groups = re.findall(r'data-ids="([\d,]+)"', body)
    assert groups == ["3,1", "2"]  # the newest group first; similar messages together, newest first
    assert "2 ens beskeder" in body and "pdf_convert (3 %)" in body and "3 beskeder venter" in body


async def test_a_group_added_to_a_topic_becomes_phrases_and_leaves_the_inbox(client: Client, store: Store) -> None:
    first = await keep(store, "hvordan laver jeg lasagne")
    second = await keep(store, "hvordan laver man lasagne")
    other = await keep(store, "printeren laver mærkelig lyd")
    csrf = await logged_in(client, "ada")
    response = await client.post(
        "/admin/inbox/resolve",
        data=[("csrf", csrf), ("id", str(second)), ("id", str(first)), ("action", "add"), ("intent", "out_of_scope")],
        allow_redirects=False,
    )
    assert response.status == 303
    page = await (await client.get(response.headers["Location"])).text()
    assert "2 beskeder er tilføjet som træningssætninger." in page and "lasagne" not in page
    rows = await store.transaction(lambda tx: tx.fetch("SELECT text, intent, source FROM nlu_phrases"
                                                       " WHERE source = 'inbox' ORDER BY text"))  # fmt: skip
    assert [(r["text"], r["intent"]) for r in rows] == [
        ("hvordan laver jeg lasagne", "out_of_scope"), ("hvordan laver man lasagne", "out_of_scope")
    ]  # fmt: skip
    dismissed = await post(client, "/admin/inbox/resolve", csrf, id=str(other), action="dismiss")
    assert dismissed.status == 303
    items = await store.transaction(lambda tx: tx.fetch("SELECT id, status, resolved_by FROM inbox_items"))
    assert {r["id"]: r["status"] for r in items} == {first: "added", second: "added", other: "dismissed"}
    assert all(r["resolved_by"] is not None for r in items)
    assert "Der er ingen beskeder, der venter." in await (await client.get("/admin/inbox")).text()
    again = await post(client, "/admin/inbox/resolve", csrf, id=str(other), action="dismiss")
    assert again.status == 400 and "allerede behandlet" in await again.text()


async def test_adding_a_message_the_model_gives_elsewhere_asks_first(client: Client, store: Store) -> None:
    item = await keep(store, "jeg kan ikke logge ind på jobnet med mitid")
    csrf = await logged_in(client, "ada")
    warned = await post(client, "/admin/inbox/resolve", csrf, id=str(item), action="add", intent="thanks")
    assert warned.status == 409 and "Tilføj alligevel" in await warned.text()
    assert await store.transaction(inbox.count_open) == 1
    assert await store.transaction(lambda tx: tx.fetch("SELECT id FROM nlu_phrases WHERE source = 'inbox'")) == []
    confirmed = await post(client, "/admin/inbox/resolve", csrf, id=str(item), action="add", intent="thanks",
                           confirm="1")  # fmt: skip
    assert confirmed.status == 303
    assert [r["status"] for r in await store.transaction(lambda tx: tx.fetch("SELECT status FROM inbox_items"))] == [
        "added"
    ]


async def test_an_ementor_gets_403_on_every_page_and_form_here(client: Client, store: Store) -> None:
    item = await keep(store, "hvordan laver jeg lasagne")
    csrf = await logged_in(client, "anna")
    for path in ("/admin/phrases", "/admin/phrases/mitid_get", "/admin/inbox"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 403 and "lasagne" not in await response.text()
    for path, data in (
        ("/admin/phrases/add", {"intent": "mitid_get", "language": "da", "text": "noget nyt om mitid"}),
        ("/admin/phrases/1/delete", {}),
        ("/admin/phrases/import", {"yaml": 'version: "3.1"'}),
        ("/admin/inbox/resolve", {"id": str(item), "action": "dismiss"}),
    ):
        assert (await post(client, path, csrf, **data)).status == 403
    assert [r["status"] for r in await store.transaction(lambda tx: tx.fetch("SELECT status FROM inbox_items"))] == [
        "open"
    ]
    assert await store.transaction(lambda tx: tx.fetch("SELECT id FROM audit_log")) == []
