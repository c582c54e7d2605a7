"""The eMentors' JSON API under /api/ementor/: presence, the notice feed, hand-overs, bookings, blocks.

The consoles' pages use it from the browser, and a script or curl can use it, with an account's token (from
`ementor mentor add`) or a console session; authentication, transactions and errors are bot/api/common.py's.

The API never shows a citizen's sender id: an eMentor needs the topic and the words, not the address. Times
are Copenhagen time with their offset (2026-12-01T09:30:00+01:00), as the eMentors read a clock; a date
given as a filter is a whole day in Copenhagen. Hand-overs and bookings carry the topic's title and the
steps the citizen saw in words (Danish, or English with ?lang=en) beside their ids.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from bot.api.common import (
    CLOCK_KEY,
    FLOWS_KEY,
    SETTINGS_KEY,
    STORE_KEY,
    TOKENS_KEY,
    ApiError,
    Call,
    answer,
    endpoint,
)
from bot.api.tokens import TokenGuard
from bot.booking import audit, blocks, bookings
from bot.booking.bookings import BookingRow
from bot.booking.cancel_notice import block_over_bookings
from bot.booking.places import find_location
from bot.booking.texts import flows_of, is_phone
from bot.config import LocationSettings, Settings
from bot.core.clock import COPENHAGEN, Clock, utc_now
from bot.core.edge import check_year
from bot.core.ports import ConversationStore
from bot.core.privacy import redacted
from bot.core.statuses import BookingStatus, HandoverStatus, OutboxStatus
from bot.delivery.notices import GROUP_CHANNEL
from bot.delivery.outbox import list_deliveries
from bot.escalation import accounts, handover
from bot.escalation.accounts import EmentorRow
from bot.escalation.handover import CLOSED_HANDOVER, HandoverRow
from bot.flows.model import Flow
from bot.flows.topic import described, failed_step, step_text

PREFIX = "/api/ementor"
MAX_TEXT = 4000
MAX_LIST = 200
HIDDEN_BOOKING = ("sender", "calendar_key", "tried", "phone")
ENDED_LIMIT = 200


# ---- the eMentor ----------------------------------------------------------------------------------------------
def _me(row: EmentorRow, now: datetime) -> dict[str, Any]:
    until = row["online_until"]
    return {**row, "online": until is not None and until > now}


async def me(call: Call) -> web.Response:
    return answer(_me(call.me, call.now))


async def presence(call: Call) -> web.Response:
    online = call.field("online", bool)
    until = call.now + timedelta(hours=call.settings.handover.online_hours) if online else None
    await accounts.set_online(call.tx, int(call.me["id"]), until)
    if until is None:  # the last one gone: the waiting citizens are told, not left waiting for nobody
        await handover.close_queue_if_nobody_online(call.tx, call.settings, call.now)
    return answer(_me({**call.me, "online_until": until}, call.now))


async def colleagues(call: Call) -> web.Response:
    """The active eMentors, to hand a citizen to: id, name and whether online."""
    rows = await accounts.list_ementors(call.tx)
    return answer(
        [
            {"id": r["id"], "name": r["name"], "online": r["online_until"] is not None and r["online_until"] > call.now}
            for r in rows
            if r["active"]
        ]
    )


def _query_int(call: Call, name: str, default: int, low: int, high: int) -> int:
    raw = call.request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 18 or not low <= int(raw) <= high:
        raise ApiError(400, f'"{name}" must be a whole number from {low} to {high}.')
    return int(raw)


async def notices(call: Call) -> web.Response:
    after = _query_int(call, "after", 0, 0, 10**17)
    limit = _query_int(call, "limit", 100, 1, MAX_LIST)
    rows = await call.tx.fetch(
        "SELECT id, kind, body, created_at FROM notices WHERE id > :after ORDER BY id LIMIT :limit",
        after=after,
        limit=limit,
    )
    return answer([{**r, "body": json.loads(r["body"])} for r in rows])


# ---- hand-overs -----------------------------------------------------------------------------------------------
def _public(call: Call, row: HandoverRow) -> dict[str, Any]:
    """A hand-over as an eMentor sees it: what the citizen needs help with in words, who has it, the eMentors'
    notes and outcome; never the sender id."""
    body = handover.notice_body(call.settings, row, call.now, call.lang)
    del body["at"]
    return {
        **body,
        "taken_at": row["taken_at"],
        "ended_at": row["ended_at"],
        "notes": row["notes"],
        "outcome": row["outcome"],
    }


async def _handover(call: Call) -> HandoverRow:
    row = await handover.get(call.tx, call.number("id"))
    if row is None:
        raise ApiError(404, "No such hand-over.")
    return row


def _require_mine(call: Call, row: HandoverRow) -> None:
    if not handover.taken_by(row, int(call.me["id"]), None):
        raise ApiError(409, "This hand-over is not yours (or no longer active).")


async def list_handovers(call: Call) -> web.Response:
    """The queue (`waiting`), the talks going on (`active`), or the history (`ended`, newest first, with
    from/to — dates are whole Copenhagen days — and topic)."""
    query = call.request.query
    status = query.get("status", HandoverStatus.WAITING)
    if status not in (HandoverStatus.WAITING, HandoverStatus.ACTIVE, HandoverStatus.ENDED):
        raise ApiError(400, '"status" must be waiting, active or ended.')
    if status == HandoverStatus.ENDED:
        start, end_at = _period(call)
        topic = query.get("topic")
        if topic is not None and (len(topic) > 64 or topic not in call.flows):
            raise ApiError(400, '"topic" is not a known topic.')
        limit = _query_int(call, "limit", 100, 1, ENDED_LIMIT)
        rows = await handover.list_ended(call.tx, start, end_at, topic, limit)
    else:
        rows = await handover.list_by_status(call.tx, HandoverStatus(status))
    return answer([_public(call, r) for r in rows])


async def one_handover(call: Call) -> web.Response:
    return answer(_public(call, await _handover(call)))


async def take(call: Call) -> web.Response:
    row = await _handover(call)
    if handover.taken_by(row, int(call.me["id"]), None):
        return answer(_public(call, row))  # pressed twice: still yours
    name = str(call.me["name"])
    taken = await handover.take(call.tx, call.settings, call.now, int(row["id"]), int(call.me["id"]), name)
    if taken.outcome != "taken" or taken.handover is None:
        who = taken.handover["ementor_name"] if taken.handover and taken.outcome == "already" else None
        raise ApiError(409, f"Already taken by {who}." if who else "This hand-over is no longer waiting.")
    return answer(_public(call, taken.handover))


async def read_messages(call: Call) -> web.Response:
    """Waiting (to decide whether to take it) and closed (history, a colleague following up): any eMentor;
    a talk going on: only the eMentor who has it."""
    row = await _handover(call)
    readable = row["status"] == HandoverStatus.WAITING or row["status"] in CLOSED_HANDOVER
    if not readable and row["ementor_id"] != call.me["id"]:
        raise ApiError(409, "This hand-over is not yours.")
    after = _query_int(call, "after", 0, 0, 10**17)
    return answer(await handover.messages(call.tx, int(row["id"]), after))


async def write_message(call: Call) -> web.Response:
    text = call.field("text", str)
    if not text.strip() or len(text) > MAX_TEXT:
        raise ApiError(400, f'"text" must be 1 to {MAX_TEXT} characters.')
    row = await _handover(call)
    _require_mine(call, row)
    await handover.ementor_says(call.tx, call.settings, call.now, row, text)
    return answer({"status": "sent"}, 201)


async def end(call: Call) -> web.Response:
    row = await _handover(call)
    _require_mine(call, row)
    await handover.end(call.tx, call.settings, call.now, int(row["id"]), f"ementor:{call.me['id']}")
    ended = await handover.get(call.tx, int(row["id"]))
    assert ended is not None
    return answer(_public(call, ended))


async def transfer(call: Call) -> web.Response:
    """{"to": ementor id} hands the talk to a colleague; {"to": null} puts the citizen back in the queue."""
    if not isinstance(call.body, dict) or "to" not in call.body:
        raise ApiError(400, '"to" is missing: a colleague\'s id, or null for the queue.')
    to = call.field("to", int, required=False)
    row = await _handover(call)
    outcome = await handover.transfer(call.tx, call.settings, call.now, int(row["id"]), int(call.me["id"]), to)
    if outcome == "not_yours":
        raise ApiError(409, "This hand-over is not yours (or no longer active).")
    if outcome == "no_colleague":
        raise ApiError(400, '"to" is not an active colleague.')
    moved = await handover.get(call.tx, int(row["id"]))
    assert moved is not None
    return answer(_public(call, moved))


async def notes(call: Call) -> web.Response:
    """The eMentors' private notes (any eMentor: a colleague may follow up); never shown to the citizen."""
    text = call.field("notes", str)
    if len(text) > handover.MAX_NOTES:
        raise ApiError(400, f'"notes" must be at most {handover.MAX_NOTES} characters.')
    row = await _handover(call)
    await handover.set_notes(call.tx, int(row["id"]), text)
    return answer({"handover": row["id"], "notes": text})


async def outcome(call: Call) -> web.Response:
    value = call.field("outcome", str, required=False)
    if value is not None and value not in handover.OUTCOMES:
        raise ApiError(400, f'"outcome" must be one of {", ".join(handover.OUTCOMES)} (or null).')
    row = await _handover(call)
    await handover.set_outcome(call.tx, int(row["id"]), value)
    await audit.record(
        call.tx, call.now, int(call.me["id"]), "handover_outcome", f"handover:{row['id']}", {"outcome": value}
    )
    return answer({"handover": row["id"], "outcome": value})


# ---- bookings, blocks, deliveries ------------------------------------------------------------------------------
def _moment(raw: Any, name: str, day_end: bool = False) -> datetime:
    """An ISO date or date-time; without an offset it is Copenhagen wall-clock time. A date alone is the
    start of that day in Copenhagen — or, with `day_end`, the start of the next (so from=to=a date is the
    whole day)."""
    if not isinstance(raw, str) or len(raw) > 40:
        raise ApiError(400, f'"{name}" must be an ISO date or time, like 2026-12-03T10:00.')
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            check_year(day, name)  # before a day is added: 9999-12-31 has no next day
            return datetime.combine(day + timedelta(days=1 if day_end else 0), time(0), COPENHAGEN)
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f'"{name}" must be an ISO date or time, like 2026-12-03T10:00.') from None
    check_year(moment, name)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=COPENHAGEN)


def _period(call: Call) -> tuple[datetime | None, datetime | None]:
    query = call.request.query
    start = _moment(query["from"], "from") if "from" in query else None
    end_at = _moment(query["to"], "to", day_end=True) if "to" in query else None
    return start, end_at


def _location(call: Call, raw: str) -> LocationSettings:
    """A configured location by its id or its name (either language, any case)."""
    wanted = " ".join(raw.split()).casefold()
    for loc in call.settings.booking.locations:
        if wanted in (loc.id.casefold(), loc.name.get("da").casefold(), loc.name.get("en").casefold()):
            return loc
    raise ApiError(400, '"location" is not a configured location (its id or name).')


def _booking(call: Call, row: BookingRow) -> dict[str, Any]:
    """A booking as an eMentor sees it: the topic and the steps in words, the phone number only for a
    call-back; never the citizen's sender id or calendar key."""
    steps = json.loads(row["tried"] or "[]")
    flow = call.flows.get(row["topic"] or "")
    failed = failed_step(steps)
    shown = {k: v for k, v in row.items() if k not in HIDDEN_BOOKING}
    return {
        **shown,
        "phone": row["phone"] if is_phone(call.settings, row) else None,
        "topic_title": flow.title.get(call.lang) if flow is not None else row["topic"],
        "steps": [
            {"id": d["step"], "text": d["text"], "answer": d["answer"], "outcome": d["outcome"]}
            for d in described(flow, steps, call.lang)
        ],
        "failed_at": failed,
        "failed_at_text": step_text(flow, failed, call.lang) if failed else None,
    }


def _affected(row: BookingRow) -> dict[str, Any]:
    """A booking a block would take, as the eMentor is warned of it: when, who (first name), reference."""
    return {
        "reference": row["reference"],
        "starts_at": row["starts_at"],
        "name": row["name"],
        "location": row["location"],
    }


async def list_bookings(call: Call) -> web.Response:
    query = call.request.query
    start, end_at = _period(call)
    status = query.get("status")
    if status is not None and status not in set(BookingStatus):
        raise ApiError(400, f'"status" must be one of {", ".join(BookingStatus)}.')
    location = _location(call, query["location"]).id if "location" in query else None
    rows = await bookings.list_bookings(call.tx, start, end_at, BookingStatus(status) if status else None, location)
    return answer([_booking(call, r) for r in rows])


async def attendance(call: Call) -> web.Response:
    """attended or no_show, from the appointment's start (409 before); booked undoes a mark."""
    status = call.field("status", str)
    if status not in bookings.MARKS:
        raise ApiError(400, '"status" must be attended, no_show or booked (to undo).')
    reference = call.request.match_info["ref"][:12]
    marked = await bookings.mark_attendance(call.tx, reference, BookingStatus(status), call.now, int(call.me["id"]))
    if marked.outcome == "too_early" and marked.row is not None:
        raise ApiError(
            409, "Attendance can be recorded only once the time has begun.", {"starts_at": marked.row["starts_at"]}
        )
    if marked.outcome == "too_late":
        raise ApiError(409, f"Attendance can be changed only until {bookings.CORRECTION_DAYS} days after the time.")
    if marked.outcome != "marked" or marked.row is None:
        raise ApiError(404, "No live booking with that reference.")
    return answer(_booking(call, marked.row))


async def list_blocks(call: Call) -> web.Response:
    return answer(await blocks.list_blocks(call.tx, call.now))


async def add_block(call: Call) -> web.Response:
    """Block time. When it lands on booked citizens, the answer is 409 with those bookings, and nothing
    changes; sent again with "confirm": true, the block is made and those bookings are cancelled, each
    citizen told on their own channel."""
    location = call.field("location", str)
    configured = find_location(call.settings.booking, location)
    if configured is None:
        raise ApiError(400, '"location" is not a configured location.')
    starts_at = _moment(call.field("starts_at", str), "starts_at")
    ends_at = _moment(call.field("ends_at", str), "ends_at")
    places = call.field("places", int, required=False)
    reason = call.field("reason", str, required=False) or ""
    confirm = call.field("confirm", bool, required=False) or False
    if ends_at <= starts_at or (places is not None and not 1 <= places <= 1000) or len(reason) > 200:
        raise ApiError(400, "A block ends after it starts, has 1 to 1000 places (or none: all) and a short reason.")
    if ends_at <= call.now:
        raise ApiError(400, "A block must end in the future.")
    under = await blocks.bookings_under(call.tx, configured, starts_at, ends_at, places, call.now)
    if under and not confirm:
        raise ApiError(
            409,
            f'The block would cancel {len(under)} booking(s); send it again with "confirm": true to do so.',
            {"bookings": [_affected(r) for r in under]},
        )
    me = int(call.me["id"])
    block_id, cancelled = await block_over_bookings(
        call.tx, call.settings, call.now, configured.id, starts_at, ends_at, places, reason, me
    )
    return answer({"id": block_id, "cancelled": [_affected(r) for r in cancelled]}, 201)


async def remove_block(call: Call) -> web.Response:
    number = call.number("id")
    if not await blocks.remove_block(call.tx, number):
        raise ApiError(404, "No such block.")
    await audit.record(call.tx, call.now, int(call.me["id"]), "unblock", f"block:{number}", {})
    return answer({"status": "removed"})


async def deliveries(call: Call) -> web.Response:
    status = call.request.query.get("status")
    if status is not None and status not in set(OutboxStatus):
        raise ApiError(400, f'"status" must be one of {", ".join(OutboxStatus)}.')
    limit = _query_int(call, "limit", 100, 1, MAX_LIST)
    rows = await list_deliveries(call.tx, OutboxStatus(status) if status else None, limit)
    # whom it was for, not the address: a citizen's recipient is their sender id, named nowhere in the row —
    # not even in a sender's error ("not a Telegram chat id: '…'")
    group = str(call.settings.handover.telegram_group_chat_id)
    return answer(
        [
            {k: v for k, v in r.items() if k != "recipient"}
            | {"to": "group" if (r["channel"], r["recipient"]) == (GROUP_CHANNEL, group) else "citizen"}
            | {"last_error": _without(r["last_error"], r["recipient"])}
            for r in rows
        ]
    )


def _without(error: str | None, recipient: str) -> str | None:
    """A delivery's error with the recipient's id (and anything personal) masked."""
    if error is None:
        return None
    return redacted(error.replace(recipient, "[recipient]") if recipient else error)


def add_routes(
    app: web.Application,
    store: ConversationStore,
    settings: Settings,
    clock: Clock = utc_now,
    flows: Mapping[str, Flow] | None = None,
) -> None:
    """The routes under /api/ementor/. `flows` (the runtime's, for topic titles and step texts) are read from
    the configured folder when not handed in."""
    app[STORE_KEY], app[SETTINGS_KEY], app[CLOCK_KEY] = store, settings, clock
    app[TOKENS_KEY] = TokenGuard(settings.limits, settings.console_secret or secrets.token_hex(32))
    app[FLOWS_KEY] = flows if flows is not None else flows_of(settings)
    routes = [
        ("GET", "/me", me),
        ("POST", "/presence", presence),
        ("GET", "/notices", notices),
        ("GET", "/ementors", colleagues),
        ("GET", "/handovers", list_handovers),
        ("GET", r"/handovers/{id:\d+}", one_handover),
        ("POST", r"/handovers/{id:\d+}/take", take),
        ("GET", r"/handovers/{id:\d+}/messages", read_messages),
        ("POST", r"/handovers/{id:\d+}/messages", write_message),
        ("POST", r"/handovers/{id:\d+}/end", end),
        ("POST", r"/handovers/{id:\d+}/transfer", transfer),
        ("PUT", r"/handovers/{id:\d+}/notes", notes),
        ("POST", r"/handovers/{id:\d+}/notes", notes),
        ("POST", r"/handovers/{id:\d+}/outcome", outcome),
        ("GET", "/bookings", list_bookings),
        ("POST", "/bookings/{ref}/attendance", attendance),
        ("GET", "/blocks", list_blocks),
        ("POST", "/blocks", add_block),
        ("DELETE", r"/blocks/{id:\d+}", remove_block),
        ("GET", "/deliveries", deliveries),
    ]
    for method, path, fn in routes:
        app.router.add_route(method, PREFIX + path, endpoint(fn))
