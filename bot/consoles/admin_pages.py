"""The admin console under /admin/: admins only (an eMentor's session gets 403 on every page here).

The accounts (made and changed with `ementor user`); the overview and statistics are admin_stats.py's.
"""

from __future__ import annotations

from aiohttp import web

from bot.consoles.web import Page, console
from bot.escalation import accounts


async def accounts_page(page: Page) -> web.Response:
    return page.render("admin_accounts.html", admin_part="accounts", accounts=await accounts.list_ementors(page.tx))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/accounts", console(accounts_page, role="admin"))
