"""GET /api/admin/stats: the admin console's statistics as JSON (admins only; session or token)."""

from __future__ import annotations

from datetime import date, timedelta

from aiohttp import web

from bot.api.common import ApiError, Call, answer, endpoint
from bot.consoles import statistics
from bot.core.clock import COPENHAGEN
from bot.core.edge import check_year

MAX_DAYS = 366 * 2


def _day(call: Call, name: str, default: date) -> date:
    raw = call.request.query.get(name)
    if raw is None:
        return default
    try:
        day = date.fromisoformat(raw[:10])
    except ValueError:
        raise ApiError(400, f'"{name}" must be a date like 2026-12-01.') from None
    check_year(day, name)
    return day


async def stats(call: Call) -> web.Response:
    today = call.now.astimezone(COPENHAGEN).date()
    end = _day(call, "to", today)
    start = _day(call, "from", end - timedelta(days=29))
    grain = call.request.query.get("grain", "day")
    if grain not in statistics.GRAINS:
        raise ApiError(400, '"grain" must be day, week or month.')
    if start > end or (end - start).days > MAX_DAYS:
        raise ApiError(400, f'"from" must be before "to", at most {MAX_DAYS} days apart.')
    language = call.request.query.get("language") or None
    channel = call.request.query.get("channel") or None
    found = await statistics.report(call.tx, start, end, grain, language, channel)
    return answer(
        {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "grain": grain,
            "periods": [
                {
                    "start": p.start.isoformat(),
                    "conversations": p.conversations,
                    "messages": p.messages,
                    "typed": p.typed,
                    "fallbacks": p.fallbacks,
                    "fallback_rate": p.fallback_rate,
                    "solved": p.solved,
                    "escalated": p.escalated,
                    "containment": p.containment,
                    "bookings": p.bookings,
                    "cancellations": p.cancellations,
                    "no_shows": p.no_shows,
                    "handovers": p.handovers,
                    "taken": p.taken,
                    "wait_seconds_avg": p.wait_seconds_avg,
                    "wait_seconds_max": p.wait_seconds_max,
                }
                for p in found.periods
            ],
            "top_intents": [{"intent": i, "count": n} for i, n in found.top_intents],
            "inbox_open": found.inbox_open,
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/admin/stats", endpoint(stats, role="admin"))
