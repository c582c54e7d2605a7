"""`GET /calendar/{key}.ics`: a booking's calendar file, for the web chat's download link.

The key is the booking's random `calendar_key` (not its short reference), so nobody can fetch another
citizen's time by guessing; an unknown key is a plain 404.
"""

from __future__ import annotations

import re

from aiohttp import web

from bot.booking import bookings
from bot.booking.bookings import BookingRow
from bot.booking.texts import calendar_file
from bot.config import Settings
from bot.core.clock import Clock
from bot.core.ports import ConversationStore, StorageUnavailable, Tx
from bot.core.statuses import LIVE_BOOKING

_KEY = re.compile(r"^[A-Za-z0-9_-]{8,40}$")


def add_routes(app: web.Application, store: ConversationStore, settings: Settings, clock: Clock) -> None:
    async def calendar(request: web.Request) -> web.Response:
        key = request.match_info["key"]
        if not _KEY.match(key):
            raise web.HTTPNotFound()

        async def find(tx: Tx) -> BookingRow | None:
            return await bookings.by_calendar_key(tx, key)

        try:
            row = await store.transaction(find)
        except StorageUnavailable:
            return web.Response(status=503, text="Prøv igen om et øjeblik. / Please try again in a moment.")
        if row is None or row["status"] not in LIVE_BOOKING:
            raise web.HTTPNotFound()
        file = calendar_file(settings, row, row["language"], clock())
        return web.Response(
            body=(file.content or "").encode("utf-8"),
            content_type="text/calendar",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{file.name}"'},
        )

    app.router.add_get("/calendar/{key}.ics", calendar)
