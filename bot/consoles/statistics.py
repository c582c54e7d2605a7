"""Statistics for the admin console, counted in SQL: per day, week or month (Copenhagen time), by language and
channel.

Every figure is an aggregate the database computes; only one row per period comes back, never the turns or
bookings themselves. Periods are Copenhagen calendar days, ISO weeks or months, so their edges are computed
here (a day may be 23 or 25 hours long) and handed to the database as a CASE over the period starts: the same
SQL on SQLite and PostgreSQL.

What is counted:
- conversations: different (channel, sender) that wrote in the period; messages: every turn;
- fallback rate: typed messages (not button presses) the intent model did not understand, of all typed ones;
- containment: flows that ended "solved" of those that ended solved or escalated to a person;
- bookings (made: booked, not only held; a move is not a new booking), cancellations (of booked times, when
  cancelled), no-shows (by the time they were for);
- hand-overs: requests, taken, the average and longest wait until taken; the inbox: messages waiting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.core.clock import COPENHAGEN
from bot.core.ports import Tx
from bot.core.statuses import BookingStatus

GRAINS = ("day", "week", "month")
MAX_PERIODS = 400
TOP_INTENTS = 10


def period_starts(start: date, end: date, grain: str) -> list[date]:
    """The first day of every period from the one holding `start` to the one holding `end` (inclusive)."""
    if grain == "week":
        first = start - timedelta(days=start.weekday())
    elif grain == "month":
        first = start.replace(day=1)
    else:
        first = start
    out: list[date] = []
    current = first
    while current <= end and len(out) < MAX_PERIODS:
        out.append(current)
        if grain == "week":
            current += timedelta(days=7)
        elif grain == "month":
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            current += timedelta(days=1)
    return out


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(0), COPENHAGEN)


@dataclass(frozen=True)
class Buckets:
    """Periods as SQL: `case(column)` gives the period's number for a timestamp column."""

    starts: tuple[date, ...]
    end: date  # the day after the last period

    @property
    def edges(self) -> list[datetime]:
        return [_instant(d) for d in self.starts] + [_instant(self.end)]

    def params(self) -> dict[str, datetime]:
        return {f"edge_{i}": edge for i, edge in enumerate(self.edges)}

    def case(self, column: str) -> str:
        whens = " ".join(f"WHEN {column} < :edge_{i + 1} THEN {i}" for i in range(len(self.starts)))
        return f"CASE {whens} END"

    def within(self, column: str) -> str:
        return f"{column} >= :edge_0 AND {column} < :edge_{len(self.starts)}"


def buckets(start: date, end: date, grain: str) -> Buckets:
    starts = period_starts(start, end, grain)
    last = starts[-1]
    if grain == "week":
        after = last + timedelta(days=7)
    elif grain == "month":
        after = (last.replace(day=28) + timedelta(days=4)).replace(day=1)
    else:
        after = last + timedelta(days=1)
    return Buckets(tuple(starts), after)


@dataclass
class Period:
    start: date
    conversations: int = 0
    messages: int = 0
    typed: int = 0
    fallbacks: int = 0
    solved: int = 0
    escalated: int = 0
    bookings: int = 0
    cancellations: int = 0
    no_shows: int = 0
    handovers: int = 0
    taken: int = 0
    wait_seconds_avg: float | None = None
    wait_seconds_max: float | None = None

    @property
    def fallback_rate(self) -> float | None:
        return self.fallbacks / self.typed if self.typed else None

    @property
    def containment(self) -> float | None:
        ended = self.solved + self.escalated
        return self.solved / ended if ended else None


@dataclass
class Report:
    grain: str
    periods: list[Period]
    top_intents: list[tuple[str, int]] = field(default_factory=list)
    inbox_open: int = 0
    languages: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(int(getattr(p, name)) for p in self.periods)


def _filters(language: str | None, channel: str | None, prefix: str = "") -> tuple[str, dict[str, Any]]:
    where, params = "", {}
    if language:
        where += f" AND {prefix}language = :language"
        params["language"] = language
    if channel:
        where += f" AND {prefix}channel = :channel"
        params["channel"] = channel
    return where, params


def _seconds(tx: Tx, later: str, earlier: str) -> str:
    if tx.dialect == "postgresql":
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


async def report(
    tx: Tx, start: date, end: date, grain: str, language: str | None = None, channel: str | None = None
) -> Report:
    """The figures from `start` to `end` (Copenhagen days, inclusive) per `grain`."""
    b = buckets(start, end, grain if grain in GRAINS else "day")
    periods = [Period(d) for d in b.starts]
    where, filters = _filters(language, channel)
    params = {**b.params(), **filters}

    rows = await tx.fetch(
        f"SELECT {b.case('created_at')} AS bucket, COUNT(*) AS messages,"
        " COUNT(DISTINCT channel || ':' || sender) AS conversations,"
        " SUM(CASE WHEN text NOT LIKE '/%' THEN 1 ELSE 0 END) AS typed,"
        " SUM(CASE WHEN text NOT LIKE '/%' AND intent = 'nlu_fallback' THEN 1 ELSE 0 END) AS fallbacks,"
        " SUM(CASE WHEN outcome = 'solved' THEN 1 ELSE 0 END) AS solved,"
        " SUM(CASE WHEN outcome = 'escalated' THEN 1 ELSE 0 END) AS escalated"
        f" FROM turns WHERE {b.within('created_at')}{where} GROUP BY 1",
        **params,
    )
    for row in rows:
        p = periods[int(row["bucket"])]
        p.messages, p.conversations = int(row["messages"]), int(row["conversations"])
        p.typed, p.fallbacks = int(row["typed"] or 0), int(row["fallbacks"] or 0)
        p.solved, p.escalated = int(row["solved"] or 0), int(row["escalated"] or 0)

    not_a_move = "id NOT IN (SELECT moved_to FROM bookings WHERE moved_to IS NOT NULL)"
    made = await tx.fetch(
        f"SELECT {b.case('confirmed_at')} AS bucket, COUNT(*) AS n FROM bookings"
        f" WHERE confirmed_at IS NOT NULL AND {b.within('confirmed_at')} AND {not_a_move}{where} GROUP BY 1",
        **params,
    )
    for row in made:
        periods[int(row["bucket"])].bookings = int(row["n"])
    cancelled = await tx.fetch(
        f"SELECT {b.case('updated_at')} AS bucket, COUNT(*) AS n FROM bookings WHERE status = :cancelled"
        f" AND confirmed_at IS NOT NULL AND {b.within('updated_at')}{where} GROUP BY 1",
        cancelled=BookingStatus.CANCELLED,
        **params,
    )
    for row in cancelled:
        periods[int(row["bucket"])].cancellations = int(row["n"])
    no_shows = await tx.fetch(
        f"SELECT {b.case('starts_at')} AS bucket, COUNT(*) AS n FROM bookings WHERE status = :no_show"
        f" AND {b.within('starts_at')}{where} GROUP BY 1",
        no_show=BookingStatus.NO_SHOW,
        **params,
    )
    for row in no_shows:
        periods[int(row["bucket"])].no_shows = int(row["n"])

    wait = _seconds(tx, "taken_at", "created_at")
    handed = await tx.fetch(
        f"SELECT {b.case('created_at')} AS bucket, COUNT(*) AS n, COUNT(taken_at) AS taken,"
        f" AVG(CASE WHEN taken_at IS NOT NULL THEN {wait} END) AS wait_avg,"
        f" MAX(CASE WHEN taken_at IS NOT NULL THEN {wait} END) AS wait_max"
        f" FROM handovers WHERE {b.within('created_at')}{where} GROUP BY 1",
        **params,
    )
    for row in handed:
        p = periods[int(row["bucket"])]
        p.handovers, p.taken = int(row["n"]), int(row["taken"])
        p.wait_seconds_avg = float(row["wait_avg"]) if row["wait_avg"] is not None else None
        p.wait_seconds_max = float(row["wait_max"]) if row["wait_max"] is not None else None

    top = await tx.fetch(
        f"SELECT intent, COUNT(*) AS n FROM turns WHERE {b.within('created_at')} AND text NOT LIKE '/%'{where}"
        " GROUP BY intent ORDER BY n DESC, intent LIMIT :top",
        top=TOP_INTENTS,
        **params,
    )
    inbox = await tx.fetch(
        "SELECT COUNT(*) AS n FROM inbox_items WHERE status = 'open'"
        + (" AND language = :language" if language else "")
        + (" AND channel = :channel" if channel else ""),
        **filters,
    )
    languages = await tx.fetch("SELECT DISTINCT language FROM turns ORDER BY language")
    channels = await tx.fetch("SELECT DISTINCT channel FROM turns ORDER BY channel")
    return Report(
        grain=grain,
        periods=periods,
        top_intents=[(str(r["intent"]), int(r["n"])) for r in top],
        inbox_open=int(inbox[0]["n"]),
        languages=[str(r["language"]) for r in languages],
        channels=[str(r["channel"]) for r in channels],
    )


def bar_chart(values: Sequence[float | None], labels: Sequence[str], title: str, width: int = 640) -> str:
    """A small bar chart as SVG markup (server-rendered: no script, no library). Labels and title are escaped
    by the caller's template (they are passed as attributes-free text here, so they are escaped here too)."""
    from html import escape

    height, left, bottom, top_pad = 180, 40, 28, 24
    count = max(1, len(values))
    highest = max((v for v in values if v is not None), default=0.0) or 1.0
    slot = (width - left - 8) / count
    bar = max(1.0, slot * 0.7)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}"'
        f' xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{left}" y="14" class="chart-title">{escape(title)}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 4}" y2="{height - bottom}" class="axis"/>',
        f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end" class="tick">{_number(highest)}</text>',
        f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end" class="tick">0</text>',
    ]
    every = max(1, count // 12)
    for i, value in enumerate(values):
        x = left + i * slot + (slot - bar) / 2
        if value:
            h = (height - bottom - top_pad) * value / highest
            parts.append(
                f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{bar:.1f}" height="{h:.1f}" class="bar">'
                f"<title>{escape(labels[i])}: {_number(value)}</title></rect>"
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - 10}" text-anchor="middle" class="tick">'
                f"{escape(labels[i])}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.2f}"
