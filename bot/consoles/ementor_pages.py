"""The eMentor console's pages under /ementor/: the day list, blocked time, the live queue, a hand-over, history.

Each page reads and changes through the same rules as the JSON API and the Telegram group (bot/booking,
bot/escalation), in the page's one transaction. A change answers with a redirect (so a reload never sends a
form twice) and a one-line "done"; a refusal re-renders the page with a clear line, never a stack trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from bot.booking import audit, blocks, bookings
from bot.booking.cancel_notice import cancel_by_ementor, cancel_for_block
from bot.booking.places import find_location
from bot.consoles import day as days
from bot.consoles.texts import saved_replies
from bot.consoles.transcript import transcript
from bot.consoles.web import Page, console, error_page, local, may_read
from bot.core.clock import COPENHAGEN
from bot.core.statuses import BookingStatus, HandoverStatus
from bot.escalation import accounts, handover
from bot.escalation.accounts import first_name
from bot.escalation.handover import HandoverRow
from bot.flows.engine import SMALL_TALK
from bot.flows.topic import ESCALATION_INTENTS, described, failed_step, step_text

COMING_DAYS = 7
NOT_TOPICS = SMALL_TALK | ESCALATION_INTENTS  # greetings, "ja", "tak", asking for a person: not topics
TRANSCRIPT_TURNS = 40
HISTORY_LIMIT = 200
MAX_MESSAGE = 4000
MAX_NOTES = 4000


def _number(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


async def _names(page: Page) -> dict[int, str]:
    return {int(a["id"]): str(a["name"]) for a in await accounts.list_ementors(page.tx)}


# ---- the day list -----------------------------------------------------------------------------------------------
async def _day_lines(page: Page, day: date, location: str | None) -> list[days.BookingLine]:
    start, end = days.day_bounds(day)
    rows = await bookings.list_bookings(page.tx, start, end, None, location)
    names = await _names(page)
    return [
        days.booking_line(r, page.settings.booking, page.console.flows, page.now, page.lang, page.t, names)
        for r in rows
        if r["status"] in days.SHOWN
    ]


def _location_filter(page: Page) -> tuple[str | None, bool]:
    """The location asked for (None: all) and whether it is a known one."""
    raw = page.request.query.get("location", "")
    if not raw:
        return None, True
    found = find_location(page.settings.booking, raw)
    return (found.id, True) if found is not None else (None, False)


async def day_page(page: Page) -> web.Response:
    today = local(page.now).date()
    asked = page.request.match_info.get("day")
    day = days.valid_day(asked) if asked else today
    location, known = _location_filter(page)
    if day is None or not known:
        return error_page(page.request, 404, "not_found_title", "not_found")
    lines = await _day_lines(page, day, location)
    coming = []
    for offset in range(COMING_DAYS):
        other = today + timedelta(days=offset)
        start, end = days.day_bounds(other)
        rows = await bookings.list_bookings(page.tx, start, end, None, location)
        coming.append((other, sum(1 for r in rows if r["status"] in days.SHOWN)))
    return page.render(
        "day.html",
        day=day,
        today=today,
        previous=day - timedelta(days=1),
        following=day + timedelta(days=1),
        location=location or "",
        locations=[(loc.id, loc.name.get(page.lang)) for loc in page.settings.booking.locations],
        slots=[line for line in lines if line.row["kind"] != "workshop"],
        workshops=days.workshop_dates(lines, page.settings.booking, page.lang),
        coming=coming,
        weekday=_weekday(day, page.lang),
    )


def _weekday(day: date, lang: str) -> str:
    from bot.core.words import DAYS, MONTHS  # the words, not the clock: a date alone

    return (
        f"{DAYS[lang][day.weekday()]} den {day.day}. {MONTHS[lang][day.month - 1]} {day.year}"
        if lang == "da"
        else f"{DAYS[lang][day.weekday()]} {day.day} {MONTHS[lang][day.month - 1]} {day.year}"
    )


async def day_csv(page: Page) -> web.Response:
    day = days.valid_day(page.request.match_info.get("day"))
    location, known = _location_filter(page)
    if day is None or not known:
        return error_page(page.request, 404, "not_found_title", "not_found")
    lines = await _day_lines(page, day, location)
    name = f"dagsliste-{day.isoformat()}{'-' + location if location else ''}.csv"
    return web.Response(
        text=days.as_csv(lines, day, page.t),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def _back_to_day(page: Page, row: Mapping[str, Any] | None) -> str:
    raw = page.field("next", 500)
    if raw.startswith("/ementor/") and not raw.startswith("//"):
        return raw
    if row is not None:
        return f"/ementor/day/{local(row['starts_at']).date().isoformat()}"
    return "/ementor/"


async def attendance(page: Page) -> web.Response:
    reference = page.request.match_info["ref"][:12]
    status = page.field("status", 20)
    if status not in (BookingStatus.ATTENDED, BookingStatus.NO_SHOW, BookingStatus.BOOKED):
        return error_page(page.request, 400, "not_found_title", "unknown_booking")
    marked = await bookings.mark_attendance(page.tx, reference, BookingStatus(status), page.now, int(page.me["id"]))
    back = _back_to_day(page, marked.row)
    if marked.outcome == "too_early":
        return page.back(back, problem="too_early")
    if marked.outcome == "too_late":
        return page.back(back + ("&" if "?" in back else "?") + f"n={bookings.CORRECTION_DAYS}", problem="too_late")
    if marked.outcome != "marked":
        return page.back(back, problem="unknown_booking")
    return page.back(back, "done_marked")


async def cancel_booking(page: Page) -> web.Response:
    reference = page.request.match_info["ref"][:12]
    row = await bookings.by_reference(page.tx, reference)
    message = page.field("message", 500)
    if row is None or row["status"] != BookingStatus.BOOKED or row["starts_at"] <= page.now:
        return page.back(_back_to_day(page, row), problem="unknown_booking")
    await cancel_by_ementor(page.tx, page.settings, page.now, row, int(page.me["id"]), message)
    return page.back(_back_to_day(page, row), "done_cancelled")


# ---- blocked time -----------------------------------------------------------------------------------------------
async def blocks_page(page: Page, problem: str = "", status: int = 200, **form: Any) -> web.Response:
    names = await _names(page)
    found = await blocks.list_blocks(page.tx, page.now)
    places = {loc.id: loc.name.get(page.lang) for loc in page.settings.booking.locations}
    return page.render(
        "blocks.html",
        status=status,
        problem=problem,
        blocks=[
            {
                **b,
                "location_name": places.get(b["location"], b["location"]),
                "by": names.get(int(b["ementor_id"])) if b["ementor_id"] else "",
            }
            for b in found
        ],
        locations=list(places.items()),
        form={
            "location": "",
            "date": local(page.now).date().isoformat(),
            "start": "",
            "end": "",
            "places": "",
            "reason": "",
            **form,
        },
        affected=form.get("affected", []),
    )


async def show_blocks(page: Page) -> web.Response:
    return await blocks_page(page)


def _clock(raw: str) -> time | None:
    """ "9", "9.30", "09:30" → a time of day; anything else → None."""
    hours, _, minutes = raw.strip().replace(".", ":").partition(":")
    if not hours.isdigit() or (minutes and not minutes.isdigit()) or len(hours) > 2 or len(minutes) > 2:
        return None
    h, m = int(hours), int(minutes or 0)
    return time(h, m) if h < 24 and m < 60 else None


async def add_block(page: Page) -> web.Response:
    values = {k: page.field(k) for k in ("location", "date", "start", "end", "places", "reason")}
    location = find_location(page.settings.booking, values["location"])
    start_clock, end_clock = _clock(values["start"]), _clock(values["end"])
    try:
        on = date.fromisoformat(values["date"])
    except ValueError:
        on = None
    places = int(values["places"]) if values["places"].isdigit() and len(values["places"]) < 5 else None
    problem = (
        "block_bad_location" if location is None
        else "block_bad_date" if on is None
        else "block_bad_time" if start_clock is None or end_clock is None
        else "block_bad_places" if values["places"] and (places is None or places < 1)
        else None
    )  # fmt: skip
    if problem is not None or location is None or on is None or start_clock is None or end_clock is None:
        return await blocks_page(page, page.t(problem or "block_bad_time"), 400, **values)
    starts_at = datetime.combine(on, start_clock, COPENHAGEN)
    ends_at = datetime.combine(on, end_clock, COPENHAGEN)
    if ends_at <= starts_at:
        return await blocks_page(page, page.t("block_bad_order"), 400, **values)
    if ends_at <= page.now:
        return await blocks_page(page, page.t("block_in_past"), 400, **values)
    same = [
        b
        for b in await blocks.list_blocks(page.tx, page.now)
        if (b["location"], b["starts_at"], b["ends_at"], b["places"]) == (location.id, starts_at, ends_at, places)
    ]
    if same:  # the form sent twice (a double click, a reload): one block
        return page.back("/ementor/blocks", "done_blocked")
    affected = await blocks.bookings_under(page.tx, location, starts_at, ends_at, places, page.now)
    if affected and page.field("confirm") != "1":
        shown = [days.booking_line(r, page.settings.booking, page.console.flows, page.now, page.lang, page.t, {})
                 for r in affected]  # fmt: skip
        return await blocks_page(page, "", 200, **values, affected=shown)  # a question, not an error
    me = int(page.me["id"])
    block_id = await blocks.add_block(page.tx, location.id, starts_at, ends_at, places, values["reason"], me, page.now)
    await audit.record(
        page.tx, page.now, me, "block", str(block_id), {"location": location.id, "cancelled": len(affected)}
    )
    for row in affected:
        await cancel_for_block(page.tx, page.settings, page.now, row, me)
    if affected:
        return page.back(f"/ementor/blocks?n={len(affected)}", "done_blocked_cancelled")
    return page.back("/ementor/blocks", "done_blocked")


async def remove_block(page: Page) -> web.Response:
    number = _number(page.request.match_info["id"])
    if number is None or not await blocks.remove_block(page.tx, number):
        return error_page(page.request, 404, "not_found_title", "not_found")
    await audit.record(page.tx, page.now, int(page.me["id"]), "unblock", str(number), {})
    return page.back("/ementor/blocks", "done_unblocked")


# ---- the live queue ---------------------------------------------------------------------------------------------
def _topic_title(page: Page, topic: str | None) -> str:
    flow = page.console.flows.get(topic or "")
    return flow.title.get(page.lang) if flow is not None else page.t("no_topic")


def _queue_line(page: Page, row: HandoverRow) -> dict[str, Any]:
    waited = max(0, int((page.now - row["created_at"]).total_seconds() // 60))
    spoken = page.t(f"lang_{row['language']}") if row["language"] in ("da", "en") else row["language"]
    return {"row": row, "topic": _topic_title(page, row["topic"]), "waited": waited, "language": spoken}


async def _queue_context(page: Page) -> dict[str, Any]:
    waiting = await handover.list_by_status(page.tx, HandoverStatus.WAITING)
    active = await handover.list_by_status(page.tx, HandoverStatus.ACTIVE)
    latest = await page.tx.fetch("SELECT MAX(id) AS n FROM notices")
    return {
        "waiting": [_queue_line(page, r) for r in waiting],
        "active": [_queue_line(page, r) for r in active],
        "after": int(latest[0]["n"] or 0),
    }


async def queue_page(page: Page) -> web.Response:
    return page.render("queue.html", **await _queue_context(page))


async def queue_rows(page: Page) -> web.Response:
    """The queue's table alone, for the page to swap in when the event stream says something changed."""
    return page.render("queue_rows.html", **await _queue_context(page))


async def take(page: Page) -> web.Response:
    number = _number(page.request.match_info["id"])
    if number is None:
        return error_page(page.request, 404, "not_found_title", "not_found")
    me = page.me
    taken = await handover.take(page.tx, page.settings, page.now, number, int(me["id"]), str(me["name"]))
    if taken.outcome == "taken" or (
        taken.handover is not None and handover.taken_by(taken.handover, int(me["id"]), None)
    ):
        return page.back(f"/ementor/handovers/{number}")
    if taken.outcome == "already" and taken.handover is not None:
        return await _handover_page(page, number, page.t("already_taken", name=taken.handover["ementor_name"]))
    return await _handover_page(page, number, page.t("not_waiting"))


# ---- one hand-over ----------------------------------------------------------------------------------------------
async def _turns_before(page: Page, row: HandoverRow) -> list[Mapping[str, Any]]:
    found = await page.tx.fetch(
        "SELECT text, shown, created_at FROM turns WHERE channel = :channel AND sender = :sender"
        " AND created_at <= :until ORDER BY id DESC LIMIT :limit",
        channel=row["channel"],
        sender=row["sender"],
        until=row["created_at"],
        limit=TRANSCRIPT_TURNS,
    )
    return list(reversed(found))


def _ended_by(page: Page, row: Mapping[str, Any], names: Mapping[int, str]) -> str:
    by = str(row.get("ended_by") or "")
    if by.startswith("ementor:"):
        number = _number(by.split(":", 1)[1])
        return page.t("ended_by_ementor", name=names.get(number or 0, "?"))
    return page.t(f"ended_by_{by}") if by in ("citizen", "timeout", "offline", "delivery_failed") else ""


async def _handover_page(page: Page, number: int, problem: str = "") -> web.Response:
    row = await handover.get(page.tx, number)
    if row is None:
        return error_page(page.request, 404, "not_found_title", "not_found")
    flow = page.console.flows.get(row["topic"] or "")
    steps = handover.steps_of(row)
    stuck = failed_step(steps)
    names = await _names(page)
    mine = handover.taken_by(row, int(page.me["id"]), None)
    colleagues = [
        a for a in await accounts.list_ementors(page.tx)
        if a["active"] and a["id"] != page.me["id"] and a["online_until"] and a["online_until"] > page.now
    ]  # fmt: skip
    lang = row["language"] if row["language"] in ("da", "en") else "da"
    replies = [
        (r.title.get(page.lang), r.text.get(lang).format(name=first_name(str(page.me["name"]))))
        for r in saved_replies(page.settings.conversation.flows)
    ]
    readable = may_read(row, int(page.me["id"]))
    messages = await handover.messages(page.tx, number) if readable else []
    return page.render(
        "handover.html",
        problem=problem,
        h=row,
        topic=_topic_title(page, row["topic"]),
        steps=described(flow, steps, page.lang),
        stuck=step_text(flow, stuck, page.lang) if stuck else "",
        said=transcript(await _turns_before(page, row)),
        messages=messages,
        readable=readable,
        last_message=messages[-1]["id"] if messages else 0,
        mine=mine,
        status_text=_status_text(page, row, names),
        colleagues=colleagues,
        replies=replies,
        outcomes=handover.OUTCOMES,
        waited=max(0, int(((row["taken_at"] or page.now) - row["created_at"]).total_seconds() // 60)),
    )


def _status_text(page: Page, row: HandoverRow, names: Mapping[int, str]) -> str:
    status = row["status"]
    if status == HandoverStatus.ACTIVE:
        return page.t("status_active", name=row["ementor_name"] or "?")
    if status == HandoverStatus.ENDED:
        by = _ended_by(page, row, names)
        return f"{page.t('status_ended')} ({by})" if by else page.t("status_ended")
    return page.t(f"status_{status}")


async def handover_page(page: Page) -> web.Response:
    number = _number(page.request.match_info["id"])
    if number is None:
        return error_page(page.request, 404, "not_found_title", "not_found")
    return await _handover_page(page, number)


async def _mine(page: Page) -> HandoverRow | web.Response:
    number = _number(page.request.match_info["id"])
    row = await handover.get(page.tx, number) if number is not None else None
    if row is None:
        return error_page(page.request, 404, "not_found_title", "not_found")
    if not handover.taken_by(row, int(page.me["id"]), None):
        return await _handover_page(page, int(row["id"]), page.t("not_yours"))
    return row


async def say(page: Page) -> web.Response:
    """The form's way to write to the citizen (the page's script uses the JSON API and stays on the page)."""
    row = await _mine(page)
    if isinstance(row, web.Response):
        return row
    text = page.field("text", MAX_MESSAGE + 1)
    if not text or len(text) > MAX_MESSAGE:
        return page.back(f"/ementor/handovers/{row['id']}", problem="message_empty")
    await handover.ementor_says(page.tx, page.settings, page.now, row, text)
    return page.back(f"/ementor/handovers/{row['id']}#chat-end", "done_message_sent")


async def save_notes(page: Page) -> web.Response:
    """Notes and outcome: any eMentor may add to them, also after the end (a colleague following up)."""
    number = _number(page.request.match_info["id"])
    row = await handover.get(page.tx, number) if number is not None else None
    if row is None:
        return error_page(page.request, 404, "not_found_title", "not_found")
    outcome = page.field("outcome", 24)
    await handover.set_notes(page.tx, int(row["id"]), page.field("notes", MAX_NOTES))
    await handover.set_outcome(page.tx, int(row["id"]), outcome if outcome in handover.OUTCOMES else None)
    return page.back(f"/ementor/handovers/{row['id']}", "done_saved")


async def transfer(page: Page) -> web.Response:
    row = await _mine(page)
    if isinstance(row, web.Response):
        return row
    target = page.field("to", 20)
    to = _number(target) if target != "queue" else None
    if target != "queue" and to is None:
        return await _handover_page(page, int(row["id"]), page.t("bad_input", why=page.t("transfer_to")))
    outcome = await handover.transfer(page.tx, page.settings, page.now, int(row["id"]), int(page.me["id"]), to)
    if outcome not in ("transferred", "queued"):
        return await _handover_page(page, int(row["id"]), page.t("bad_input", why=page.t("transfer_to")))
    return page.back("/ementor/queue", "done_transferred")


async def end(page: Page) -> web.Response:
    row = await _mine(page)
    if isinstance(row, web.Response):
        return row
    await handover.end(page.tx, page.settings, page.now, int(row["id"]), ended_by=f"ementor:{page.me['id']}")
    return page.back(f"/ementor/handovers/{row['id']}", "done_ended")


# ---- history ----------------------------------------------------------------------------------------------------
async def history(page: Page) -> web.Response:
    today = local(page.now).date()
    start_day = days.parse_day(page.request.query.get("from"), today - timedelta(days=7))
    end_day = days.parse_day(page.request.query.get("to"), today)
    topic = page.request.query.get("topic", "")[:64] or None
    if topic is not None and topic not in page.console.flows:
        topic = None
    rows = await handover.list_ended(
        page.tx, days.day_bounds(start_day)[0], days.day_bounds(end_day)[1], topic, HISTORY_LIMIT
    )
    names = await _names(page)
    return page.render(
        "history.html",
        rows=[{**_queue_line(page, r), "by": _ended_by(page, r, names)} for r in rows],
        start=start_day,
        end=end_day,
        topic=topic or "",
        topics=sorted(
            ((k, f.title.get(page.lang)) for k, f in page.console.flows.items() if k not in NOT_TOPICS),
            key=lambda kv: kv[1],
        ),
    )


# ---- presence ---------------------------------------------------------------------------------------------------
async def presence(page: Page) -> web.Response:
    online = page.field("online") == "1"
    until = page.now + timedelta(hours=page.settings.handover.online_hours) if online else None
    await accounts.set_online(page.tx, int(page.me["id"]), until)
    if not online:
        await handover.nobody_online_check(page.tx, page.settings, page.now)
    raw = page.field("next", 500)
    return page.back(raw if raw.startswith("/ementor/") or raw.startswith("/admin/") else "/ementor/")


def add_routes(app: web.Application) -> None:
    get, post = app.router.add_get, app.router.add_post
    get("/ementor", console(day_page))
    get("/ementor/", console(day_page))
    get(r"/ementor/day/{day:\d{4}-\d{2}-\d{2}}", console(day_page))
    get(r"/ementor/day/{day:\d{4}-\d{2}-\d{2}}.csv", console(day_csv))
    post("/ementor/bookings/{ref}/attendance", console(attendance))
    post("/ementor/bookings/{ref}/cancel", console(cancel_booking))
    get("/ementor/blocks", console(show_blocks))
    post("/ementor/blocks", console(add_block))
    post(r"/ementor/blocks/{id:\d+}/remove", console(remove_block))
    get("/ementor/queue", console(queue_page))
    get("/ementor/queue/rows", console(queue_rows))
    get(r"/ementor/handovers/{id:\d+}", console(handover_page))
    post(r"/ementor/handovers/{id:\d+}/take", console(take))
    post(r"/ementor/handovers/{id:\d+}/say", console(say))
    post(r"/ementor/handovers/{id:\d+}/notes", console(save_notes))
    post(r"/ementor/handovers/{id:\d+}/transfer", console(transfer))
    post(r"/ementor/handovers/{id:\d+}/end", console(end))
    get("/ementor/history", console(history))
    post("/ementor/presence", console(presence))
