"""The admin console's answer texts (/admin/content): the flows' steps and the bot's phrases, edited in Danish
and English beside a phone-sized preview of what the citizen sees, judged by the files' own checker before
anything is saved.

Why server-rendered with a little script: the page works with forms alone ("Tjek teksten" shows the verdict
and the preview, "Gem" saves); admin_content.js only keeps the preview and the verdict current while the
admin types (the verdict through POST /api/admin/content/check, the same function). Saving goes through
bot/consoles/content.py, as the JSON API does: checked, recorded, announced to every process.

| page | what it shows |
|---|---|
| GET /admin/content?q= | the topics by title, the phrase groups; a search through every text |
| GET /admin/content/flows/{intent} | the topic's steps in order: text, buttons, links, where each leads |
| GET /admin/content/phrases/{group} | the phrases of a group (buttons, texts, booking, handover) |
| GET, POST /admin/content/{kind}/{key} | the edit form (kind: step or phrase); POST `action=check` or `save` |
| POST /admin/content/{kind}/{key}/revert | back to the file's text |
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlparse

from aiohttp import web

from bot.consoles import content as content_store
from bot.consoles.web import Page, console, error_page, redirect
from bot.core.messages import Outbound
from bot.core.ports import Tx
from bot.core.text import Text, fold
from bot.escalation import accounts
from bot.flows.check import placeholders
from bot.flows.content import FILE_ONLY, KINDS, Content, Kind, Override, apply, is_button, problems, shelf
from bot.flows.engine import Engine
from bot.flows.model import Flow, Step
from bot.flows.readability import flesch, lix, words

GROUPS = ("buttons", "texts", "booking", "handover")  # the phrase groups, as the pages list them
MAX_QUERY = 100
MAX_RESULTS = 200
MAX_FIELD = 4000  # a textarea; the checker says "at most 1000 characters" in its own words


@dataclass(frozen=True)
class Texts:
    """What the pages work from: the files' texts, and the texts as saved (the files with every edit in the
    database — what every process serves within seconds)."""

    files: Content
    saved: Content
    edits: Mapping[tuple[str, str], content_store.OverrideRow]


async def texts_of(tx: Tx, folder: str) -> Texts:
    """The files' texts (as this process parsed them) and the texts as saved in the database."""
    files = shelf(folder).base
    rows = await content_store.rows(tx)
    edits = {(r["kind"], r["key"]): r for r in rows}
    saved = apply(files, [Override(cast(Kind, r["kind"]), r["key"], Text(r["da"], r["en"])) for r in rows])
    return Texts(files, saved, edits)


def group_of(key: str) -> str:
    """ "texts.buttons.worked" → "buttons"; "booking.ask_name" → "booking"."""
    file, _, rest = key.partition(".")
    return rest.partition(".")[0] if file == "texts" else file


def steps_in_order(flow: Flow) -> list[Step]:
    """The first step, then the others in the order a citizen meets them (breadth first), then any left."""
    seen: list[str] = []
    todo = [flow.start]
    while todo:
        current = todo.pop(0)
        if current in seen or current not in flow.steps:
            continue
        seen.append(current)
        todo += [t for t in flow.steps[current].targets() if t in flow.steps]
    return [flow.steps[s] for s in seen] + [s for s in flow.steps.values() if s.id not in seen]


def _host(url: str) -> str:
    return urlparse(url).hostname or url


def message_view(message: Outbound) -> dict[str, Any]:
    """A message as the web chat draws it: the text, link cards (title and site), the buttons' titles."""
    return {
        "text": message.text,
        "links": [{"title": link.title, "url": link.url, "host": _host(link.url)} for link in message.links],
        "buttons": [b.title for b in message.buttons],
    }


def previews(texts: Texts, kind: str, key: str, text: Text) -> dict[str, dict[str, Any]]:
    """Per language, what the citizen sees with `text` in place: a step with its buttons and links, a
    button phrase as a button, another phrase as a message."""
    out: dict[str, dict[str, Any]] = {}
    for language in ("da", "en"):
        value = getattr(text, language)
        if kind == "step":
            intent, _, step_id = key.partition(".")
            flow = texts.saved.flows[intent]
            step = dataclasses.replace(flow.steps[step_id], text=text)
            engine = Engine(texts.saved.flows, texts.saved.ui)
            out[language] = message_view(engine.render_step(flow, step, language))
        elif is_button(key):
            out[language] = {"text": "", "links": [], "buttons": [value]}
        else:
            out[language] = {"text": value, "links": [], "buttons": []}
    return out


def measures(text: Text) -> dict[str, str]:
    return {
        "da_words": str(len(words(text.da))),
        "en_words": str(len(words(text.en))),
        "lix": f"{lix(text.da):.0f}",
        "flesch": f"{flesch(text.en):.0f}",
    }


# ---- the overview and the lists --------------------------------------------------------------------------------
async def home(page: Page) -> web.Response:
    texts = await texts_of(page.tx, page.settings.conversation.flows)
    lang = page.lang
    edited: dict[str, int] = {}
    for kind, key in texts.edits:
        bucket = key.partition(".")[0] if kind == "step" else "group:" + group_of(key)
        edited[bucket] = edited.get(bucket, 0) + 1
    flows = sorted(texts.saved.flows.values(), key=lambda f: fold(f.title.get(lang)))
    topics = [{"intent": f.intent, "title": f.title.get(lang), "steps": len(f.steps), "edited": edited.get(f.intent, 0)}
              for f in flows]  # fmt: skip
    keys = texts.saved.phrase_keys()
    groups = [{"name": g, "count": sum(1 for k in keys if group_of(k) == g), "edited": edited.get("group:" + g, 0)}
              for g in GROUPS]  # fmt: skip
    query = page.request.query.get("q", "").strip()[:MAX_QUERY]
    results = search(texts, query, lang) if query else []
    return page.render(
        "admin_content.html", admin_part="content", topics=topics, groups=groups, query=query, results=results
    )


def search(texts: Texts, query: str, lang: str) -> list[dict[str, Any]]:
    """Every step and phrase whose text (in either language, as saved) or topic title holds `query`, folded
    (case, æøå and accents aside)."""
    wanted = fold(query)
    found: list[dict[str, Any]] = []
    for flow in sorted(texts.saved.flows.values(), key=lambda f: fold(f.title.get(lang))):
        for step in steps_in_order(flow):
            haystack = fold(" ".join((step.text.da, step.text.en, flow.title.da, flow.title.en, flow.intent)))
            if wanted in haystack:
                key = f"{flow.intent}.{step.id}"
                found.append({"kind": "step", "key": key, "where": flow.title.get(lang), "text": step.text.get(lang)})
    for key in texts.saved.phrase_keys():
        text = texts.saved.text_of("phrase", key)
        if text is not None and wanted in fold(f"{text.da} {text.en} {key}"):
            found.append({"kind": "phrase", "key": key, "where": group_of(key), "text": text.get(lang)})
    return found[:MAX_RESULTS]


async def flow_page(page: Page) -> web.Response:
    texts = await texts_of(page.tx, page.settings.conversation.flows)
    flow = texts.saved.flows.get(page.request.match_info["intent"])
    if flow is None:
        return error_page(page.request, 404, "not_found_title", "not_found")
    engine = Engine(texts.saved.flows, texts.saved.ui)
    titles = {s.id: s.text.get(page.lang) for s in flow.steps.values()}
    steps = []
    for step in steps_in_order(flow):
        key = f"{flow.intent}.{step.id}"
        shown = {language: message_view(engine.render_step(flow, step, language)) for language in ("da", "en")}
        leads = [
            page.t(f"content_end_{t}") if t not in flow.steps else f"{t}: {_short(titles[t])}" for t in step.targets()
        ]
        steps.append({"id": step.id, "key": key, "text": step.text, "shown": shown, "leads": leads,
                      "start": step.id == flow.start, "edit": texts.edits.get(("step", key))})  # fmt: skip
    return page.render(
        "admin_content_flow.html", admin_part="content", flow=flow, title=flow.title.get(page.lang), steps=steps
    )


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def group_page(page: Page) -> web.Response:
    group = page.request.match_info["group"]
    if group not in GROUPS:
        return error_page(page.request, 404, "not_found_title", "not_found")
    texts = await texts_of(page.tx, page.settings.conversation.flows)
    rows = []
    for key in texts.saved.phrase_keys():
        if group_of(key) != group:
            continue
        text = texts.saved.text_of("phrase", key)
        rows.append({"key": key, "text": text, "edit": texts.edits.get(("phrase", key))})
    return page.render("admin_content_group.html", admin_part="content", group=group, rows=rows)


# ---- one text --------------------------------------------------------------------------------------------------
def _target(page: Page, texts: Texts) -> tuple[str, str, Text] | None:
    """(kind, key, the file's text) of the text this page is about, or None (404)."""
    kind, key = page.request.match_info["kind"], page.request.match_info["key"]
    if kind not in KINDS or key in FILE_ONLY:
        return None
    file = texts.files.text_of(kind, key)
    return (kind, key, file) if file is not None else None


async def edit_page(page: Page) -> web.Response:
    texts = await texts_of(page.tx, page.settings.conversation.flows)
    target = _target(page, texts)
    if target is None:
        return error_page(page.request, 404, "not_found_title", "not_found")
    kind, key, file = target
    saved = texts.saved.text_of(kind, key) or file
    notice = ""
    for flag, said in (("saved", "content_saved"), ("unchanged", "content_unchanged"),
                       ("reverted", "content_reverted"), ("kept", "content_nothing_to_revert")):  # fmt: skip
        if page.request.query.get(flag):
            notice = page.t(said)
    if page.form is None:
        return await _form(page, texts, kind, key, file, saved, problems(texts.files, kind, key, saved), notice)
    text = content_store.cleaned(_posted(page, "da"), _posted(page, "en"))
    if page.field("action") != "save":
        return await _form(page, texts, kind, key, file, text, problems(texts.files, kind, key, text), "")
    try:
        changed = await content_store.save(page.tx, texts.files, page.now, page.me["id"], kind, key, text)
    except content_store.Refused as refused:
        return await _form(page, texts, kind, key, file, text, refused.problems, "", status=422)
    return _after(kind, key, "saved" if changed else "unchanged")


def _after(kind: str, key: str, flag: str) -> web.Response:
    """Back to the form (303: a reload does not send it again), with a line saying what happened."""
    return redirect(f"/admin/content/{kind}/{key}?{flag}=1")


def _posted(page: Page, name: str) -> str:
    value = page.form.get(name, "") if page.form is not None else ""
    return value[:MAX_FIELD] if isinstance(value, str) else ""


async def revert_page(page: Page) -> web.Response:
    texts = await texts_of(page.tx, page.settings.conversation.flows)
    target = _target(page, texts)
    if target is None:
        return error_page(page.request, 404, "not_found_title", "not_found")
    kind, key, _ = target
    reverted = await content_store.revert(page.tx, texts.files, page.now, page.me["id"], kind, key)
    return _after(kind, key, "reverted" if reverted else "kept")


async def _form(
    page: Page, texts: Texts, kind: str, key: str, file: Text, text: Text, found: list[str], notice: str,
    status: int = 200,
) -> web.Response:  # fmt: skip
    edit = texts.edits.get((kind, key))
    by = None
    if edit is not None and edit["updated_by"] is not None:
        account = await accounts.by_id(page.tx, int(edit["updated_by"]))
        by = account["name"] if account is not None else None
    names = (placeholders(file.da) or frozenset()) if kind == "phrase" else frozenset()
    if kind == "step":
        intent = key.partition(".")[0]
        back, back_name = f"/admin/content/flows/{intent}", texts.saved.flows[intent].title.get(page.lang)
    else:
        back, back_name = f"/admin/content/phrases/{group_of(key)}", page.t(f"content_group_{group_of(key)}")
    return page.render(
        "admin_content_edit.html",
        status=status,
        admin_part="content",
        kind=kind,
        key=key,
        text=text,
        file=file,
        edit=edit,
        edited_by=by or page.t("content_someone"),
        problems=found,
        measures=measures(text),
        previews=previews(texts, kind, key, text),
        placeholders=", ".join("{" + n + "}" for n in sorted(names)),
        button=kind == "phrase" and is_button(key),
        back=back,
        back_name=back_name,
        done=notice,
    )


def add_routes(app: web.Application) -> None:
    """The answer-text pages, admins only."""
    app.router.add_get("/admin/content", console(home, role="admin"))
    app.router.add_get("/admin/content/flows/{intent}", console(flow_page, role="admin"))
    app.router.add_get("/admin/content/phrases/{group}", console(group_page, role="admin"))
    app.router.add_get("/admin/content/{kind}/{key}", console(edit_page, role="admin"))
    app.router.add_post("/admin/content/{kind}/{key}", console(edit_page, role="admin"))
    app.router.add_post("/admin/content/{kind}/{key}/revert", console(revert_page, role="admin"))
