"""GET/DELETE /api/admin/citizens on SQLite and PostgreSQL: an admin exports one citizen's data (a JSON download)
or deletes it, found by booking reference or sender id; each act in the audit log without the sender id;
eMentors are refused."""

from __future__ import annotations

import json

from bot.storage.store import Store
from tests.api.test_admin_phrases import token_for
from tests.booking.helpers import Client, book, rows, say
from tests.consoles.helpers import add_user, logged_in

PATH = "/api/admin/citizens"


async def test_export_then_delete_by_reference_and_sender(client: Client, store: Store) -> None:
    admin = await token_for(store, "Ada", "admin")
    ementor = await token_for(store, "Bo", "ementor")
    reference = await book(client, "liv", "2025-12-02T11:00")
    await say(client, "liv", "hvordan laver jeg lasagne")

    exported = await client.get(PATH, params={"reference": reference}, headers=admin)
    assert exported.status == 200 and "attachment" in exported.headers["Content-Disposition"]
    body = await exported.json()
    assert body["sender"] == "liv" and [b["reference"] for b in body["data"]["bookings"]] == [reference]
    assert any("lasagne" in t["text"] for t in body["data"]["turns"])
    by_sender = await (await client.get(PATH, params={"sender": "liv"}, headers=admin)).json()
    assert by_sender["data"]["turns"] == body["data"]["turns"]

    assert (await client.get(PATH, params={"sender": "liv"}, headers=ementor)).status == 403
    assert (await client.get(PATH, params={"sender": "nobody"}, headers=admin)).status == 404
    assert (await client.get(PATH, headers=admin)).status == 400
    assert (await client.get(PATH, params={"reference": "x" * 500}, headers=admin)).status == 400
    assert (await client.delete(PATH, params={"sender": "liv"}, headers=ementor)).status == 403

    deleted = await client.delete(PATH, params={"reference": reference}, headers=admin)
    assert deleted.status == 200
    counts = (await deleted.json())["deleted"]
    assert counts["bookings_cancelled"] == 1 and counts["turns"] >= 2
    assert (await client.get(PATH, params={"sender": "liv"}, headers=admin)).status == 404
    assert (await client.get(PATH, params={"reference": reference}, headers=admin)).status == 404

    logged = await rows(store, "SELECT action, subject, detail FROM audit_log ORDER BY id")
    assert [r["action"] for r in logged if r["subject"] == "citizen"] == [
        "citizen_export",
        "citizen_export",
        "citizen_erase",
    ]
    assert "liv" not in json.dumps(logged, default=str)


async def test_the_console_page_finds_exports_and_deletes_after_a_ticked_box(client: Client, store: Store) -> None:
    await add_user(store, "ada", "admin")
    await add_user(store, "bo", "ementor")
    reference = await book(client, "mia", "2025-12-02T11:00")
    csrf = await logged_in(client, "ada")
    page = await client.get("/admin/citizens", params={"reference": reference})
    html = await page.text()
    assert page.status == 200 and "Det har vi gemt" in html and f"/api/admin/citizens?reference={reference}" in html
    assert "Vi har ikke noget gemt" in await (await client.get("/admin/citizens", params={"sender": "x"})).text()

    form = {"reference": reference, "csrf": csrf}
    unticked = await client.post("/admin/citizens/delete", data=form)
    assert unticked.status == 400 and (await rows(store, "SELECT status FROM bookings"))[0]["status"] == "booked"
    assert (await client.post("/admin/citizens/delete", data={**form, "confirm": "yes", "csrf": "x"})).status == 403
    done = await client.post("/admin/citizens/delete", data={**form, "confirm": "yes"})
    assert done.status == 200 and "1 aflyste tider" in await done.text()
    assert [r["status"] for r in await rows(store, "SELECT status FROM bookings")] == ["cancelled"]
    assert [r["action"] for r in await rows(store, "SELECT action FROM audit_log")][-1] == "citizen_erase"

    await client.post("/logout", data={"csrf": csrf})
    await logged_in(client, "bo")
    assert (await client.get("/admin/citizens", params={"reference": reference})).status == 403
