"""The eMentors' JSON API under /api/ementor/: presence, the notice feed, hand-overs, bookings, blocks.

The consoles' pages use it from the browser, and a script or curl can use it. A request carries an account's
token (`Authorization: Bearer …`, from `ementor mentor add`) or a console login's session cookie; a request
that changes something on a session must also carry the session's CSRF token in `X-CSRF-Token` (a page of
another site can make the browser send the cookie, but cannot read the token). Without either the answer is
401, and the same 401 whether or not the account exists. Each request runs in one transaction of its own, the account
check included. Every input is checked (bad JSON, wrong types, huge text → 400) and errors are JSON in the
REST channel's shape: {"status": "failure", "message": …, "code": …}.

The API never shows a citizen's sender id: an eMentor needs the topic and the words, not the address.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot.booking import blocks, bookings
from bot.booking.bookings import BookingRow
from bot.booking.places import find_location
from bot.config import Settings
from bot.consoles import auth
from bot.core.clock import COPENHAGEN, Clock, utc_now
from bot.core.ports import ConversationStore, StorageUnavailable, Tx
from bot.core.statuses import ATTENDANCE, BookingStatus, HandoverStatus, OutboxStatus
from bot.delivery.outbox import list_deliveries
from bot.escalation import accounts, handover
from bot.escalation.accounts import EmentorRow
from bot.escalation.handover import HandoverRow

PREFIX = "/api/ementor"
MAX_BODY = 16 * 1024
MAX_TEXT = 4000
MAX_LIST = 200
STORE_KEY: web.AppKey[ConversationStore] = web.AppKey("ementor_api_store")
SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("ementor_api_settings", Settings)
CLOCK_KEY: web.AppKey[Clock] = web.AppKey("ementor_api_clock")
HIDDEN_BOOKING = ("sender", "calendar_key")


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def failure(status: int, message: str) -> web.Response:
    return web.json_response({"status": "failure", "message": message, "code": status}, status=status)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def answer(value: Any, status: int = 200) -> web.Response:
    text = json.dumps(value, ensure_ascii=False, default=_plain)
    return web.json_response(text=text, status=status, headers={"Cache-Control": "no-store"})


@dataclass(frozen=True)
class Call:
    request: web.Request
    tx: Tx
    me: EmentorRow
    body: Any
    settings: Settings
    now: datetime

    def field(self, name: str, kind: type | tuple[type, ...], required: bool = True) -> Any:
        if not isinstance(self.body, dict):
            raise ApiError(400, "The request body must be a JSON object.")
        value = self.body.get(name)
        if value is None and not required:
            return None
        if value is None or not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ApiError(400, f'"{name}" is missing or has the wrong type.')
        return value

    def number(self, name: str) -> int:
        raw = self.request.match_info[name]
        if len(raw) > 18:
            raise ApiError(404, "Not found.")
        return int(raw)


Endpoint = Callable[[Call], Awaitable[web.Response]]


def _bearer(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def _read_json(request: web.Request) -> tuple[Any, str | None]:
    if not request.can_read_body:
        return None, None
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return None, "The request body is too large."
    try:
        return json.loads(raw.decode("utf-8")), None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, "The request body is not valid JSON."


def endpoint(fn: Endpoint) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Authenticate, read the body, run `fn` in one transaction; errors as JSON."""

    async def handle(request: web.Request) -> web.Response:
        token = _bearer(request)
        body, bad_body = await _read_json(request)
        app = request.app

        async def work(tx: Tx) -> web.Response:
            now = app[CLOCK_KEY]()
            me = await accounts.authenticate(tx, token) if token else None
            if me is None and not token:
                session = await auth.session_of(
                    tx, request.cookies.get(auth.COOKIE, ""), app[SETTINGS_KEY].console, now
                )
                if (
                    session is not None
                    and request.method != "GET"
                    and not auth.csrf_ok(session, request.headers.get(auth.CSRF_HEADER))
                ):
                    return failure(403, "The page is out of date: reload it and try again.")
                me = session.user if session is not None else None
            if me is None:
                return failure(401, "A valid eMentor token is needed (Authorization: Bearer …).")
            if bad_body:
                return failure(400, bad_body)
            try:
                return await fn(Call(request, tx, me, body, app[SETTINGS_KEY], now))
            except ApiError as exc:
                return failure(exc.status, exc.message)

        try:
            return await app[STORE_KEY].transaction(work)
        except StorageUnavailable:
            return failure(503, "The database is not available right now.")

    return handle


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
    return answer(_me({**call.me, "online_until": until}, call.now))


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
def _public(row: HandoverRow, now: datetime) -> dict[str, Any]:
    body = handover.notice_body(row, now)
    del body["at"]
    return {**body, "taken_at": row["taken_at"], "ended_at": row["ended_at"]}


async def _handover(call: Call) -> HandoverRow:
    row = await handover.get(call.tx, call.number("id"))
    if row is None:
        raise ApiError(404, "No such hand-over.")
    return row


def _require_mine(call: Call, row: HandoverRow) -> None:
    if not handover.taken_by(row, int(call.me["id"]), None):
        raise ApiError(409, "This hand-over is not yours (or no longer active).")


async def list_handovers(call: Call) -> web.Response:
    status = call.request.query.get("status", HandoverStatus.WAITING)
    if status not in (HandoverStatus.WAITING, HandoverStatus.ACTIVE):
        raise ApiError(400, '"status" must be waiting or active.')
    rows = await handover.list_by_status(call.tx, HandoverStatus(status))
    return answer([_public(r, call.now) for r in rows])


async def take(call: Call) -> web.Response:
    row = await _handover(call)
    if handover.taken_by(row, int(call.me["id"]), None):
        return answer(_public(row, call.now))  # pressed twice: still yours
    name = str(call.me["name"])
    taken = await handover.take(call.tx, call.settings, call.now, int(row["id"]), int(call.me["id"]), name)
    if taken.outcome != "taken" or taken.handover is None:
        who = taken.handover["ementor_name"] if taken.handover and taken.outcome == "already" else None
        raise ApiError(409, f"Already taken by {who}." if who else "This hand-over is no longer waiting.")
    return answer(_public(taken.handover, call.now))


async def read_messages(call: Call) -> web.Response:
    row = await _handover(call)
    if (
        row["status"] != HandoverStatus.WAITING and row["ementor_id"] != call.me["id"]
    ):  # waiting: any eMentor, to decide
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
    await handover.end(call.tx, call.settings, call.now, int(row["id"]))
    return answer(_public({**row, "status": HandoverStatus.ENDED, "ended_at": call.now}, call.now))


# ---- bookings, blocks, deliveries ------------------------------------------------------------------------------
def _moment(raw: Any, name: str) -> datetime:
    """An ISO date or date-time; without an offset it is Copenhagen wall-clock time."""
    if not isinstance(raw, str) or len(raw) > 40:
        raise ApiError(400, f'"{name}" must be an ISO date or time, like 2026-12-03T10:00.')
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f'"{name}" must be an ISO date or time, like 2026-12-03T10:00.') from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=COPENHAGEN)


def _booking(row: BookingRow) -> dict[str, Any]:
    """A booking as an eMentor sees it: never the citizen's sender id or calendar key."""
    return {k: v for k, v in row.items() if k not in HIDDEN_BOOKING}


async def list_bookings(call: Call) -> web.Response:
    query = call.request.query
    start = _moment(query["from"], "from") if "from" in query else None
    end_at = _moment(query["to"], "to") if "to" in query else None
    status = query.get("status")
    if status is not None and status not in set(BookingStatus):
        raise ApiError(400, f'"status" must be one of {", ".join(BookingStatus)}.')
    rows = await bookings.list_bookings(call.tx, start, end_at, BookingStatus(status) if status else None)
    return answer([_booking(r) for r in rows])


async def attendance(call: Call) -> web.Response:
    status = call.field("status", str)
    if status not in ATTENDANCE:
        raise ApiError(400, '"status" must be attended or no_show.')
    reference = call.request.match_info["ref"][:12]
    row = await bookings.mark_attendance(call.tx, reference, BookingStatus(status), call.now)
    if row is None:
        raise ApiError(404, "No live booking with that reference.")
    return answer(_booking(row))


async def list_blocks(call: Call) -> web.Response:
    return answer(await blocks.list_blocks(call.tx, call.now))


async def add_block(call: Call) -> web.Response:
    location = call.field("location", str)
    if find_location(call.settings.booking, location) is None:
        raise ApiError(400, '"location" is not a configured location.')
    starts_at = _moment(call.field("starts_at", str), "starts_at")
    ends_at = _moment(call.field("ends_at", str), "ends_at")
    places = call.field("places", int, required=False)
    reason = call.field("reason", str, required=False) or ""
    if ends_at <= starts_at or (places is not None and not 1 <= places <= 1000) or len(reason) > 200:
        raise ApiError(400, "A block ends after it starts, has 1 to 1000 places (or none: all) and a short reason.")
    block_id = await blocks.add_block(
        call.tx, location, starts_at, ends_at, places, reason, int(call.me["id"]), call.now
    )
    return answer({"id": block_id}, 201)


async def remove_block(call: Call) -> web.Response:
    if not await blocks.remove_block(call.tx, call.number("id")):
        raise ApiError(404, "No such block.")
    return answer({"status": "removed"})


async def deliveries(call: Call) -> web.Response:
    status = call.request.query.get("status")
    if status is not None and status not in set(OutboxStatus):
        raise ApiError(400, f'"status" must be one of {", ".join(OutboxStatus)}.')
    limit = _query_int(call, "limit", 100, 1, MAX_LIST)
    return answer(await list_deliveries(call.tx, OutboxStatus(status) if status else None, limit))


def add_routes(app: web.Application, store: ConversationStore, settings: Settings, clock: Clock = utc_now) -> None:
    app[STORE_KEY], app[SETTINGS_KEY], app[CLOCK_KEY] = store, settings, clock
    routes = [
        ("GET", "/me", me),
        ("POST", "/presence", presence),
        ("GET", "/notices", notices),
        ("GET", "/handovers", list_handovers),
        ("POST", r"/handovers/{id:\d+}/take", take),
        ("GET", r"/handovers/{id:\d+}/messages", read_messages),
        ("POST", r"/handovers/{id:\d+}/messages", write_message),
        ("POST", r"/handovers/{id:\d+}/end", end),
        ("GET", "/bookings", list_bookings),
        ("POST", "/bookings/{ref}/attendance", attendance),
        ("GET", "/blocks", list_blocks),
        ("POST", "/blocks", add_block),
        ("DELETE", r"/blocks/{id:\d+}", remove_block),
        ("GET", "/deliveries", deliveries),
    ]
    for method, path, fn in routes:
        app.router.add_route(method, PREFIX + path, endpoint(fn))
