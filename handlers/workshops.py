"""Workshops (group sessions) and where/when eMentors help: listed from config.yml, seats held by the database.

A workshop date is a resource with `places` seats, reserved by the same unique index as a slot, so it can
never be overfull; a sign-up gets reminders and its calendar file like a booking, and is left (cancelled)
from "Mine tider" or the workshop_leave button.
"""

from __future__ import annotations

from bot.booking import availability, bookings
from bot.booking.follow_up import after_booking
from bot.booking.places import WEEKDAYS, parse_hours
from bot.booking.texts import confirmation, phrases
from bot.config import WeekHours
from bot.core import words
from bot.core.messages import Button, Link, Outbound
from bot.core.payloads import format_payload
from bot.core.statuses import BookingStatus
from bot.core.text import language_of
from bot.core.turn import DialogueState, Result, Understanding
from bot.flows.topic import topic_of
from handlers.common import button, flow_of
from handlers.context import Context, Handler
from handlers.my_bookings import cancel_confirm

MAX_LISTED = 3  # the next three dates: a phone screen, not a catalogue


async def _listing(ctx: Context, state: DialogueState, intro: str = "") -> Result:
    p, lang = phrases(ctx.settings), ctx.language(state)
    found = [s for s in await availability.workshop_sessions(ctx.tx, ctx.settings.booking, ctx.now) if s.places > 0]
    head = (intro + "\n\n") if intro else ""
    if not found:
        return Result(
            state,
            [Outbound(head + p.get("workshops_none", lang), (button(p, "b_book", lang, "book_ementor"),))],
            "workshops_none",
        )
    lines, buttons = [], []
    for item in found[:MAX_LISTED]:
        w, start = item.session.workshop, item.session.start
        location = ctx.location(w.location)
        place = location.name.get(lang) if location is not None else w.location
        lines.append(
            p.get(
                "workshop_line", lang, title=w.title.get(lang), when=words.when(start, lang, ctx.now), place=place,
                speaks=p.get("english" if w.language == "en" else "danish", lang), free=item.places,
                description=w.description.get(lang),
            ).strip()
        )  # fmt: skip
        payload = format_payload("workshop_join", id=w.id, start=availability.local_text(start))
        buttons.append(
            Button(p.get("b_join", lang, title=w.title.get(lang), when=words.short(start, lang, ctx.now)), payload)
        )
    text = head + p.get("workshops_list", lang) + "\n\n" + "\n\n".join(lines)
    return Result(state, [Outbound(text, tuple(buttons))], "workshops")


async def workshops(ctx: Context, state: DialogueState, u: Understanding) -> Result | None:
    if not ctx.settings.booking.workshops:
        return None
    return await _listing(ctx, state.but(task=None))


async def workshop_join(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    p, lang = phrases(ctx.settings), ctx.language(state)
    why, workshop, session = await availability.check_session(
        ctx.tx, ctx.settings.booking, u.entities.get("id", ""), u.entities.get("start", ""), ctx.now
    )
    if why != "ok" or workshop is None or session is None:
        return await _listing(ctx, state, p.get("workshop_full" if why == "full" else "workshop_bad", lang))
    resource = bookings.resource_of("workshop", workshop.id, session.start)
    if await bookings.has_place(ctx.tx, resource, ctx.channel, ctx.sender, ctx.now):
        return Result(
            state, [Outbound(p.get("already", lang), (button(p, "b_my", lang, "my_bookings"),))], "booking_already"
        )
    topic = topic_of(state)
    request = bookings.Request(
        "workshop", resource, workshop.places, workshop.location, session.start, session.end, ctx.channel,
        ctx.sender, lang, workshop=workshop.id, topic=topic.flow, tried=list(topic.steps),
    )  # fmt: skip
    row = await bookings.reserve(ctx.tx, request, BookingStatus.BOOKED, ctx.now)
    if row is None:
        return await _listing(ctx, state, p.get("workshop_full", lang))
    await after_booking(ctx.tx, ctx.settings, row, ctx.now, flow=flow_of(ctx, row["topic"]))
    return Result(state, confirmation(ctx.settings, row, lang, ctx.now, "joined"), "workshop_joined")


async def workshop_leave(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    return await cancel_confirm(ctx, state, u)


def hours_in_words(hours: WeekHours, lang: str) -> str:
    """ "mandag 9.00-12.00; tirsdag 9.00-12.00, 13.00-15.00" from a WeekHours."""
    parts = []
    for index, name in enumerate(WEEKDAYS):
        spans = parse_hours(getattr(hours, name), name)
        if spans:
            text = ", ".join(f"{words.clock(a, lang)}-{words.clock(b, lang)}" for a, b in spans)
            parts.append(f"{words.DAYS[language_of(lang)][index]} {text}")
    return "; ".join(parts)


async def location_hours(ctx: Context, state: DialogueState, u: Understanding) -> Result | None:
    """Where and when, from config.yml; without configured places the guided flow answers."""
    locations = ctx.settings.booking.locations
    if not locations:
        return None
    p, lang = phrases(ctx.settings), ctx.language(state)
    lines, links = [p.get("hours_intro", lang)], []
    for loc in sorted(locations, key=lambda loc: loc.kind == "phone"):
        place = loc.name.get(lang) + (f", {loc.address}" if loc.address else "")
        lines.append(
            p.get("hours_line", lang, place=place, hours=hours_in_words(loc.hours, "en" if lang == "en" else "da"))
        )
        if loc.map_url:
            links.append(Link(f"{p.get('map', lang)}: {loc.name.get(lang)}", loc.map_url))
    lines.append(p.get("closed_holidays", lang))
    return Result(
        state,
        [Outbound("\n\n".join(lines), (button(p, "b_book", lang, "book_ementor"),), tuple(links))],
        "location_hours",
    )


ACTIONS: dict[str, Handler[Result | None]] = {
    "workshops": workshops,
    "workshop_join": workshop_join,
    "workshop_leave": workshop_leave,
    "location_hours": location_hours,
}
