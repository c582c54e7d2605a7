"""The admin API for answer texts: read, check, save and revert a step's text or a phrase, in Danish and English.

Admins only (a session with its CSRF token on changes, or an admin's bearer token); errors as the eMentor
API's. Saving goes through bot/consoles/content.py, as the console's form does: the files' checks (a refusal
is 422 with the checker's lines in "problems"), the audit log, and every process told in the same transaction.

| call | what it does |
|---|---|
| GET /api/admin/content | every step and phrase: its text as saved, the file's text, whether it is edited |
| GET /api/admin/content/{kind}/{key} | one (kind: step or phrase) |
| PUT /api/admin/content/{kind}/{key} `{"da", "en"}` | save it (a text the same as the file's is a revert) |
| DELETE /api/admin/content/{kind}/{key} | back to the file's text |
| POST /api/admin/content/check `{"kind", "key", "da", "en"}` | the checker's verdict, nothing saved |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from bot.api.common import ApiError, Call, answer, endpoint, failure
from bot.consoles import content as content_store
from bot.consoles.admin_content import measures, texts_of
from bot.consoles.web import translate
from bot.core.text import Text
from bot.flows.content import FILE_ONLY, KINDS, Content, problems, shelf

PREFIX = "/api/admin/content"
MAX_TEXT = 4000


def _plain(text: Text | None) -> dict[str, str] | None:
    return {"da": text.da, "en": text.en} if text is not None else None


async def _texts(call: Call) -> tuple[Content, Content, Mapping[tuple[str, str], content_store.OverrideRow]]:
    found = await texts_of(call.tx, call.settings.conversation.flows)
    return found.files, found.saved, found.edits


def _item(
    kind: str, key: str, files: Content, saved: Content, edits: Mapping[tuple[str, str], content_store.OverrideRow]
) -> dict[str, Any]:
    edit = edits.get((kind, key))
    return {
        "kind": kind,
        "key": key,
        "text": _plain(saved.text_of(kind, key)),
        "file": _plain(files.text_of(kind, key)),
        "edited": edit is not None,
        "updated_at": edit["updated_at"] if edit else None,
        "updated_by": edit["updated_by"] if edit else None,
    }


def _target(call: Call, files: Content) -> tuple[str, str]:
    kind, key = call.request.match_info["kind"], call.request.match_info["key"]
    if kind not in KINDS or key in FILE_ONLY or files.text_of(kind, key) is None:
        raise ApiError(404, "No such step or phrase.")
    return kind, key


def _text(call: Call) -> Text:
    da, en = call.field("da", str), call.field("en", str)
    if len(da) > MAX_TEXT or len(en) > MAX_TEXT:
        raise ApiError(400, f"A text is longer than {MAX_TEXT} characters.")
    return content_store.cleaned(da, en)


async def list_all(call: Call) -> web.Response:
    files, saved, edits = await _texts(call)
    steps = [
        _item("step", f"{flow.intent}.{step_id}", files, saved, edits)
        for flow in saved.flows.values()
        for step_id in flow.steps
    ]
    phrases = [_item("phrase", key, files, saved, edits) for key in saved.phrase_keys()]
    return answer({"steps": steps, "phrases": phrases})


async def one(call: Call) -> web.Response:
    files, saved, edits = await _texts(call)
    kind, key = _target(call, files)
    return answer(_item(kind, key, files, saved, edits))


async def put(call: Call) -> web.Response:
    files, _, _ = await _texts(call)
    kind, key = _target(call, files)
    try:
        changed = await content_store.save(call.tx, files, call.now, call.me["id"], kind, key, _text(call))
    except content_store.Refused as refused:
        return failure(422, "The text was not saved: " + "; ".join(refused.problems), {"problems": refused.problems})
    files, saved, edits = await _texts(call)
    return answer({**_item(kind, key, files, saved, edits), "changed": changed})


async def delete(call: Call) -> web.Response:
    files, _, _ = await _texts(call)
    kind, key = _target(call, files)
    reverted = await content_store.revert(call.tx, files, call.now, call.me["id"], kind, key)
    files, saved, edits = await _texts(call)
    return answer({**_item(kind, key, files, saved, edits), "changed": reverted})


async def check(call: Call) -> web.Response:
    """The verdict for a text being typed; `lang` ("da"/"en") words the measures line for the page."""
    files = shelf(call.settings.conversation.flows).base
    kind, key = call.field("kind", str), call.field("key", str)
    text = _text(call)
    found = problems(files, kind, key, text)
    lang = "en" if call.field("lang", str, required=False) == "en" else "da"
    said = translate(lang)("content_measures", **measures(text))
    return answer({"ok": not found, "problems": found, "measures": measures(text), "measures_text": said})


def add_routes(app: web.Application) -> None:
    """The routes under /api/admin/content, admins only."""
    routes = [
        ("GET", "", list_all),
        ("POST", "/check", check),
        ("GET", "/{kind}/{key}", one),
        ("PUT", "/{kind}/{key}", put),
        ("DELETE", "/{kind}/{key}", delete),
    ]
    for method, path, fn in routes:
        app.router.add_route(method, PREFIX + path, endpoint(fn, role="admin"))
