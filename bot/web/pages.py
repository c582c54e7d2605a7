"""The web pages: the citizens' chat at `/` (static HTML, CSS and JS talking to the REST channel) and the
NLU try-out at `/nlu`.

No build step and no CDN: the files in this folder are served as they are. The chat page gets a strict
Content-Security-Policy, so even a bug that put bot text into HTML could not run a script.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from aiohttp import web

CHAT_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
PAGE_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def _page(name: str, policy: str | None = None) -> web.Response:
    text = resources.files("bot.web").joinpath(name).read_text("utf-8")
    headers = dict(PAGE_HEADERS)
    if policy:
        headers["Content-Security-Policy"] = policy
    return web.Response(text=text, content_type="text/html", charset="utf-8", headers=headers)


async def chat(request: web.Request) -> web.Response:
    return _page("index.html", CHAT_POLICY)


async def nlu_tryout(request: web.Request) -> web.Response:
    return _page("nlu.html")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", chat)
    app.router.add_get("/nlu", nlu_tryout)
    app.router.add_static("/static/", Path(str(resources.files("bot.web").joinpath("static"))))
