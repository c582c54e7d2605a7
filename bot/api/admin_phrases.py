"""The admin API for training phrases and the "not understood" inbox (what the console's pages do, for scripts).

Admins only (a session with its CSRF token on changes, or an admin's bearer token); errors as the eMentor
API's. The rules are bot/nlu/phrases.py's and bot/nlu/inbox.py's, the same the pages use; conflicts are
checked against the model serving at the moment of the request.

| call | what it does |
|---|---|
| GET  /api/admin/phrases?intent=&language=&q=&offset=&limit= | phrases, in export order, and the total |
| POST /api/admin/phrases | {"intent", "language", "text", "move"?, "confirm"?} → 201 the phrase; 409: conflicts |
| DELETE /api/admin/phrases/{id} | delete it → the phrase as it was |
| GET  /api/admin/inbox | open messages in groups of similar ones, newest first, with the model's guesses |
| POST /api/admin/inbox/{id}/resolve | {"action": "add"\\|"out_of_scope"\\|"dismiss", "intent"?, "group"?, "confirm"?} |
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.api.common import ApiError, Call, answer, endpoint
from bot.consoles import admin_phrases as pages
from bot.core.privacy import redacted
from bot.nlu import inbox, phrases
from bot.nlu.phrases import PhraseConflict, PhraseError, PhraseRow, Served

PREFIX = "/api/admin"
STATUS = {"not_found": 404, "exists": 409}


def phrase_json(row: PhraseRow) -> dict[str, Any]:
    keys = ("id", "intent", "language", "text", "source", "file", "created_by", "created_at", "updated_at")
    return {key: row[key] for key in keys}  # type: ignore[literal-required]


def _refused(exc: PhraseError) -> ApiError:
    return ApiError(STATUS.get(exc.code, 400), str(exc), {"reason": exc.code})


async def _seeded(call: Call) -> None:
    await phrases.ensure_seeded(call.tx, [call.settings.nlu.data], call.now)


def _checker(call: Call) -> phrases.Checker:
    return pages.checker(call.request.app, call.settings.nlu.fallback.threshold)


def _query_int(call: Call, name: str, default: int) -> int:
    raw = call.request.query.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or len(raw) > 9:
        raise ApiError(400, f'"{name}" must be a whole number.')
    return int(raw)


async def list_phrases(call: Call) -> web.Response:
    await _seeded(call)
    query = call.request.query
    language = query.get("language") or None
    if language is not None and language not in phrases.LANGUAGES:
        raise ApiError(400, '"language" must be "da" or "en".')
    limit = _query_int(call, "limit", phrases.PAGE_SIZE)
    if not 1 <= limit <= 500:
        raise ApiError(400, '"limit" must be between 1 and 500.')
    rows, total = await phrases.search(
        call.tx,
        query.get("intent") or None,
        language,
        (query.get("q") or "")[:100] or None,
        _query_int(call, "offset", 0),
        limit,
    )
    return answer({"total": total, "phrases": [phrase_json(r) for r in rows]})


async def add_phrase(call: Call) -> web.Response:
    await _seeded(call)
    intent, language, text = call.field("intent", str), call.field("language", str), call.field("text", str)
    move, confirm = call.field("move", bool, required=False), call.field("confirm", bool, required=False)
    try:
        row = await phrases.add(
            call.tx,
            call.now,
            call.me["id"],
            intent,
            language,
            text,
            _checker(call),
            move=bool(move),
            confirm=bool(confirm),
        )
    except PhraseError as exc:
        raise _refused(exc) from None
    except PhraseConflict as exc:
        hint = (
            "Send again with"
            + (' "move": true' if exc.needs_move else "")
            + (' "confirm": true' if any(c.kind == "model" for c in exc.conflicts) else "")
        )
        raise ApiError(
            409,
            f"The phrase conflicts with the training data or the model. {hint}.",
            {"conflicts": [c.to_dict() for c in exc.conflicts]},
        ) from None
    return answer(phrase_json(row), status=201)


async def delete_phrase(call: Call) -> web.Response:
    try:
        row = await phrases.delete(call.tx, call.now, call.me["id"], call.number("id"))
    except PhraseError as exc:
        raise _refused(exc) from None
    return answer(phrase_json(row))


def _item_json(item: inbox.InboxItem) -> dict[str, Any]:
    return {
        "id": item["id"],
        "created_at": item["created_at"],
        "channel": item["channel"],
        "language": item["language"],
        "text": redacted(item["text"]),
        "reason": item["reason"],
        "guesses": item["guesses"],
    }


async def list_inbox(call: Call) -> web.Response:
    model = pages.served(call.request.app).model
    found = await inbox.groups(call.tx, model, call.settings.nlu.inbox.group_similarity)
    groups = [
        {
            "count": g.count,
            "newest": g.newest,
            "guesses": g.guesses,
            "reasons": g.reasons,
            "items": [_item_json(i) for i in g.items],
        }
        for g in found
    ]
    return answer({"open": sum(g.count for g in found), "groups": groups})


async def resolve(call: Call) -> web.Response:
    item_id = call.number("id")
    action = call.field("action", str)
    intent = call.field("intent", str, required=False)
    group = bool(call.field("group", bool, required=False))
    confirm = bool(call.field("confirm", bool, required=False))
    await _seeded(call)  # else a message added to a still empty working copy is all a training would learn from
    ids = [item_id]
    if group:
        model = pages.served(call.request.app).model
        ids = await inbox.group_of(call.tx, item_id, model, call.settings.nlu.inbox.group_similarity) or ids
    try:
        done = await inbox.resolve(
            call.tx, call.now, call.me["id"], ids, action, _checker(call), intent=intent, confirm=confirm
        )
    except inbox.InboxError as exc:
        raise ApiError(404 if exc.code == "not_found" else 400, str(exc), {"reason": exc.code}) from None
    except inbox.InboxConflict as exc:
        raise ApiError(
            409, 'Some messages conflict with the intent. Send again with "confirm": true.', exc.to_dict()
        ) from None
    return answer(done.to_dict())


def add_routes(app: web.Application, now_serving: Served) -> None:
    """The routes under /api/admin/ for phrases and the inbox; `now_serving` (the runtime) is read per request."""
    app[pages.SERVED_KEY] = now_serving
    app.router.add_get(f"{PREFIX}/phrases", endpoint(list_phrases, role="admin"))
    app.router.add_post(f"{PREFIX}/phrases", endpoint(add_phrase, role="admin"))
    app.router.add_delete(PREFIX + r"/phrases/{id:\d+}", endpoint(delete_phrase, role="admin"))
    app.router.add_get(f"{PREFIX}/inbox", endpoint(list_inbox, role="admin"))
    app.router.add_post(PREFIX + r"/inbox/{id:\d+}/resolve", endpoint(resolve, role="admin"))
