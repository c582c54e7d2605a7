"""What every HTTP request gets: a request id, one log line for a failure, and never a 500 for a database
that is away.

The id is the caller's `X-Request-ID` when it looks like one (a proxy's, so its log and ours meet), else a
new one; it is set for everything the request runs (bot/core/logs.py: every log line carries it) and sent
back in the response's `X-Request-ID`. A database that stays away past its bounds answers 503 with the
apology (the channels answer it themselves, in their own shape); any other unexpected error is logged once,
with its traceback in that one record, counted, and answered 500 without details. At DEBUG each request
is one line: method, the route's pattern (not the path: it may hold an id), status, time.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bot.core import metrics
from bot.core.logs import REQUEST_ID
from bot.core.ports import StorageUnavailable

HEADER = "X-Request-ID"
SANE = re.compile(r"[A-Za-z0-9._:/+=-]{8,128}")

log = logging.getLogger(__name__)


def request_id_of(incoming: str | None) -> str:
    """The caller's id when it is a plain token of sane length, else a new random one."""
    return incoming if incoming and SANE.fullmatch(incoming) else uuid.uuid4().hex


def route_of(request: web.Request) -> str:
    """The route's pattern (/calendar/{key}.ics), never the path itself: paths and queries may hold ids."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(no route)"


def middleware(apology: str) -> Middleware:
    @web.middleware
    async def requests(request: web.Request, handler: Handler) -> web.StreamResponse:
        rid = request_id_of(request.headers.get(HEADER))
        token = REQUEST_ID.set(rid)
        started = time.perf_counter()
        try:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                exc.headers[HEADER] = rid
                raise
            except StorageUnavailable:
                response = web.Response(status=503, text=apology, headers={"Retry-After": "5"})
            except Exception:
                metrics.ERRORS.labels("http").inc()
                log.exception("%s %s failed", request.method, request.path)
                raise web.HTTPInternalServerError(headers={HEADER: rid}) from None
            if not response.prepared:
                response.headers[HEADER] = rid
            took = (time.perf_counter() - started) * 1000
            log.debug("%s %s %d in %.0f ms", request.method, route_of(request), response.status, took)
            return response
        finally:
            REQUEST_ID.reset(token)

    return requests


def setup(app: web.Application, apology: str) -> None:
    """First of the app's middlewares, so every answer (a refusal too) carries the id."""
    app.middlewares.insert(0, middleware(apology))
