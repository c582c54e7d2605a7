"""What every JSON API of the bot shares: who is asking, one transaction per request, errors as JSON.

A request carries an account's token (`Authorization: Bearer …`) or a console login's session cookie; a
request that changes something on a session must also carry the session's CSRF token in `X-CSRF-Token` (a
page of another site can make the browser send the cookie, but cannot read the token). Without either the
answer is 401, the same whether or not the account exists; an account without the endpoint's role gets 403.
Each request runs in one transaction of its own, the account check included. Every input is checked (bad
JSON, wrong types, huge text → 400) and errors are JSON in the REST channel's shape: {"status": "failure",
"message": …, "code": …}. Times leave as Copenhagen time with their offset.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.api.tokens import TokenGuard
from bot.config import Settings
from bot.consoles import auth
from bot.consoles.web import client_address
from bot.core import edge
from bot.core.clock import COPENHAGEN, Clock
from bot.core.edge import Refused
from bot.core.ports import ConversationStore, StorageUnavailable, Tx
from bot.escalation import accounts
from bot.escalation.accounts import EmentorRow
from bot.flows.model import Flow

MAX_BODY = 16 * 1024
STORE_KEY: web.AppKey[ConversationStore] = web.AppKey("ementor_api_store")
SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("ementor_api_settings", Settings)
CLOCK_KEY: web.AppKey[Clock] = web.AppKey("ementor_api_clock")
FLOWS_KEY: web.AppKey[Mapping[str, Flow]] = web.AppKey("ementor_api_flows")
TOKENS_KEY: web.AppKey[TokenGuard] = web.AppKey("api_token_guard", TokenGuard)


class ApiError(Exception):
    def __init__(self, status: int, message: str, extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = dict(extra or {})


def failure(
    status: int, message: str, extra: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
) -> web.Response:
    body = {"status": "failure", "message": message, "code": status, **(extra or {})}
    text = json.dumps(body, ensure_ascii=False, default=_plain)
    return web.json_response(text=text, status=status, headers=headers)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(COPENHAGEN).isoformat()
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

    @property
    def lang(self) -> str:
        """The language of titles and step texts: Danish, or English with ?lang=en."""
        return "en" if self.request.query.get("lang") == "en" else "da"

    @property
    def flows(self) -> Mapping[str, Flow]:
        return self.request.app[FLOWS_KEY]


Endpoint = Callable[[Call], Awaitable[web.Response]]


def _bearer(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def _read_json(request: web.Request) -> tuple[Any, str | None]:
    """The body as JSON (None when there is none), or why not. Read whole (aiohttp keeps it: the edge guard,
    bot/web/guard.py, has usually read and checked it already), then held to MAX_BODY."""
    if not request.body_exists:
        return None, None
    raw = await request.read()
    if len(raw) > MAX_BODY:
        return None, "The request body is too large."
    try:
        return edge.load_json(raw), None
    except Refused as refused:
        return None, refused.message


def _retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def endpoint(fn: Endpoint, role: str = "ementor") -> Callable[[web.Request], Awaitable[web.Response]]:
    """Authenticate (an admin may do what an eMentor does), read the body, run `fn` in one transaction;
    errors as JSON."""

    async def handle(request: web.Request) -> web.Response:
        token = _bearer(request)
        app = request.app
        guard = app[TOKENS_KEY]
        credential = token or request.cookies.get(auth.COOKIE, "")
        wait = guard.account_wait(credential) if credential else 0.0
        if wait:
            return failure(429, "Too many requests from this account: wait a moment.", headers=_retry_after(wait))
        body, bad_body = await _read_json(request)
        address = client_address(request, app[SETTINGS_KEY])

        async def work(tx: Tx) -> web.Response:
            now = app[CLOCK_KEY]()
            if token:
                paused = await guard.paused_until(tx, address, now)
                if paused is not None:
                    left = (paused - now).total_seconds()
                    return failure(429, "Too many wrong tokens: wait before trying again.", headers=_retry_after(left))
            me = await accounts.authenticate(tx, token) if token else None
            if token and me is None and await guard.wrong(tx, address, now):
                return failure(429, "Too many wrong tokens: wait before trying again.", headers=_retry_after(60))
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
            if role == "admin" and me["role"] != "admin":
                return failure(403, "This is for administrators only.")
            if bad_body:
                return failure(400, bad_body)
            try:
                return await fn(Call(request, tx, me, body, app[SETTINGS_KEY], now))
            except ApiError as exc:
                return failure(exc.status, exc.message, exc.extra)
            except Refused as refused:  # an input the edge's checks refuse (bot/core/edge.py)
                return failure(refused.status, refused.message)

        try:
            return await app[STORE_KEY].transaction(work)
        except StorageUnavailable:
            return failure(503, "The database is not available right now.")

    return handle
