"""A citizen's "slet mine data" through REST, on SQLite and PostgreSQL: asked first (buttons, or typed "ja" /
"nej"), then everything about them deleted, their future time cancelled (the eMentors told, as for any
cancellation) and a receipt with the counts; another citizen's data untouched."""

from __future__ import annotations

from datetime import timedelta

from bot.escalation import accounts
from bot.storage.store import Store
from tests.booking.helpers import NOW, Client, Clock, book, payloads, rows, say, texts

ASKED = "Vil du slette alt, hvad vi har gemt om dig?"


async def about(store: Store, sender: str) -> dict[str, int]:
    one = await rows(
        store,
        "SELECT (SELECT COUNT(*) FROM turns WHERE sender = :s AND text <> '[removed: personal]') AS turns,"
        " (SELECT COUNT(*) FROM bookings WHERE sender = :s) AS bookings,"
        " (SELECT COUNT(*) FROM handover_messages WHERE handover_id IN"
        "   (SELECT id FROM handovers WHERE sender = :s)) AS handover_messages,"
        " (SELECT COUNT(*) FROM outbox WHERE recipient = :s) AS outbox,"
        " (SELECT COUNT(*) FROM inbox_items i WHERE EXISTS (SELECT 1 FROM turns t"
        "   WHERE t.created_at = i.created_at AND t.sender = :s)) AS inbox",
        s=sender,
    )
    return dict(one[0])


async def test_asked_first_then_everything_deleted_with_a_receipt(client: Client, store: Store, clock: Clock) -> None:
    clock.now = NOW + timedelta(hours=2)  # the eMentors are at work
    _, token = await store.transaction(lambda tx: accounts.create_ementor(tx, "Anna", None, clock.now))
    auth = {"Authorization": f"Bearer {token}"}
    assert (await client.post("/api/ementor/presence", json={"online": True}, headers=auth)).status == 200
    for sender in ("eva", "bo"):  # a minute apart: an inbox item belongs to its turn by the time it was kept
        clock.now += timedelta(minutes=1)
        await book(client, sender, "2025-12-02T11:00" if sender == "eva" else "2025-12-03T11:00")
        await say(client, sender, "hvordan laver jeg lasagne")  # an inbox item
    clock.now += timedelta(minutes=1)
    await say(client, "eva", "jeg vil tale med et menneske")
    await say(client, "eva", "min app virker ikke")
    await say(client, "eva", "afslut")  # leaves the queue
    before = await about(store, "eva")
    assert all(before[k] >= 1 for k in ("turns", "bookings", "handover_messages", "outbox", "inbox")), before
    untouched = await about(store, "bo")

    asked = await say(client, "eva", "/slet")
    assert texts(asked).startswith(ASKED) and payloads(asked) == ["/erase_confirm", "/erase_keep"]
    kept = await say(client, "eva", "nej")
    assert texts(kept).startswith("Godt. Jeg har ikke slettet noget.")
    assert (await about(store, "eva"))["bookings"] == before["bookings"]

    assert texts(await say(client, "eva", "slet mine oplysninger")).startswith(ASKED)
    receipt = texts(await say(client, "eva", "ja"))
    assert receipt.startswith("Dine data er slettet:") and "1 aflyste tider" in receipt, receipt
    assert f"{before['handover_messages']} beskeder med en eMentor" in receipt

    after = await about(store, "eva")
    assert after == {"turns": 0, "bookings": 0, "handover_messages": 0, "outbox": 0, "inbox": 0}, after
    assert await about(store, "bo") == untouched
    cancelled = await rows(store, "SELECT status, name, phone FROM bookings WHERE sender = 'anon-erased'")
    assert [(r["status"], r["name"], r["phone"]) for r in cancelled] == [("cancelled", None, None)]
    notices = await rows(store, "SELECT kind, body FROM notices WHERE kind = 'booking_cancelled'")
    assert len(notices) == 1 and "eva" not in notices[0]["body"]  # the eMentors are told, without the citizen
    states = await rows(store, "SELECT state FROM conversations WHERE sender = 'eva'")
    assert all("lasagne" not in r["state"] for r in states)


async def test_typed_delete_in_english_and_the_button(client: Client, store: Store) -> None:
    await say(client, "tom", "hello, my mitid does not work")
    asked = await say(client, "tom", "/delete")
    assert texts(asked).startswith(ASKED) or texts(asked).startswith("Do you want to delete everything")
    receipt = texts(await say(client, "tom", "/erase_confirm"))
    assert "0 aflyste tider" in receipt or "0 cancelled times" in receipt
    assert (await about(store, "tom"))["turns"] == 0
