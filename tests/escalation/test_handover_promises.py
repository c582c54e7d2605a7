"""What the queue promises a citizen and what the eMentors can do with a talk, over the database (SQLite and
PostgreSQL): an honest wait, moving up told, nobody online or the group unreachable → a booking offered; hand
to a colleague or back to the queue, notes, outcome, history, and who or what ended it."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.booking import audit
from bot.config import HandoverSettings, Settings
from bot.core.ports import Tx
from bot.core.statuses import OutboxStatus
from bot.delivery.outbox import messages_of
from bot.escalation import accounts, handover, timeouts
from bot.escalation.handover import HandoverRow
from bot.flows.topic import Topic
from bot.storage.store import Store
from tests.conftest import app_settings
from tests.escalation.test_handover_rules import FLOW, GROUP, TOPIC, outbox

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def settings(**handover_settings: Any) -> Settings:
    chosen = HandoverSettings(telegram_group_chat_id=GROUP, **handover_settings)
    return dataclasses.replace(app_settings(), handover=chosen)


async def ementor(store: Store, name: str, online: bool = True, telegram: int | None = None) -> int:
    ementor_id, _ = await store.transaction(lambda tx: accounts.create_ementor(tx, name, telegram, NOW))
    if online:
        await store.transaction(lambda tx: accounts.set_online(tx, ementor_id, NOW + timedelta(hours=4)))
    return ementor_id


async def queue(store: Store, sender: str, s: Settings, now: datetime = NOW, topic: Topic = TOPIC) -> HandoverRow:
    async def work(tx: Tx) -> HandoverRow:
        row, _ = await handover.request(tx, s, now, "rest", sender, "da", topic, FLOW if topic.flow else None)
        return row

    return await store.transaction(work)


async def told(store: Store, sender: str) -> list[str]:
    return [m.text for o in await outbox(store, sender) for m in messages_of(o["body"])]


async def group_lines(store: Store) -> list[str]:
    return await told(store, str(GROUP))


async def get(store: Store, handover_id: int) -> HandoverRow:
    row = await store.transaction(lambda tx: handover.get(tx, handover_id))
    assert row is not None
    return row


async def line(store: Store, s: Settings, row: HandoverRow, now: datetime = NOW, key: str = "queued") -> str:
    return await store.transaction(lambda tx: handover.queue_line(tx, s, now, row, key))


async def test_the_wait_told_never_goes_past_the_wait_limit(store: Store) -> None:
    s = settings(wait_limit_minutes=15, minutes_per_citizen=10)
    await ementor(store, "Anna")
    first, second = await queue(store, "a", s), await queue(store, "b", s)
    assert (await line(store, s, first)).startswith("Du er nr. 1 i køen. Forventet ventetid: ca. 10 minutter.")
    assert (await line(store, s, second)).startswith("Du er nr. 2 i køen. Ventetiden kan blive mere end 15 minutter.")
    later = await line(store, s, first, NOW + timedelta(minutes=6), "still_waiting")  # 9 minutes left of 15
    assert later.startswith("Du er nr. 1 i køen. Ventetiden kan blive mere end 15 minutter. Du kan vente eller book")
    assert "ca." not in later


async def test_when_the_last_ementor_goes_offline_the_waiting_are_offered_a_booking(store: Store) -> None:
    s = settings()
    anna, bo = await ementor(store, "Anna"), await ementor(store, "Bo")
    a, b = await queue(store, "a", s), await queue(store, "b", s)
    await store.transaction(lambda tx: accounts.set_online(tx, anna, None))
    assert await store.transaction(lambda tx: handover.close_queue_if_nobody_online(tx, s, NOW)) == 0  # Bo is on
    await store.transaction(lambda tx: accounts.set_online(tx, bo, None))
    assert await store.transaction(lambda tx: handover.close_queue_if_nobody_online(tx, s, NOW)) == 2
    for row, sender in ((a, "a"), (b, "b")):
        closed = await get(store, row["id"])
        assert closed["status"] == "expired" and closed["ended_by"] == "offline"
        [offer] = [messages_of(o["body"])[0] for o in await outbox(store, sender)]
        assert offer.text.startswith("Beklager, der er ikke længere nogen eMentor online")
        assert [b.payload for b in offer.buttons] == ["/book_ementor", "/help"]
    kinds = await store.transaction(lambda tx: tx.fetch("SELECT kind FROM notices ORDER BY id"))
    assert [k["kind"] for k in kinds][-2:] == ["handover_offline", "handover_offline"]


async def test_an_online_time_that_runs_out_closes_the_queue_on_the_workers_tick(store: Store) -> None:
    s = settings(wait_limit_minutes=600)
    await ementor(store, "Anna")  # online for 4 hours
    row = await queue(store, "a", s)
    await store.transaction(lambda tx: timeouts.check_queue(tx, s, NOW + timedelta(hours=3)))
    assert (await get(store, row["id"]))["status"] == "waiting"
    await store.transaction(lambda tx: timeouts.check_queue(tx, s, NOW + timedelta(hours=5)))
    assert (await get(store, row["id"]))["ended_by"] == "offline"


async def test_moving_up_to_first_is_told_to_that_citizen_only(store: Store) -> None:
    s = settings()
    anna = await ementor(store, "Anna")
    a, b, c = [await queue(store, x, s) for x in "abc"]
    await store.transaction(lambda tx: handover.take(tx, s, NOW, a["id"], anna, "Anna"))
    assert (await told(store, "b"))[-1].startswith("Du er rykket frem: nu er du nr. 1 i køen.")
    assert await told(store, "c") == []  # nr. 3 → 2 is not worth a message
    await store.transaction(lambda tx: handover.leave(tx, s, NOW, b))
    assert (await told(store, "c"))[-1].startswith("Du er rykket frem: nu er du nr. 1 i køen.")
    await store.transaction(lambda tx: handover.leave(tx, s, NOW, c))
    assert len(await told(store, "c")) == 1  # leaving the queue oneself is answered in one's own turn


async def test_transfer_to_a_colleague_and_back_to_the_queue_at_the_old_place(store: Store) -> None:
    s = settings()
    anna, bo = await ementor(store, "Anna Hansen"), await ementor(store, "Bo Berg")
    carl = await ementor(store, "Carl", online=False)
    await store.transaction(lambda tx: accounts.set_active(tx, carl, False))
    row = await queue(store, "k", s, NOW - timedelta(hours=1))  # waited long ago
    later = await queue(store, "m", s, NOW - timedelta(minutes=1))
    await store.transaction(lambda tx: handover.take(tx, s, NOW, row["id"], anna, "Anna Hansen"))

    async def transfer(frm: int, to: int | None, now: datetime = NOW) -> str:
        return await store.transaction(lambda tx: handover.transfer(tx, s, now, row["id"], frm, to))

    assert await transfer(bo, anna) == "not_yours"
    assert await transfer(anna, carl) == "no_colleague" and await transfer(anna, 999) == "no_colleague"
    assert await transfer(anna, bo) == "transferred"
    moved = await get(store, row["id"])
    assert moved["ementor_id"] == bo and moved["ementor_name"] == "Bo Berg" and moved["status"] == "active"
    assert (await told(store, "k"))[-1] == "Du bliver nu hjulpet af Bo, eMentor."
    assert "🔁 Anna Hansen har givet samtale" in (await group_lines(store))[-1]

    assert await transfer(bo, None, NOW + timedelta(minutes=5)) == "queued"
    back = await get(store, row["id"])
    assert back["status"] == "waiting" and back["ementor_id"] is None
    assert await store.transaction(lambda tx: handover.queue_position(tx, back)) == 1  # before Mona, as before
    assert await store.transaction(lambda tx: handover.queue_position(tx, later)) == 2
    assert (await told(store, "k"))[-1].startswith("Du er tilbage i køen. Du er nr. 1 i køen.")
    assert "tilbage i køen" in (await group_lines(store))[-1]
    await store.transaction(lambda tx: timeouts.expire_waiting(tx, s, NOW + timedelta(minutes=10)))
    assert (await get(store, row["id"]))["status"] == "waiting"  # the wait limit counts from being put back
    log = await store.transaction(lambda tx: audit.recent(tx, subject=f"handover:{row['id']}"))
    assert [line["detail"]["to"] for line in reversed(log)] == [bo, None]


async def test_notes_and_outcome_stay_with_the_ementors(store: Store) -> None:
    s = settings()
    anna = await ementor(store, "Anna")
    row = await queue(store, "n", s)
    await store.transaction(lambda tx: handover.take(tx, s, NOW, row["id"], anna, "Anna"))
    assert await store.transaction(lambda tx: handover.set_notes(tx, row["id"], "Ring til Borgerservice i morgen"))
    assert await store.transaction(lambda tx: handover.set_outcome(tx, row["id"], "borgerservice"))
    with pytest.raises(ValueError):
        await store.transaction(lambda tx: handover.set_notes(tx, row["id"], "x" * 4001))
    with pytest.raises(ValueError):
        await store.transaction(lambda tx: handover.set_outcome(tx, row["id"], "fixed"))
    assert not await store.transaction(lambda tx: handover.set_notes(tx, 999, "x"))
    await store.transaction(lambda tx: handover.end(tx, s, NOW, row["id"], f"ementor:{anna}"))
    kept = await get(store, row["id"])
    assert kept["notes"] == "Ring til Borgerservice i morgen" and kept["outcome"] == "borgerservice"
    await store.transaction(lambda tx: handover.set_notes(tx, row["id"], "cpr 010190-1234, ring 33 98 00 10"))
    assert (await get(store, row["id"]))["notes"] == "cpr [cpr-nummer], ring 33 98 00 10"  # a support line stays
    everything = json.dumps(await told(store, "n")) + json.dumps(await group_lines(store))
    notices = await store.transaction(lambda tx: tx.fetch("SELECT body FROM notices"))
    assert "Borgerservice i morgen" not in everything + json.dumps([n["body"] for n in notices])


async def test_who_or_what_ended_it_is_kept_and_told(store: Store) -> None:
    s = settings()
    anna = await ementor(store, "Anna Hansen")
    rows = [await queue(store, x, s) for x in ("p", "q", "r")]
    for row in rows:
        await store.transaction(lambda tx, row=row: handover.take(tx, s, NOW, row["id"], anna, "Anna Hansen"))
    await store.transaction(lambda tx: handover.end(tx, s, NOW, rows[0]["id"], f"ementor:{anna}"))
    active = await get(store, rows[1]["id"])
    await store.transaction(lambda tx: handover.leave(tx, s, NOW, active))
    await store.transaction(lambda tx: timeouts.end_idle(tx, s, NOW + timedelta(hours=1)))
    assert [(await get(store, r["id"]))["ended_by"] for r in rows] == [f"ementor:{anna}", "citizen", "timeout"]
    ended = [t for t in await group_lines(store) if "er afsluttet" in t]
    assert ended == [
        f"Samtale #{rows[0]['id']} er afsluttet af Anna Hansen.",
        f"Samtale #{rows[1]['id']} er afsluttet af borgeren.",
        f"Samtale #{rows[2]['id']} er afsluttet automatisk, fordi ingen skrev i et stykke tid.",
    ]
    bodies = await store.transaction(lambda tx: tx.fetch("SELECT body FROM notices WHERE kind = 'handover_ended'"))
    assert [json.loads(b["body"])["ended_by"] for b in bodies] == [f"ementor:{anna}", "citizen", "timeout"]


async def test_history_lists_ended_talks_newest_first_by_time_and_topic(store: Store) -> None:
    s = settings()
    anna = await ementor(store, "Anna")
    other = Topic(None, ())
    made = [(await queue(store, "s1", s), 1), (await queue(store, "s2", s, topic=other), 2)]
    made.append((await queue(store, "s3", s), 3))
    waiting = await queue(store, "s4", s)
    for row, hours in made:
        at = NOW + timedelta(hours=hours)
        await store.transaction(lambda tx, row=row, at=at: handover.take(tx, s, at, row["id"], anna, "Anna"))
        await store.transaction(lambda tx, row=row, at=at: handover.end(tx, s, at, row["id"], f"ementor:{anna}"))

    async def ended(start: datetime | None, end: datetime | None, topic: str | None) -> list[int]:
        found = await store.transaction(lambda tx: handover.list_ended(tx, start, end, topic, 10))
        return [r["id"] for r in found]

    ids = [row["id"] for row, _ in made]
    assert await ended(None, None, None) == ids[::-1]
    assert await ended(NOW + timedelta(hours=2), None, None) == [ids[2], ids[1]]
    assert await ended(None, NOW + timedelta(hours=2), None) == [ids[0]]
    assert await ended(None, None, "mitid_login_problem") == [ids[2], ids[0]]
    assert waiting["id"] not in await ended(None, None, None)


async def test_a_request_the_group_never_got_is_not_left_waiting(store: Store) -> None:
    s = settings()
    await ementor(store, "Anna")
    row = await queue(store, "t", s)
    behind = await queue(store, "u", s)
    await store.transaction(lambda tx: handover.citizen_says(tx, s, NOW, row, "mit navn er Tove"))
    assert await store.transaction(lambda tx: handover.close_unannounced(tx, s, NOW)) == 0  # not failed yet
    await store.transaction(
        lambda tx: tx.execute(
            "UPDATE outbox SET status = :failed, last_error = 'PermanentFailure: BadRequest: Chat not found'"
            " WHERE handover_id = :h AND kind = 'notice'",
            failed=OutboxStatus.FAILED,
            h=row["id"],
        )
    )
    await store.transaction(lambda tx: timeouts.check_queue(tx, s, NOW))
    closed = await get(store, row["id"])
    assert closed["status"] == "expired" and closed["ended_by"] == "delivery_failed"
    [offer] = [messages_of(o["body"])[0] for o in await outbox(store, "t")]
    assert offer.text.startswith("Beklager, vi kunne ikke give eMentorerne besked")
    assert "/book_ementor" in [b.payload for b in offer.buttons]
    assert (await told(store, "u"))[-1].startswith("Du er rykket frem")
    assert (await get(store, behind["id"]))["status"] == "waiting"  # its own notice went out
    [failed] = await store.transaction(lambda tx: tx.fetch("SELECT body FROM notices WHERE kind = 'delivery_failed'"))
    body = json.loads(failed["body"])
    assert body["handover"] == row["id"] and body["topic_title"] == "MitID virker ikke"
    assert "Tove" not in failed["body"] and '"t"' not in failed["body"]
    await store.transaction(lambda tx: timeouts.check_queue(tx, s, NOW))
    assert len(await outbox(store, "t")) == 1  # told once
