"""Live updates for the console without reloading: server-sent events at /ementor/events.

The browser's EventSource keeps one request open; every `POLL_SECONDS` the stream reads what is new in the
database — notices (a citizen joined the queue, a hand-over was taken, handed on or ended) and, for the
hand-over page that asked, the chat's new messages — and sends them as events. Reading the database rather
than listening inside one process means an eMentor sees what any bot process did. The stream checks the
session again every minute and ends with it; `Last-Event-ID` lets the browser pick up where it left off after
a dropped connection. Notices carry no citizen text; a chat message is shown only to those who may read it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.consoles import auth
from bot.consoles.web import CONSOLE_KEY, HEADERS, may_read
from bot.core.ports import StorageUnavailable, Tx
from bot.escalation import handover

POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
SESSION_CHECK_SECONDS = 60.0
MAX_BATCH = 50
STREAMS_KEY: web.AppKey[set[asyncio.Task[Any]]] = web.AppKey("console_streams")


def _cursor(request: web.Request) -> tuple[int | None, int]:
    """(notice id, message id) to continue after: from Last-Event-ID ("n12-m40"), else the query."""
    raw = request.headers.get("Last-Event-ID", "")
    if raw.startswith("n") and "-m" in raw:
        notice, message = raw[1:].split("-m", 1)
        if notice.isdigit() and message.isdigit() and len(raw) < 40:
            return int(notice), int(message)
    after = request.query.get("after", "")
    message_after = request.query.get("after_message", "")
    return (
        int(after) if after.isdigit() and len(after) < 18 else None,
        int(message_after) if message_after.isdigit() and len(message_after) < 18 else 0,
    )


def _event(kind: str, cursor: str, data: Any) -> bytes:
    body = json.dumps(data, ensure_ascii=False, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))
    return f"id: {cursor}\nevent: {kind}\ndata: {body}\n\n".encode()


async def _news(
    tx: Tx, *, after: int, handover_id: int | None, message_after: int, me: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Notices after `after`, and the hand-over's messages after `message_after` when `me` may read them."""
    notices = await tx.fetch(
        "SELECT id, kind, body, created_at FROM notices WHERE id > :after ORDER BY id LIMIT :n",
        after=after,
        n=MAX_BATCH,
    )
    messages: list[dict[str, Any]] = []
    if handover_id is not None:
        row = await handover.get(tx, handover_id)
        if row is not None and may_read(row, me):
            messages = [dict(m) for m in await handover.messages(tx, handover_id, message_after)]
    return [dict(n) for n in notices], messages[:MAX_BATCH]


async def events(request: web.Request) -> web.StreamResponse:
    c = request.app[CONSOLE_KEY]
    value = request.cookies.get(auth.COOKIE, "")
    raw_handover = request.query.get("handover", "")
    handover_id = int(raw_handover) if raw_handover.isdigit() and len(raw_handover) < 18 else None
    notice_after, message_after = _cursor(request)

    async def start(tx: Tx) -> tuple[auth.Session | None, int]:
        session = await auth.session_of(tx, value, c.settings.console, c.clock(), touch=False)
        latest = await tx.fetch("SELECT MAX(id) AS n FROM notices")
        return session, int(latest[0]["n"] or 0)

    try:
        session, latest = await c.store.transaction(start)
    except StorageUnavailable:
        return web.json_response({"status": "failure", "message": "database away", "code": 503}, status=503)
    if session is None:
        return web.json_response({"status": "failure", "message": "log in first", "code": 401}, status=401)
    notice_after = latest if notice_after is None else notice_after
    response = web.StreamResponse(headers={**HEADERS, "Content-Type": "text/event-stream", "X-Accel-Buffering": "no"})
    await response.prepare(request)
    task = asyncio.current_task()
    if task is not None:
        request.app[STREAMS_KEY].add(task)
    loop = asyncio.get_running_loop()
    last_beat = last_check = loop.time()
    await response.write(f"retry: 3000\nid: n{notice_after}-m{message_after}\n\n".encode())
    try:
        while True:
            try:
                read = functools.partial(_news, after=notice_after, handover_id=handover_id,
                                         message_after=message_after, me=int(session.user["id"]))  # fmt: skip
                notices, messages = await c.store.transaction(read, read_only=True)
            except StorageUnavailable:
                notices, messages = [], []
            for notice in notices:
                notice_after = int(notice["id"])
                body = json.loads(notice["body"])
                await response.write(
                    _event("notice", f"n{notice_after}-m{message_after}", {**body, "kind": notice["kind"]})
                )
            for message in messages:
                message_after = int(message["id"])
                await response.write(_event("message", f"n{notice_after}-m{message_after}", message))
            now = loop.time()
            if now - last_beat >= HEARTBEAT_SECONDS:
                await response.write(b": still here\n\n")
                last_beat = now
            if now - last_check >= SESSION_CHECK_SECONDS:
                last_check = now
                alive = await c.store.transaction(
                    lambda tx: auth.session_of(tx, value, c.settings.console, c.clock(), touch=False)
                )
                if alive is None:
                    await response.write(b"event: logged_out\ndata: {}\n\n")
                    break
            await asyncio.sleep(POLL_SECONDS)
    except (ConnectionResetError, asyncio.CancelledError, StorageUnavailable):
        pass
    finally:
        if task is not None:
            request.app[STREAMS_KEY].discard(task)
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        await response.write_eof()
    return response


async def _close_streams(app: web.Application) -> None:
    streams: set[asyncio.Task[Any]] = app[STREAMS_KEY]
    for task in tuple(streams):
        task.cancel()


def add_routes(app: web.Application) -> None:
    app[STREAMS_KEY] = set()
    app.on_shutdown.append(_close_streams)
    app.router.add_get("/ementor/events", events)
