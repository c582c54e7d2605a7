"""The consoles' web layer: pages rendered on the server (Jinja2), logins, roles and CSRF, in one place.

Every console page is a function of a `Page` (the request, one transaction, the session, the time, the
language), wrapped by `console(fn, role)`, which is the only way a page is reached:

- no live session → the login page (a page) or 401 (the event stream);
- a page for admins and an eMentor's session → 403;
- a POST without the session's CSRF token (a form's hidden `csrf`, or `X-CSRF-Token`) → 403, nothing done;
- the database away → 503 with a page that says so; never a stack trace.

Pages answer with a strict Content-Security-Policy (scripts and styles only from this site, no inline code)
and are never cached. The language is Danish unless the eMentor picked English (a cookie).
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import web
from multidict import MultiDictProxy

from bot.config import Settings
from bot.consoles import auth
from bot.consoles.texts import LANGUAGES, console_words
from bot.core import words
from bot.core.clock import COPENHAGEN, Clock
from bot.core.ports import ConversationStore, StorageUnavailable, Tx
from bot.escalation.accounts import first_name
from bot.flows.model import Flow

log = logging.getLogger(__name__)
LANG_COOKIE = "console_lang"
LOGIN_CSRF_COOKIE = "console_login_csrf"
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "media-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
MAX_FORM = 64 * 1024
REMOVED = re.compile(r"\[removed: (\w+)\]")
PROBLEMS = ("too_early", "too_late", "unknown_booking", "message_empty", "not_yours")  # refusals shown after a redirect


@dataclass
class Console:
    """What every console page needs, kept on the app."""

    store: ConversationStore
    settings: Settings
    clock: Clock
    flows: Mapping[str, Flow]
    secret: str = field(default_factory=lambda: secrets.token_hex(32))


CONSOLE_KEY: web.AppKey[Console] = web.AppKey("console", Console)


def language(request: web.Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, "da")
    return chosen if chosen in LANGUAGES else "da"


def translate(lang: str) -> Callable[..., str]:
    """The console's words in `lang`; with n=1, the key's singular form `<key>_one` when there is one
    ("1 tid", not "1 tider")."""
    phrases = console_words()

    def t(key: str, **values: object) -> str:
        if values.get("n") in (1, "1") and f"{key}_one" in phrases.phrases:
            key = f"{key}_one"
        return phrases.get(key, lang, **values)

    return t


def safe_next(raw: str | None, default: str = "/ementor/") -> str:
    """A path on this site to go back to: never another site ("//evil.example", "/\t/evil.example" — browsers
    drop tabs and newlines —, "https://…", "/\\evil"), never a control character."""
    if not raw or len(raw) > 500 or not raw.startswith("/") or "\\" in raw:
        return default
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in raw) or raw.startswith("//"):
        return default
    return raw


def client_address(request: web.Request, settings: Settings) -> str:
    """Who is asking, for login throttling: the peer, or behind a trusted proxy the address it reports."""
    if settings.console.trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        if forwarded:
            return forwarded[:64]
    return request.remote or ""


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, **HEADERS})


def secure_cookie(request: web.Request, settings: Settings) -> bool:
    mode = settings.console.secure_cookies
    if mode != "auto":
        return mode == "always"
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def may_read(row: Mapping[str, Any], ementor_id: int) -> bool:
    """Who may read a hand-over's chat: anyone while it waits (to decide whether to take it) and after it
    ended (history, a colleague following up); while it is active, only the eMentor who has it."""
    return bool(row["status"] != "active" or row["ementor_id"] == ementor_id)


def local(moment: datetime) -> datetime:
    return moment.astimezone(COPENHAGEN)


def _filters(env: jinja2.Environment) -> None:
    env.filters["hhmm"] = lambda m, lang="da": words.clock(m, lang) if m else ""
    env.filters["when"] = lambda m, lang="da": words.when(m, lang) if m else ""
    env.filters["isodate"] = lambda m: local(m).date().isoformat() if m else ""
    env.filters["first_name"] = first_name


@dataclass(frozen=True)
class Page:
    request: web.Request
    tx: Tx
    session: auth.Session
    console: Console
    now: datetime
    lang: str
    form: MultiDictProxy[Any] | None

    @property
    def me(self) -> Any:
        return self.session.user

    @property
    def settings(self) -> Settings:
        return self.console.settings

    def t(self, key: str, **values: object) -> str:
        return translate(self.lang)(key, **values)

    def channel_name(self, channel: str) -> str:
        """ "rest" → "web (REST)": a channel as an eMentor knows it."""
        key = f"channel_{channel}"
        return self.t(key) if key in console_words().phrases else channel

    def as_kept(self, text: str) -> str:
        """A citizen's words as the turn log keeps them, with its markers ("[removed: cpr]") in words."""
        return REMOVED.sub(lambda m: self.t(f"removed_{m.group(1)}") if f"removed_{m.group(1)}" in
                           console_words().phrases else m.group(0), text)  # fmt: skip

    def field(self, name: str, limit: int = 200) -> str:
        value = self.form.get(name, "") if self.form is not None else self.request.query.get(name, "")
        return str(value).strip()[:limit] if isinstance(value, str) else ""

    def render(self, template: str, status: int = 200, **context: Any) -> web.Response:
        done, refused = self.request.query.get("done", ""), self.request.query.get("problem", "")
        count = self.request.query.get("n", "")
        n = count if count.isdigit() else ""
        known = console_words().phrases
        context.setdefault("done", self.t(done, n=n) if done in known and done.startswith("done_") else "")
        context.setdefault("problem", self.t(refused, n=n) if refused in known and refused in PROBLEMS else "")
        response = aiohttp_jinja2.render_template(
            template,
            self.request,
            {
                "channel_name": self.channel_name,
                "as_kept": self.as_kept,
                "t": translate(self.lang),
                "lang": self.lang,
                "me": self.me,
                "is_admin": self.session.is_admin,
                "csrf": self.session.csrf,
                "now": self.now,
                "path": self.request.path_qs,
                "online_until": self.me["online_until"]
                if self.me["online_until"] and self.me["online_until"] > self.now
                else None,
                **context,
            },
            status=status,
        )
        response.headers.update(HEADERS)
        return response

    def back(self, path: str, done: str | None = None, problem: str | None = None) -> web.Response:
        """After a change (or a refusal), back to a page with 303 — so a reload does not send the form again —
        and a short line: `done` in green, `problem` in red."""
        fragment = ""
        if "#" in path:
            path, fragment = path.split("#", 1)
            fragment = "#" + fragment
        extra = {k: v for k, v in (("done", done), ("problem", problem)) if v}
        if extra:
            path += ("&" if "?" in path else "?") + urlencode(extra)
        return redirect(path + fragment)


PageFn = Callable[[Page], Awaitable[web.Response]]


def plain_page(request: web.Request, template: str, status: int, **context: Any) -> web.Response:
    """A page outside a session: the login, an error."""
    lang = language(request)
    response = aiohttp_jinja2.render_template(
        template,
        request,
        {"t": translate(lang), "lang": lang, "me": None, "is_admin": False, "csrf": "", "path": request.path_qs,
         "done": "", "problem": "", **context},
        status=status,
    )  # fmt: skip
    response.headers.update(HEADERS)
    return response


def error_page(request: web.Request, status: int, title: str, text: str) -> web.Response:
    t = translate(language(request))
    return plain_page(request, "error.html", status, title=t(title), text=t(text))


def console(fn: PageFn, role: str = "ementor") -> Callable[[web.Request], Awaitable[web.Response]]:
    """`fn` behind a live session of `role` (an admin may do what an eMentor does), in one transaction."""

    async def handle(request: web.Request) -> web.Response:
        c = request.app[CONSOLE_KEY]
        form = await request.post() if request.method == "POST" else None
        value = request.cookies.get(auth.COOKIE, "")

        async def work(tx: Tx) -> web.Response:
            now = c.clock()
            session = await auth.session_of(tx, value, c.settings.console, now)
            if session is None:
                if request.method == "GET":
                    return redirect("/login?" + urlencode({"next": request.path_qs}))
                return redirect("/login?expired=1")
            if role == "admin" and not session.is_admin:
                return error_page(request, 403, "forbidden_title", "forbidden")
            if form is not None:
                given = form.get(auth.CSRF_FIELD) or request.headers.get(auth.CSRF_HEADER)
                if not auth.csrf_ok(session, given if isinstance(given, str) else None):
                    return error_page(request, 403, "stale_title", "stale")
            return await fn(Page(request, tx, session, c, now, language(request), form))

        try:
            return await c.store.transaction(work)
        except StorageUnavailable:
            return error_page(request, 503, "db_away_title", "db_away")

    return handle


# ---- logging in and out -------------------------------------------------------------------------------------
async def login_form(request: web.Request) -> web.Response:
    c = request.app[CONSOLE_KEY]
    value = request.cookies.get(auth.COOKIE, "")
    if value:
        try:
            live = await c.store.transaction(lambda tx: auth.session_of(tx, value, c.settings.console, c.clock()))
        except StorageUnavailable:
            return error_page(request, 503, "db_away_title", "db_away")
        if live is not None:
            return redirect(safe_next(request.query.get("next")))
    return _login_page(request, "", 200)


def _login_page(request: web.Request, problem: str, status: int) -> web.Response:
    t = translate(language(request))
    token = secrets.token_urlsafe(24)
    notice = ""
    if request.query.get("expired"):
        notice = t("login_expired")
    elif request.query.get("out"):
        notice = t("logged_out")
    response = plain_page(
        request,
        "login.html",
        status,
        login_csrf=token,
        next=safe_next(request.query.get("next")),
        problem=problem,
        notice=notice,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=secure_cookie(request, request.app[CONSOLE_KEY].settings),
        path="/login",
    )
    return response


async def login(request: web.Request) -> web.Response:
    c = request.app[CONSOLE_KEY]
    t = translate(language(request))
    form = await request.post()
    given = form.get("login_csrf")
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not isinstance(given, str) or not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return error_page(request, 403, "stale_title", "stale")
    username, password = str(form.get("username", ""))[:100], str(form.get("password", ""))[:1000]
    address = client_address(request, c.settings)
    try:
        value, paused = await auth.login(c.store, username, password, address, c.secret, c.settings.console, c.clock())
    except StorageUnavailable:
        return error_page(request, 503, "db_away_title", "db_away")
    if value is None:
        if paused is not None:
            problem = t("login_paused", time=words.clock(paused, language(request)))
            return _login_page(request, problem, 429)
        return _login_page(request, t("login_wrong"), 401)
    response = redirect(safe_next(str(form.get("next", "")) or None))
    response.set_cookie(
        auth.COOKIE,
        value,
        httponly=True,
        samesite="Strict",
        secure=secure_cookie(request, c.settings),
        path="/",
    )
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


async def _logout(page: Page) -> web.Response:
    await auth.close_session(page.tx, page.request.cookies.get(auth.COOKIE, ""))
    response = redirect("/login?out=1")
    response.del_cookie(auth.COOKIE, path="/")
    return response


async def choose_language(request: web.Request) -> web.Response:
    chosen = request.match_info["lang"]
    response = redirect(safe_next(request.query.get("next")))
    if chosen in LANGUAGES:
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", path="/")
    return response


CONSOLE_PATHS = ("/ementor", "/admin", "/login", "/logout", "/console")


@web.middleware
async def console_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A console address that does not exist, or is used the wrong way (GET /logout), answers with the
    console's own page, not the server's bare one."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        if request.path.startswith(CONSOLE_PATHS):
            return error_page(request, 404, "not_found_title", "not_found")
        raise
    except web.HTTPMethodNotAllowed:
        if request.path == "/logout":
            return redirect("/ementor/")  # logging out is a button (a form), not a link
        if request.path.startswith(CONSOLE_PATHS):
            return error_page(request, 405, "not_found_title", "not_found")
        raise


def setup(app: web.Application, store: ConversationStore, settings: Settings, clock: Clock,
          flows: Mapping[str, Flow]) -> Console:  # fmt: skip
    """The templates, the login routes and the console's static files; the pages add their own routes."""
    secret = settings.console_secret
    if not secret:
        log.info("EMENTOR_CONSOLE_SECRET is not set: login throttling by address counts per bot process")
    c = Console(store, settings, clock, flows, **({"secret": secret} if secret else {}))
    app[CONSOLE_KEY] = c
    app.middlewares.append(console_errors)
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("bot.consoles", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    _filters(env)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", console(_logout))
    app.router.add_get("/console/lang/{lang}", choose_language)
    app.router.add_static(
        "/console/static/", Path(str(resources.files("bot.consoles").joinpath("static"))), append_version=True
    )
    return c
