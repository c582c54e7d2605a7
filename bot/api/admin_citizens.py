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
from bot.core.ports import Tx
from bot.privacy import erasure

PATH = "/api/admin/citizens"
MAX_ID = 128


async def _channels_of(tx: Tx, sender: str) -> list[str]:
    rows = await tx.fetch(
        "SELECT channel FROM conversations WHERE sender = :s UNION SELECT channel FROM turns WHERE sender = :s"
        " UNION SELECT channel FROM bookings WHERE sender = :s UNION SELECT channel FROM handovers WHERE sender = :s",
        s=sender,
    )
    return sorted(str(r["channel"]) for r in rows)


async def find_citizen(tx: Tx, reference: str, sender: str, channel: str) -> tuple[str, str, str]:
    """(channel, sender, how found) from a booking reference or a sender id; ApiError 400/404 otherwise."""
    if len(reference) > MAX_ID or len(sender) > MAX_ID or len(channel) > 32:
        raise ApiError(400, "The reference, sender or channel is too long.")
    if reference:
        found = await erasure.citizen_of_reference(tx, reference)
        if found is None:
            raise ApiError(404, "No booking with that reference.")
        return found[0], found[1], "reference"
    if not sender:
        raise ApiError(400, 'Give "reference" (a booking reference) or "sender" (a sender id).')
    channels = await _channels_of(tx, sender)
    if channel:
        channels = [c for c in channels if c == channel]
    if not channels:
        raise ApiError(404, "Nothing is kept about that sender.")
    if len(channels) > 1:
        raise ApiError(400, f'That sender id is on {", ".join(channels)}: give "channel".')
    return channels[0], sender, "sender"


async def _who(call: Call) -> tuple[str, str, str]:
    q = call.request.query
    return await find_citizen(
        call.tx, q.get("reference", "").strip(), q.get("sender", "").strip(), q.get("channel", "").strip()
    )


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
