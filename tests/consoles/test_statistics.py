"""Statistics counted in SQL match the same figures counted here, independently, from the rows themselves —
over a daylight-saving change, per day, week and month, by language and channel (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.booking import bookings
from bot.consoles import statistics
from bot.core.clock import COPENHAGEN
from bot.core.ports import Tx
from bot.core.statuses import BookingStatus
from bot.storage.store import Store

START = datetime(2025, 10, 20, 6, 0, tzinfo=UTC)  # a week before summer time ends (26 October)
DAYS = 14
INTENTS = ["mitid_login_problem", "book_ementor", "nlu_fallback", "jobnet_cv", "greet"]


async def add_turns(tx: Tx, rng: random.Random) -> None:
    for i in range(400):
        at = START + timedelta(minutes=rng.randrange(DAYS * 24 * 60))
        channel = rng.choice(["rest", "telegram", "socketio"])
        sender = f"s{rng.randrange(40)}"
        text = rng.choice(["/affirm", '/choose{"c": "1"}', "min mitid virker ikke", "hjælp", "tak"])
        await tx.execute(
            "INSERT INTO turns (created_at, channel, sender, text, language, intent, confidence, flow, step, outcome,"
            " replies, shown) VALUES (:at, :channel, :sender, :text, :language, :intent, 0.9, NULL, NULL, :outcome,"
            " 1, '[]')",
            at=at, channel=channel, sender=sender, text=text, language=rng.choice(["da", "en"]),
            intent=rng.choice(INTENTS), outcome=rng.choice(["solved", "escalated", "advanced", "answered"]),
        )  # fmt: skip
        del i


async def add_bookings(tx: Tx, rng: random.Random) -> None:
    for i in range(60):
        made = START + timedelta(minutes=rng.randrange(DAYS * 24 * 60))
        starts = made + timedelta(days=rng.randrange(3), hours=1)
        request = bookings.Request(
            kind="slot", resource=f"slot:test:{i}", capacity=1, location="lab", starts_at=starts,
            ends_at=starts + timedelta(minutes=30), channel=rng.choice(["rest", "telegram"]), sender=f"b{i}",
            language=rng.choice(["da", "en"]),
        )  # fmt: skip
        held = await bookings.reserve(tx, request, BookingStatus.HELD, made)
        assert held is not None
        if rng.random() < 0.2:
            continue  # never confirmed: a hold that lapses is not a booking
        await bookings.confirm(tx, int(held["id"]), "X", None, made + timedelta(minutes=2))
        fate = rng.random()
        if fate < 0.25:
            await bookings.cancel(tx, int(held["id"]), made + timedelta(hours=5))
        elif fate < 0.45:
            await tx.execute("UPDATE bookings SET status = 'no_show' WHERE id = :id", id=held["id"])


async def add_handovers(tx: Tx, rng: random.Random) -> None:
    for i in range(30):
        created = START + timedelta(minutes=rng.randrange(DAYS * 24 * 60))
        taken = created + timedelta(seconds=rng.randrange(30, 1200)) if rng.random() < 0.7 else None
        await tx.execute(
            "INSERT INTO handovers (channel, sender, language, topic, tried, status, created_at, taken_at)"
            " VALUES (:channel, :sender, :language, NULL, '[]', :status, :created, :taken)",
            channel=rng.choice(["rest", "telegram"]), sender=f"h{i}", language=rng.choice(["da", "en"]),
            status="ended" if taken else "expired", created=created, taken=taken,
        )  # fmt: skip


def period_of(moment: datetime, grain: str) -> date:
    day = moment.astimezone(COPENHAGEN).date()
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def expected(
    rows: dict[str, list[dict[str, Any]]], grain: str, language: str | None, channel: str | None
) -> dict[date, dict[str, float]]:
    """The figures counted the plain way, in Python, from all rows."""
    out: dict[date, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    keep = lambda r: (language is None or r["language"] == language) and (channel is None or r["channel"] == channel)  # noqa: E731
    senders: dict[date, set[tuple[str, str]]] = defaultdict(set)
    for t in filter(keep, rows["turns"]):
        p = out[period_of(t["created_at"], grain)]
        p["messages"] += 1
        senders[period_of(t["created_at"], grain)].add((t["channel"], t["sender"]))
        typed = not t["text"].startswith("/")
        p["typed"] += typed
        p["fallbacks"] += typed and t["intent"] == "nlu_fallback"
        p["solved"] += t["outcome"] == "solved"
        p["escalated"] += t["outcome"] == "escalated"
    for day, seen in senders.items():
        out[day]["conversations"] = len(seen)
    for b in filter(keep, rows["bookings"]):
        if b["confirmed_at"] is not None:
            out[period_of(b["confirmed_at"], grain)]["bookings"] += 1
            if b["status"] == "cancelled":
                out[period_of(b["updated_at"], grain)]["cancellations"] += 1
        if b["status"] == "no_show":
            out[period_of(b["starts_at"], grain)]["no_shows"] += 1
    waits: dict[date, list[float]] = defaultdict(list)
    for h in filter(keep, rows["handovers"]):
        p = out[period_of(h["created_at"], grain)]
        p["handovers"] += 1
        if h["taken_at"] is not None:
            p["taken"] += 1
            waits[period_of(h["created_at"], grain)].append((h["taken_at"] - h["created_at"]).total_seconds())
    for day, found in waits.items():
        out[day]["wait_avg"] = sum(found) / len(found)
        out[day]["wait_max"] = max(found)
    return out


@pytest.mark.parametrize("grain", ["day", "week", "month"])
async def test_the_figures_match_an_independent_count(store: Store, grain: str) -> None:
    rng = random.Random(7)
    await store.transaction(lambda tx: add_turns(tx, rng))
    await store.transaction(lambda tx: add_bookings(tx, rng))
    await store.transaction(lambda tx: add_handovers(tx, rng))
    rows = {
        name: await store.transaction(lambda tx, n=name: tx.fetch(f"SELECT * FROM {n}"))
        for name in ("turns", "bookings", "handovers")
    }
    first, last = date(2025, 10, 18), date(2025, 11, 8)  # wider than the data: empty periods count zero
    for language, channel in ((None, None), ("da", None), (None, "telegram"), ("en", "rest")):
        report = await store.transaction(
            lambda tx, lang=language, ch=channel: statistics.report(tx, first, last, grain, lang, ch)
        )
        want = expected(rows, grain, language, channel)
        assert [p.start for p in report.periods] == statistics.period_starts(first, last, grain)
        assert sum(p.messages for p in report.periods) > 0
        for p in report.periods:
            w = want.get(p.start, {})
            for name in ("messages", "conversations", "typed", "fallbacks", "solved", "escalated", "bookings",
                         "cancellations", "no_shows", "handovers", "taken"):  # fmt: skip
                assert getattr(p, name) == int(w.get(name, 0)), (grain, language, channel, p.start, name)
            if "wait_avg" in w:
                assert p.wait_seconds_avg == pytest.approx(w["wait_avg"], abs=0.01)
                assert p.wait_seconds_max == pytest.approx(w["wait_max"], abs=0.01)
            else:
                assert p.wait_seconds_avg is None


def test_a_day_across_the_clock_change_is_25_hours() -> None:
    b = statistics.buckets(date(2025, 10, 26), date(2025, 10, 26), "day")
    start, end = b.edges
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=25)


async def test_top_intents_count_typed_messages_only(store: Store) -> None:
    rng = random.Random(3)
    await store.transaction(lambda tx: add_turns(tx, rng))
    turns = await store.transaction(lambda tx: tx.fetch("SELECT text, intent FROM turns"))
    counted = Counter(t["intent"] for t in turns if not t["text"].startswith("/"))
    report = await store.transaction(lambda tx: statistics.report(tx, date(2025, 10, 18), date(2025, 11, 8), "month"))
    assert dict(report.top_intents) == {k: v for k, v in counted.items()}


async def test_the_admin_sees_charts_and_a_csv(project_model: Any, store: Store) -> None:
    from bot.core.clock import ManualClock
    from tests.consoles.helpers import add_user, console_client, logged_in

    rng = random.Random(5)
    await store.transaction(lambda tx: add_turns(tx, rng))
    await add_user(store, "ada", "admin", "Ada Admin")
    async with console_client(project_model, store, ManualClock(START + timedelta(days=DAYS))) as client:
        await logged_in(client, "ada")
        page = await client.get("/admin/?from=2025-10-20&to=2025-11-03&grain=week")
        text = await page.text()
        assert page.status == 200 and text.count("<svg") == 5 and "Samtaler" in text
        table = await client.get("/admin/stats.csv?from=2025-10-20&to=2025-11-03&grain=week")
        lines = (await table.read()).decode("utf-8-sig").strip().split("\r\n")
        assert lines[0].startswith("period;conversations;messages") and len(lines) == 4  # three weeks
        api = await client.get("/api/admin/stats?from=2025-10-20&to=2025-11-03&grain=week")
        body = await api.json()
        assert [p["start"] for p in body["periods"]] == ["2025-10-20", "2025-10-27", "2025-11-03"]
        assert sum(p["messages"] for p in body["periods"]) == 400
        assert (await client.get("/api/admin/stats?grain=year")).status == 400
