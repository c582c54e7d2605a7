"""The admin console's statistics (/admin/ and /admin/stats) and their CSV: the figures of
bot/consoles/statistics.py for a period, per day, week or month, by language and channel, with charts as
server-rendered SVG."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from aiohttp import web
from markupsafe import Markup

from bot.consoles import statistics
from bot.consoles.day import parse_day
from bot.consoles.statistics import GRAINS, Period, Report
from bot.consoles.web import Page, console, local

DEFAULT_DAYS = 30


def _choices(page: Page) -> tuple[date, date, str, str | None, str | None]:
    today = local(page.now).date()
    end = parse_day(page.request.query.get("to"), today)
    start = parse_day(page.request.query.get("from"), end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        start, end = end, start
    grain = page.request.query.get("grain", "day")
    grain = grain if grain in GRAINS else "day"
    language = page.request.query.get("language", "")[:8] or None
    channel = page.request.query.get("channel", "")[:32] or None
    return start, end, grain, language, channel


def label(period: Period, grain: str) -> str:
    if grain == "month":
        return period.start.strftime("%m/%Y")
    if grain == "week":
        return f"u{period.start.isocalendar().week}"
    return period.start.strftime("%d/%m")


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f} %"


def _minutes(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds / 60:.1f}"


def _row(p: Period, grain: str) -> tuple[str, Period, str, str, str]:
    return label(p, grain), p, _percent(p.fallback_rate), _percent(p.containment), _minutes(p.wait_seconds_avg)


async def stats_page(page: Page) -> web.Response:
    start, end, grain, language, channel = _choices(page)
    found: Report = await statistics.report(page.tx, start, end, grain, language, channel)
    labels = [label(p, grain) for p in found.periods]
    charts = [
        statistics.bar_chart([p.conversations for p in found.periods], labels, page.t("stats_conversations")),
        statistics.bar_chart([p.fallback_rate for p in found.periods], labels, page.t("stats_fallback_rate")),
        statistics.bar_chart([p.containment for p in found.periods], labels, page.t("stats_containment")),
        statistics.bar_chart([p.bookings for p in found.periods], labels, page.t("stats_bookings")),
        statistics.bar_chart([p.handovers for p in found.periods], labels, page.t("stats_handovers")),
    ]
    query = page.request.query_string
    return page.render(
        "admin_stats.html",
        admin_part="home",
        report=found,
        rows=[_row(p, grain) for p in found.periods],
        charts=[Markup(c) for c in charts],  # built from numbers and escaped labels only
        start=start,
        end=end,
        grain=grain,
        language=language or "",
        channel=channel or "",
        csv_link="/admin/stats.csv" + (f"?{query}" if query else ""),
        totals={
            "conversations": found.total("conversations"),
            "messages": found.total("messages"),
            "bookings": found.total("bookings"),
            "cancellations": found.total("cancellations"),
            "no_shows": found.total("no_shows"),
            "handovers": found.total("handovers"),
        },
    )


async def stats_csv(page: Page) -> web.Response:
    start, end, grain, language, channel = _choices(page)
    found = await statistics.report(page.tx, start, end, grain, language, channel)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["period", "conversations", "messages", "typed", "fallbacks", "fallback_rate", "solved",
                     "escalated", "containment", "bookings", "cancellations", "no_shows", "handovers", "taken",
                     "wait_minutes_avg", "wait_minutes_max"])  # fmt: skip
    for p in found.periods:
        writer.writerow([
            p.start.isoformat(), p.conversations, p.messages, p.typed, p.fallbacks,
            "" if p.fallback_rate is None else f"{p.fallback_rate:.4f}", p.solved, p.escalated,
            "" if p.containment is None else f"{p.containment:.4f}", p.bookings, p.cancellations, p.no_shows,
            p.handovers, p.taken, "" if p.wait_seconds_avg is None else f"{p.wait_seconds_avg / 60:.2f}",
            "" if p.wait_seconds_max is None else f"{p.wait_seconds_max / 60:.2f}",
        ])  # fmt: skip
    name = f"statistik-{start.isoformat()}-{end.isoformat()}-{grain}.csv"
    return web.Response(
        text="\ufeff" + out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin", console(stats_page, role="admin"))
    app.router.add_get("/admin/", console(stats_page, role="admin"))
    app.router.add_get("/admin/stats", console(stats_page, role="admin"))
    app.router.add_get("/admin/stats.csv", console(stats_csv, role="admin"))
