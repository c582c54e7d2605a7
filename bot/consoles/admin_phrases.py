"""The admin console's training phrases and "not understood" inbox (admins only; an eMentor gets 403).

- GET  /admin/phrases                    every topic with its phrases per language; search
- GET  /admin/phrases/{intent}           its phrases (language, search, pages); add, edit, delete; import
- POST /admin/phrases/add                add (intent, language, text; `move`/`confirm` after a warning)
- POST /admin/phrases/{id}/edit          change a phrase's text (same checks)
- POST /admin/phrases/{id}/delete        delete it
- POST /admin/phrases/import             Rasa NLU YAML pasted or uploaded → a report
- GET  /admin/inbox                      open messages in groups of similar ones, with the model's guesses
- POST /admin/inbox/resolve              one message or a group: add to a topic / out of scope / dismiss

The rules live in bot/nlu/phrases.py and bot/nlu/inbox.py (the JSON API, bot/api/admin_phrases.py, uses the
same functions, so the audit log reads the same whichever way an admin acted). A conflict never saves
anything: the page comes back (409) saying what stands against the phrase, with a button to save anyway.
The model the checks and the inbox's grouping use is the one serving at that moment (`Served`).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy

from bot.consoles.web import Page, console, error_page, redirect
from bot.core.ports import Tx
from bot.core.privacy import redacted
from bot.nlu import inbox, phrases
from bot.nlu.catalogue import catalogue
from bot.nlu.phrases import Checker, Conflict, PhraseConflict, PhraseError, Served

SERVED_KEY: web.AppKey[Served] = web.AppKey("admin_phrases_served")
MAX_IMPORT_BYTES = 200 * 1024
DONE = frozenset(
    {"phrases_done_added", "phrases_done_edited", "phrases_done_deleted", "inbox_done_added",
     "inbox_done_out_of_scope", "inbox_done_dismissed"}
)  # fmt: skip


# ---- what the pages and the API share -----------------------------------------------------------------------
def served(app: web.Application) -> Served:
    return app[SERVED_KEY]


def checker(app: web.Application, threshold: float) -> Checker:
    """Conflicts checked against the model answering right now (the fallback threshold: what it would say)."""
    return phrases.checker_of(served(app), threshold)


async def working_copy(tx: Tx, data: str, now: datetime) -> None:
    """The working copy exists before it is shown or changed (seeded from nlu_data/ the first time)."""
    await phrases.ensure_seeded(tx, [data], now)


def conflict_lines(conflicts: list[Conflict], t: Any, lang: str) -> list[str]:
    lines = []
    for c in conflicts:
        if c.kind == "other_intent":
            lines.append(t("phrases_conflict_other_intent", intent=c.intent))
        else:
            sure = f"{round(100 * (c.confidence or 0))} %"
            lines.append(t("phrases_conflict_model", intent=c.intent, confidence=sure))
    return lines


def _flag(form: MultiDictProxy[Any] | None, name: str) -> bool:
    return form is not None and str(form.get(name, "")) in ("1", "on", "true")


def _done(page: Page) -> str:
    key = page.request.query.get("ok", "")
    count = page.request.query.get("n", "")
    return page.t(key, n=count if count.isdigit() else "") if key in DONE else ""


def _back(path: str, key: str, n: int | None = None) -> web.Response:
    """After a change, back to the page (303: a reload does not send the form again) with a line saying so."""
    query = {"ok": key, **({"n": str(n)} if n is not None else {})}
    return redirect(f"{path}?{urlencode(query)}")


# ---- training phrases ---------------------------------------------------------------------------------------
async def phrases_page(page: Page) -> web.Response:
    await working_copy(page.tx, page.settings.nlu.data, page.now)
    q = page.field("q", 100)
    counts = await phrases.intent_counts(page.tx, q)
    return page.render(
        "admin_phrases.html", admin_part="phrases", counts=counts, q=q, done=_done(page), import_report=None
    )


async def intent_page(page: Page) -> web.Response:
    await working_copy(page.tx, page.settings.nlu.data, page.now)
    return await _intent_view(page, page.request.match_info["intent"])


async def _intent_view(
    page: Page,
    intent: str,
    status: int = 200,
    problem: str = "",
    conflict: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
) -> web.Response:
    existing = {c.intent for c in await phrases.intent_counts(page.tx)}
    if intent not in phrases.known_intents(existing):
        return error_page(page.request, 404, "not_found_title", "not_found")
    query = page.request.query
    language = query.get("language", "") if query.get("language", "") in phrases.LANGUAGES else ""
    q = query.get("q", "").strip()[:100]
    number = int(query["p"]) if query.get("p", "").isdigit() and 0 < len(query["p"]) < 6 else 1
    rows, total = await phrases.search(
        page.tx, intent, language or None, q or None, (max(number, 1) - 1) * phrases.PAGE_SIZE, phrases.PAGE_SIZE
    )
    pages = max(1, math.ceil(total / phrases.PAGE_SIZE))
    return page.render(
        "admin_phrases_intent.html",
        status=status,
        admin_part="phrases",
        intent=intent,
        about=catalogue().get(intent, ""),
        rows=rows,
        total=total,
        language=language,
        q=q,
        number=min(number, pages),
        pages=pages,
        problem=problem,
        conflict=conflict,
        form=form or {"text": "", "language": language or "da"},
        done=_done(page),
    )


def _problem(page: Page, exc: PhraseError) -> str:
    if exc.code == "bad_yaml":
        return page.t("phrases_error_bad_yaml", why=str(exc))
    return page.t(f"phrases_error_{exc.code}")


async def add_phrase(page: Page) -> web.Response:
    await working_copy(page.tx, page.settings.nlu.data, page.now)
    intent, language, text = page.field("intent", 64), page.field("language", 8), page.field("text", 1000)
    form = {"text": text, "language": language}
    check = checker(page.request.app, page.settings.nlu.fallback.threshold)
    try:
        await phrases.add(
            page.tx,
            page.now,
            page.me["id"],
            intent,
            language,
            text,
            check,
            move=_flag(page.form, "move"),
            confirm=_flag(page.form, "confirm"),
        )
    except PhraseError as exc:
        if exc.code == "intent":
            return error_page(page.request, 404, "not_found_title", "not_found")
        return await _intent_view(page, intent, 400, _problem(page, exc), form=form)
    except PhraseConflict as exc:
        conflict = {
            "lines": conflict_lines(exc.conflicts, page.t, page.lang),
            "action": "/admin/phrases/add",
            "fields": {"intent": intent, "language": language, "text": text},
        }
        return await _intent_view(page, intent, 409, conflict=conflict, form=form)
    return _back(f"/admin/phrases/{intent}", "phrases_done_added")


async def edit_phrase(page: Page) -> web.Response:
    phrase_id = _number(page)
    before = await phrases.get(page.tx, phrase_id) if phrase_id is not None else None
    if before is None or phrase_id is None:
        return error_page(page.request, 404, "not_found_title", "not_found")
    text = page.field("text", 1000)
    language = page.field("language", 8) or before["language"]
    check = checker(page.request.app, page.settings.nlu.fallback.threshold)
    try:
        await phrases.edit(
            page.tx,
            page.now,
            page.me["id"],
            phrase_id,
            text,
            check,
            language=language,
            move=_flag(page.form, "move"),
            confirm=_flag(page.form, "confirm"),
        )
    except PhraseError as exc:
        return await _intent_view(page, before["intent"], 400, _problem(page, exc))
    except PhraseConflict as exc:
        conflict = {
            "lines": conflict_lines(exc.conflicts, page.t, page.lang),
            "action": f"/admin/phrases/{phrase_id}/edit",
            "fields": {"text": text, "language": language},
        }
        return await _intent_view(page, before["intent"], 409, conflict=conflict)
    return _back(f"/admin/phrases/{before['intent']}", "phrases_done_edited")


async def delete_phrase(page: Page) -> web.Response:
    phrase_id = _number(page)
    try:
        if phrase_id is None:
            raise PhraseError("not_found", "no such phrase")
        before = await phrases.delete(page.tx, page.now, page.me["id"], phrase_id)
    except PhraseError:
        return error_page(page.request, 404, "not_found_title", "not_found")
    return _back(f"/admin/phrases/{before['intent']}", "phrases_done_deleted")


def _number(page: Page) -> int | None:
    raw = page.request.match_info.get("id", "")
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


async def import_phrases(page: Page) -> web.Response:
    await working_copy(page.tx, page.settings.nlu.data, page.now)
    text = ""
    upload = page.form.get("file") if page.form is not None else None
    if isinstance(upload, web.FileField):
        raw = upload.file.read(MAX_IMPORT_BYTES + 1)
        text = raw.decode("utf-8", errors="replace") if len(raw) <= MAX_IMPORT_BYTES else ""
    if not text.strip() and page.form is not None:
        pasted = page.form.get("yaml", "")
        text = pasted[:MAX_IMPORT_BYTES] if isinstance(pasted, str) else ""
    language = page.field("language", 8)
    counts = await phrases.intent_counts(page.tx)
    if not text.strip():
        return page.render(
            "admin_phrases.html",
            status=400,
            admin_part="phrases",
            counts=counts,
            q="",
            problem=page.t("phrases_import_nothing"),
            done="",
            import_report=None,
        )
    check = checker(page.request.app, page.settings.nlu.fallback.threshold)
    try:
        report = await phrases.import_yaml(
            page.tx,
            page.now,
            page.me["id"],
            text,
            check,
            source_name="console",
            language=language if language in phrases.LANGUAGES else None,
            confirm=_flag(page.form, "confirm"),
        )
    except PhraseError as exc:
        return page.render(
            "admin_phrases.html",
            status=400,
            admin_part="phrases",
            counts=counts,
            q="",
            problem=_problem(page, exc),
            done="",
            import_report=None,
        )
    for item in report.conflicts:
        item["lines"] = conflict_lines([Conflict(**c) for c in item["conflicts"]], page.t, page.lang)
    return page.render(
        "admin_phrases.html",
        admin_part="phrases",
        counts=await phrases.intent_counts(page.tx),
        q="",
        done="",
        import_report=report,
    )


# ---- the inbox ------------------------------------------------------------------------------------------------
async def inbox_page(page: Page) -> web.Response:
    return await _inbox_view(page)


async def _inbox_view(
    page: Page, status: int = 200, problem: str = "", conflict: dict[str, Any] | None = None
) -> web.Response:
    model = served(page.request.app).model
    found = await inbox.groups(page.tx, model, page.settings.nlu.inbox.group_similarity)
    groups = [
        {
            "ids": g.ids,
            "count": g.count,
            "newest": g.newest,
            "guesses": g.guesses,
            "best": g.guesses[0]["intent"] if g.guesses else "",
            "reasons": g.reasons,
            # shown scrubbed again: whatever reached the table, no number or code reaches the screen
            "messages": [{**item, "text": redacted(item["text"])} for item in g.items],
        }
        for g in found
    ]
    intents = sorted(phrases.known_intents())
    return page.render(
        "admin_inbox.html",
        status=status,
        admin_part="inbox",
        groups=groups,
        intents=intents,
        total=sum(g["count"] for g in groups),
        problem=problem,
        conflict=conflict,
        done=_done(page),
    )


def _ids(form: MultiDictProxy[Any] | None) -> list[int]:
    if form is None:
        return []
    raw = [str(v) for v in form.getall("id", [])][:500]
    return [int(v) for v in raw if v.isdigit() and len(v) < 19]


async def resolve(page: Page) -> web.Response:
    # seeded first: a message added to a still empty working copy would otherwise be all a training learns from
    await working_copy(page.tx, page.settings.nlu.data, page.now)
    ids = _ids(page.form)
    action = page.field("action", 20)
    intent = page.field("intent", 64) or None
    check = checker(page.request.app, page.settings.nlu.fallback.threshold)
    try:
        done = await inbox.resolve(
            page.tx, page.now, page.me["id"], ids, action, check, intent=intent, confirm=_flag(page.form, "confirm")
        )
    except inbox.InboxError as exc:
        return await _inbox_view(page, 400, page.t(f"inbox_error_{exc.code}"))
    except inbox.InboxConflict as exc:
        texts = {item["id"]: redacted(item["text"]) for item in await inbox.open_items(page.tx)}
        rows = [
            {"text": texts.get(item_id, ""), "lines": conflict_lines(found, page.t, page.lang)}
            for item_id, found in exc.found.items()
        ]
        conflict = {"intent": exc.intent, "ids": ids, "rows": rows}
        return await _inbox_view(page, 409, conflict=conflict)
    key = {"add": "inbox_done_added", "out_of_scope": "inbox_done_out_of_scope", "dismiss": "inbox_done_dismissed"}
    return _back("/admin/inbox", key[action], len(done.handled))


def add_routes(app: web.Application, now_serving: Served) -> None:
    """The pages; `now_serving` is read at each request (the runtime: its model changes with a swap)."""
    app[SERVED_KEY] = now_serving
    admin = {"role": "admin"}
    app.router.add_get("/admin/phrases", console(phrases_page, **admin))
    app.router.add_post("/admin/phrases/add", console(add_phrase, **admin))
    app.router.add_post("/admin/phrases/import", console(import_phrases, **admin))
    app.router.add_post(r"/admin/phrases/{id:\d+}/edit", console(edit_phrase, **admin))
    app.router.add_post(r"/admin/phrases/{id:\d+}/delete", console(delete_phrase, **admin))
    app.router.add_get("/admin/phrases/{intent}", console(intent_page, **admin))
    app.router.add_get("/admin/inbox", console(inbox_page, **admin))
    app.router.add_post("/admin/inbox/resolve", console(resolve, **admin))
