"""The edge of the aiohttp app: one middleware every request passes, security headers on every response,
quiet logs for malformed requests, and the server's timeouts — in one place, so no route can forget them.

Order, outermost first (`setup` installs it before every other middleware):

1. **Address limit** — a token bucket per client address (`limits.address_*`; static files are free):
   429, with the kind `slow_down` text for the REST channel.
2. **Query string** — a NUL, a lone surrogate or another control character in a name or value: 400.
3. **Body** — read in full within `limits.body_timeout_seconds` (else 408 and the connection is closed),
   at most the app's `client_max_size` (413). On the JSON entries (REST, /model/parse, Telegram, the
   eMentor and admin APIs) it must be UTF-8 JSON nested at most 32 deep without NUL characters or lone
   surrogates (`bot/core/edge.py`); a console form must hold neither. socket.io reads its own packets: its
   POSTs only get the timeout.
4. The route; then `add_headers` (aiohttp's `on_response_prepare`) on whatever answers, errors included:
   a Content-Security-Policy without 'unsafe-inline' (per kind of page), framing refused (X-Frame-Options
   and frame-ancestors; the chat page may be framed by its own site), nosniff, no referrer, and HSTS when
   the request came over https (directly or through a proxy's X-Forwarded-Proto).

Every refusal answers in the shape its channel uses for errors: Rasa's error object on /model/parse, the
REST channel's `{"status": "failure", "message", "code"}` on REST and the APIs, plain text elsewhere — and
is logged in one line naming the path and the reason, never the body.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from bot import __version__
from bot.config import Settings
from bot.core import edge
from bot.core.edge import Refused
from bot.core.limits import TokenBuckets
from bot.core.ports import ConversationStore, Tx
from bot.core.senders import KeyLoader
from bot.web.pages import CHAT_POLICY

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")

JSON_PATHS = ("/webhooks/rest/", "/model/parse", "/webhooks/telegram/", "/api/")
# a NUL character may be in the text: the channels' dispatcher cleans control characters out before anything
# is kept (their ids are checked with `edge.check_id`); /model/parse keeps nothing
NUL_OK_PATHS = ("/webhooks/rest/webhook", "/webhooks/telegram/", "/model/parse")
FREE_PATHS = ("/static/", "/console/static/")  # files: not counted per address
SOCKETIO_PATH = "/socket.io/"
CONSOLE_PATHS = ("/login", "/logout", "/ementor", "/admin", "/console")
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")

# One policy per kind of page; none allows inline scripts or styles. A page that sets its own keeps it.
NLU_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
CONSOLE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "media-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
DEFAULT_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000"
LINGER = 1.0  # seconds; aiohttp's default is 10


def policy_for(path: str) -> str:
    """The Content-Security-Policy of a path: the chat page, the NLU try-out, the consoles, or nothing at all
    (JSON, calendar files, static files)."""
    if path == "/":
        return CHAT_POLICY
    if path == "/nlu":
        return NLU_POLICY
    if path.startswith(CONSOLE_PATHS):
        return CONSOLE_POLICY
    return DEFAULT_POLICY


def over_https(request: web.BaseRequest, trust_forwarded: bool) -> bool:
    """Served over https: directly, or (only behind a trusted proxy) as its X-Forwarded-Proto says."""
    if request.secure:
        return True
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return trust_forwarded and forwarded == "https"


def add_headers(request: web.BaseRequest, response: web.StreamResponse, trust_forwarded: bool) -> None:
    """The security headers, set on every response just before it is sent (aiohttp's on_response_prepare)."""
    headers = response.headers
    policy = headers.setdefault("Content-Security-Policy", policy_for(request.path))
    headers["X-Frame-Options"] = "SAMEORIGIN" if "frame-ancestors 'self'" in policy else "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    if over_https(request, trust_forwarded):
        headers["Strict-Transport-Security"] = HSTS


def refusal(request: web.Request, status: int, message: str, slow_down: str = "") -> web.Response:
    """A refusal in the shape the path's channel uses for its errors."""
    path = request.path
    if path.startswith(("/model/parse", "/status", "/version")):
        reason = "TooManyRequests" if status == 429 else "BadRequest"
        body: Any = {"version": __version__, "status": "failure", "message": message, "reason": reason, "code": status}
    elif path == "/webhooks/rest/webhook" and status == 429 and slow_down:
        body = [{"recipient_id": "", "text": slow_down}]  # a Rasa client shows the kind text as the bot's
    elif path.startswith(("/webhooks/rest/", "/api/")):
        body = {"status": "failure", "message": message, "code": status}
    else:
        return web.Response(status=status, text=message)
    return web.json_response(text=json.dumps(body, ensure_ascii=False), status=status)


def client_address(request: web.BaseRequest, trust_forwarded_for: bool) -> str:
    """Who is asking: the peer, or behind a trusted proxy the last X-Forwarded-For entry (the one it set)."""
    if trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        if forwarded:
            return forwarded[:64]
    return request.remote or ""


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class Guard:
    """The middleware's state: the address buckets and the settings it reads."""

    def __init__(self, settings: Settings, slow_down: str) -> None:
        limits = settings.limits
        self.settings = settings
        self.slow_down = slow_down
        self.addresses = TokenBuckets(limits.address_per_minute, limits.address_burst)
        self.body_timeout = limits.body_timeout_seconds

    def counted_address(self, request: web.Request) -> str | None:
        """The address a request counts against, or None: static files, and the machine itself (a local
        proxy would otherwise make every citizen one address) unless the proxy names the real one."""
        if request.path.startswith(FREE_PATHS):
            return None
        trusted = self.settings.console.trust_forwarded_for
        address = client_address(request, trusted)
        if not address or (is_loopback(address) and not trusted):
            return None
        return address

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        address = self.counted_address(request)
        if address is not None:
            wait = self.addresses.take(address)
            if wait:
                log.info("rate limit: an address over limits.address_per_minute (%s %s)", request.method, request.path)
                response = refusal(request, 429, "Too many requests: wait a moment.", self.slow_down)
                response.headers["Retry-After"] = str(max(1, round(wait)))
                return response
        try:
            edge.check_query(request.query)
            if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.body_exists:
                if request.path.startswith(SOCKETIO_PATH):
                    return await self._timed(request, handler(request))
                await self._timed(request, self._check_body(request))
        except Refused as refused:
            log.info("refused %s %s: %s (%d)", request.method, request.path, refused.message, refused.status)
            return refusal(request, refused.status, refused.message)
        except web.HTTPRequestEntityTooLarge:
            log.info("refused %s %s: body too large (413)", request.method, request.path)
            return refusal(request, 413, "The request body is too large.")
        except _BodyTimeout:
            log.info("closed %s %s: body not received within %gs (408)", request.method, request.path,
                     self.body_timeout)  # fmt: skip
            response = refusal(request, 408, "The request took too long to arrive.")
            response.force_close()
            return response
        return await handler(request)

    async def _timed(self, request: web.Request, work: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self.body_timeout):
                return await work
        except TimeoutError:
            raise _BodyTimeout() from None

    async def _check_body(self, request: web.Request) -> None:
        if request.path.startswith(JSON_PATHS):
            edge.load_json(await request.read(), nul_ok=request.path.startswith(NUL_OK_PATHS))
        elif request.content_type in FORMS:
            form = await request.post()
            for name, value in form.items():
                for part in (name, value) if isinstance(value, str) else (name,):
                    problem = edge.text_problem(part)
                    if problem:
                        raise Refused(f"A form field {problem}.")
        else:
            await request.read()


class _BodyTimeout(Exception):
    """The body did not arrive within limits.body_timeout_seconds."""


# ---- logs ---------------------------------------------------------------------------------------------------
class OneLine(logging.Filter):
    """A malformed request (aiohttp's parser refused it) or a broken socket.io packet is logged in one line
    with the kind of problem: no traceback and none of the bytes sent, which may hold a CPR number or a
    password. Other errors keep their traceback."""

    def __init__(self, kinds: tuple[type[BaseException], ...], text: str) -> None:
        super().__init__()
        self.kinds = kinds
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, self.kinds):
            status = getattr(exc, "code", None)
            record.msg = "%s: %s" + (f" ({status})" if isinstance(status, int) and status else "")
            record.args = (self.text, type(exc).__name__)
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_MALFORMED = OneLine((HttpProcessingError,), "malformed HTTP request refused")
_BROKEN_PACKET = OneLine(
    (ValueError, LookupError, TypeError, AttributeError, RecursionError), "socket.io: broken packet dropped"
)


def quiet_logs() -> None:
    """Install the one-line filters (once; safe to call again)."""
    for name, one_line in (
        ("aiohttp.server", _MALFORMED),
        ("socketio.server", _BROKEN_PACKET),
        ("engineio.server", _BROKEN_PACKET),
    ):
        logger = logging.getLogger(name)
        if one_line not in logger.filters:
            logger.addFilter(one_line)


def server_options(settings: Settings) -> dict[str, Any]:
    """What `web.run_app` (and a test's server) is given: an idle connection, or one that sent half a request
    head, is closed after `limits.keepalive_seconds` (aiohttp's default is an hour); the unread rest of a
    refused body (a 408, a 413) is drained for at most `LINGER` seconds before the connection closes. On
    SIGTERM, turns in flight get at most `database.turn_deadline_seconds` to finish (every database call is
    bounded by it); aiohttp's own default of 60 s also held connections accepted just before the signal, whose
    requests it never begins, so a stop took a minute."""
    return {
        "keepalive_timeout": settings.limits.keepalive_seconds,
        "lingering_time": LINGER,
        "shutdown_timeout": settings.database.turn_deadline_seconds,
    }


# ---- the sender-signing key ---------------------------------------------------------------------------------
SENDER_KEY = "sender"


def sender_key_loader(settings: Settings, store: ConversationStore) -> KeyLoader:
    """The key that signs sender ids: EMENTOR_SENDER_SECRET when set; else one made at first start and kept in
    the database (`server_keys`), so every bot process on that database signs and checks alike. Read once per
    process, when first needed."""

    async def load() -> bytes:
        if settings.sender_secret:
            return hashlib.sha256(b"ementor sender ids\x00" + settings.sender_secret.encode("utf-8")).digest()

        async def kept(tx: Tx) -> str:
            await tx.execute(
                "INSERT INTO server_keys (name, value, created_at) VALUES (:name, :value, :now) ON CONFLICT DO NOTHING",
                name=SENDER_KEY,
                value=secrets.token_urlsafe(48),
                now=datetime.now(UTC),
            )
            rows = await tx.fetch("SELECT value FROM server_keys WHERE name = :name", name=SENDER_KEY)
            return str(rows[0]["value"])

        value = await store.transaction(kept)
        log.info("EMENTOR_SENDER_SECRET is not set: sender ids are signed with the key kept in the database")
        return value.encode("ascii")

    return load


# ---- wiring -------------------------------------------------------------------------------------------------
GUARD_KEY: web.AppKey[Guard] = web.AppKey("edge_guard", Guard)


def setup(app: web.Application, settings: Settings, slow_down: str) -> Guard:
    """Put the guard in front of every other middleware and the headers on every response."""
    guard = Guard(settings, slow_down)
    app[GUARD_KEY] = guard
    app.middlewares.insert(0, guard.middleware)

    async def headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
        add_headers(request, response, settings.console.trust_forwarded_for)

    app.on_response_prepare.append(headers)
    quiet_logs()
    return guard
