"""One citizen's data on request (GDPR access and erasure), for admins: export as a JSON download, or delete.

| call | what it does |
|---|---|
| GET    /api/admin/citizens?reference=K7M3XA | everything kept about the citizen who made that booking (a download) |
| GET    /api/admin/citizens?sender=ID&channel=rest | the same, by sender id (channel: when the id is on two) |
| DELETE /api/admin/citizens?… | delete it all (bot/privacy/erasure.py: future times cancelled, eMentors told) |

Admins only (session with CSRF on DELETE, or an admin's token). Each export and deletion is a line in the audit
log — which says how the citizen was found and what was deleted, never the sender id itself, so the log does
not keep what the erasure removed.
"""

from __future__ import annotations

from aiohttp import web

from bot.api.common import ApiError, Call, answer, endpoint
from bot.booking import audit
from bot.privacy import erasure

PATH = "/api/admin/citizens"


async def _who(call: Call) -> tuple[str, str, str]:
    q = call.request.query
    try:
        return await erasure.find_citizen(
            call.tx, q.get("reference", "").strip(), q.get("sender", "").strip(), q.get("channel", "").strip()
        )
    except erasure.NotFound as exc:
        raise ApiError(exc.status, str(exc)) from None


async def export(call: Call) -> web.Response:
    channel, sender, how = await _who(call)
    data = await erasure.export(call.tx, channel, sender)
    counts = {table: len(rows) for table, rows in data.items()}
    await audit.record(call.tx, call.now, int(call.me["id"]), "citizen_export", "citizen", {"by": how, **counts})
    response = answer({"channel": channel, "sender": sender, "exported_at": call.now, "data": data})
    response.headers["Content-Disposition"] = 'attachment; filename="citizen-data.json"'
    return response


async def delete(call: Call) -> web.Response:
    channel, sender, how = await _who(call)
    done = await erasure.erase(call.tx, call.settings, channel, sender, call.now)
    await audit.record(call.tx, call.now, int(call.me["id"]), "citizen_erase", "citizen", {"by": how, **done})
    return answer({"deleted": done})


def add_routes(app: web.Application) -> None:
    app.router.add_get(PATH, endpoint(export, role="admin"))
    app.router.add_delete(PATH, endpoint(delete, role="admin"))
