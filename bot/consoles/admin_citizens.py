"""/admin/citizens: one citizen's data on request — found by booking reference or sender id, what is kept
counted per table, exported (the JSON download of /api/admin/citizens) or deleted after a ticked confirmation.
The rules are bot/privacy/erasure.py's; each act is in the audit log, without the sender id."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.booking import audit
from bot.consoles.web import Page, console
from bot.privacy import erasure


def _asked(page: Page) -> tuple[str, str, str]:
    source = page.form if page.form is not None else page.request.query
    return tuple(str(source.get(k, "")).strip() for k in ("reference", "sender", "channel"))  # type: ignore[return-value]


def _render(page: Page, status: int = 200, **context: Any) -> web.Response:
    empty = {"reference": "", "sender": "", "channel": "", "erased": None, "problem_text": "", "counts": None}
    return page.render("admin_citizens.html", status, admin_part="citizens", **(empty | {"export_link": ""} | context))


async def citizens_page(page: Page) -> web.Response:
    reference, sender, channel = _asked(page)
    context: dict[str, Any] = {"reference": reference, "sender": sender, "channel": channel}
    if reference or sender:
        try:
            found_channel, found_sender, how = await erasure.find_citizen(page.tx, reference, sender, channel)
        except erasure.NotFound as exc:
            context["problem_text"] = page.t("citizens_not_found") if exc.status == 404 else str(exc)
        else:
            data = await erasure.export(page.tx, found_channel, found_sender)
            context["counts"] = {table: len(rows) for table, rows in data.items()}
            query = {"reference": reference} if how == "reference" else {"sender": sender, "channel": found_channel}
            context["export_link"] = "/api/admin/citizens?" + urlencode(query)
    return _render(page, **context)


async def delete_citizen(page: Page) -> web.Response:
    reference, sender, channel = _asked(page)
    assert page.form is not None
    if page.form.get("confirm") != "yes":
        asked = {"reference": reference, "sender": sender, "channel": channel}
        return _render(page, 400, problem_text=page.t("citizens_confirm_first"), **asked)
    try:
        found_channel, found_sender, how = await erasure.find_citizen(page.tx, reference, sender, channel)
    except erasure.NotFound:
        return _render(page, 404, problem_text=page.t("citizens_not_found"))
    done = await erasure.erase(page.tx, page.settings, found_channel, found_sender, page.now)
    await audit.record(page.tx, page.now, int(page.me["id"]), "citizen_erase", "citizen", {"by": how, **done})
    return _render(page, erased=done)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/citizens", console(citizens_page, role="admin"))
    app.router.add_post("/admin/citizens/delete", console(delete_citizen, role="admin"))
