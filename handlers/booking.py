"""Booking a time with an eMentor: place → free times → confirm → (first name, phone) → confirmation.

Every step's button payload carries what it needs (location, start), and every payload is checked again
before anything is written: a past, unknown, full or forged time is refused kindly and nothing changes.
The place is reserved at "Ja, book tiden" as `held` (so nobody takes it while the citizen types name and
phone) and becomes `booked` at the end; the database's unique index decides who gets the last place.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.booking import availability, bookings, words
from bot.booking.follow_up import after_booking
from bot.booking.texts import confirmation, phrases
from bot.config import LocationSettings
from bot.core.actions import Action, Context
from bot.core.messages import Button, Outbound
from bot.core.payloads import format_payload, parse_payload
from bot.escalation.topic import topic_of
from bot.flows.engine import DialogueState, Result, Understanding
from bot.flows.phrases import Phrases

SKIP_WORDS = frozenset({"spring over", "skip", "nej", "nej tak", "no", "ingen", "none", "-"})
_NAME = re.compile(r"[^\W\d_]+(?:[ '-][^\W\d_]+){0,2}")
_NAME_INTRO = re.compile(r"^(jeg hedder|mit navn er|my name is|i am|i'm|det er)\s+", re.IGNORECASE)


def button(p: Phrases, key: str, lang: str, intent: str, **entities: str) -> Button:
    return Button(p.get(key, lang), format_payload(intent, **entities))


def topic_title(ctx: Context, flow: str | None) -> str | None:
    """The topic as the eMentors read it (the flow's Danish title), for their group."""
    found = ctx.engine.flows.get(flow or "")
    return found.title.get("da") if found is not None else None


def phone_number(text: str) -> str | None:
    """A Danish number: 8 digits (not starting 0 or 1), spaces or dashes allowed, optional +45 / 0045."""
    digits = re.sub(r"[\s.\-()]", "", text)
    digits = re.sub(r"^(\+45|0045)", "", digits)
    return digits if re.fullmatch(r"[2-9]\d{7}", digits) else None


def first_name(text: str) -> str | None:
    name = _NAME_INTRO.sub("", text.strip()).strip(" .!")
    return name[:1].upper() + name[1:] if len(name) <= 40 and _NAME.fullmatch(name) else None


def _places_message(ctx: Context, lang: str, text: str) -> Outbound:
    p = phrases(ctx.settings)
    locations = sorted(ctx.settings.booking.locations, key=lambda loc: loc.kind == "phone")  # call-back last
    buttons = tuple(Button(loc.name.get(lang), format_payload("book_place", location=loc.id)) for loc in locations)
    return Outbound(text or p.get("choose_place", lang), buttons)


async def book_ementor(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    """The start of booking: which place (or a call-back). Without configured places: the guided flow."""
    if not ctx.settings.booking.locations:
        return ctx.engine.start(state, "book_ementor")
    state.task = None
    return Result(state, [_places_message(ctx, ctx.language(state), "")], "booking_place")


async def times(
    ctx: Context,
    state: DialogueState,
    location: LocationSettings,
    *,
    after: datetime | None = None,
    intro: str = "choose_time",
    before: tuple[Outbound, ...] = (),
) -> Result:
    """The next free times of `location` as buttons, with "Senere tider" and a way back."""
    p, lang = phrases(ctx.settings), ctx.language(state)
    per_page = ctx.settings.booking.slots_per_page
    free = await availability.free_slots(ctx.tx, ctx.settings.booking, location, ctx.now, after, per_page + 1)
    page = free[:per_page]
    moving = bool(state.task and state.task.get("kind") == "move")
    back = button(p, "b_keep", lang, "my_bookings") if moving else button(p, "b_other_place", lang, "book_ementor")
    if not page:
        key = "no_later" if after else "no_times"
        text = p.get(key, lang, days=ctx.settings.booking.days_ahead)
        return Result(state, [*before, Outbound(text, (back,))], "booking_no_times")
    buttons = [
        Button(
            words.short(f.slot.start, lang, ctx.now),
            format_payload("book_slot", location=location.id, start=availability.local_text(f.slot.start)),
        )
        for f in page
    ]
    if len(free) > len(page):
        last = availability.local_text(page[-1].slot.start)
        buttons.append(button(p, "b_later", lang, "book_later", location=location.id, after=last))
    buttons.append(back)
    text = p.get(intro, lang, place=location.name.get(lang))
    return Result(state, [*before, Outbound(text, tuple(buttons))], "booking_times")


async def _refused(ctx: Context, state: DialogueState, why: str, location: LocationSettings | None) -> Result:
    """A time that cannot be booked: say so kindly and show what can be; nothing was written."""
    p, lang = phrases(ctx.settings), ctx.language(state)
    key = "taken" if why == "full" else "bad_time"
    if location is None:
        return Result(state, [_places_message(ctx, lang, p.get("bad_time", lang))], "booking_refused")
    result = await times(ctx, state, location, before=(Outbound(p.get(key, lang)),))
    if why == "full" and result.outcome == "booking_no_times":
        return Result(state, [Outbound(p.get("taken_none", lang), result.messages[-1].buttons)], "booking_taken")
    return Result(result.state, result.messages, "booking_taken" if why == "full" else "booking_refused")


async def book_place(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    location = next((loc for loc in ctx.settings.booking.locations if loc.id == u.entities.get("location")), None)
    if location is None:
        return await _refused(ctx, state, "unknown", None)
    intro = "choose_new_time" if state.task and state.task.get("kind") == "move" else "choose_time"
    return await times(ctx, state, location, intro=intro)


async def book_later(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    location = next((loc for loc in ctx.settings.booking.locations if loc.id == u.entities.get("location")), None)
    after = availability.parse_local(u.entities.get("after", ""))
    if location is None or after is None:
        return await _refused(ctx, state, "unknown", location)
    return await times(ctx, state, location, after=after)


async def book_slot(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    p, lang = phrases(ctx.settings), ctx.language(state)
    start = u.entities.get("start", "")
    why, location, free = await availability.check_slot(
        ctx.tx, ctx.settings.booking, u.entities.get("location", ""), start, ctx.now
    )
    if why != "ok" or location is None or free is None:
        return await _refused(ctx, state, why, location)
    text = p.get("ask_confirm", lang, when=words.when(free.slot.start, lang, ctx.now), place=location.name.get(lang))
    buttons = (
        button(p, "b_yes_book", lang, "book_confirm", location=location.id, start=start),
        button(p, "b_other_time", lang, "book_place", location=location.id),
    )
    return Result(state, [Outbound(text, buttons)], "booking_confirm")


async def book_confirm(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    p, lang = phrases(ctx.settings), ctx.language(state)
    why, location, free = await availability.check_slot(
        ctx.tx, ctx.settings.booking, u.entities.get("location", ""), u.entities.get("start", ""), ctx.now
    )
    if why != "ok" or location is None or free is None:
        return await _refused(ctx, state, why, location)
    slot = free.slot
    resource = bookings.resource_of("slot", location.id, slot.start)
    if await bookings.has_place(ctx.tx, resource, ctx.channel, ctx.sender, ctx.now):
        return Result(
            state, [Outbound(p.get("already", lang), (button(p, "b_my", lang, "my_bookings"),))], "booking_already"
        )
    if state.task and state.task.get("kind") == "move":
        from handlers.my_bookings import move_to  # the move's second half lives with cancel and move

        return await move_to(ctx, state, location, free)
    topic = topic_of(state)
    request = bookings.Request(
        "slot", resource, free.capacity, location.id, slot.start, slot.end, ctx.channel, ctx.sender, lang,
        topic=topic.flow, tried=list(topic.steps),
    )  # fmt: skip
    row = await bookings.reserve(ctx.tx, request, "held", ctx.now)
    if row is None:
        return await _refused(ctx, state, "full", location)
    state.task = {"kind": "booking", "stage": "name", "id": str(row["id"]), "location": location.id}
    skip = (button(p, "b_skip", lang, "skip"),)
    return Result(state, [Outbound(p.get("ask_name", lang), skip)], "booking_held")


def _phone_question(
    ctx: Context, state: DialogueState, location: LocationSettings | None, bad: bool = False
) -> Outbound:
    p, lang = phrases(ctx.settings), ctx.language(state)
    required = location is not None and location.kind == "phone"
    text = p.get("ask_phone_required" if required else "ask_phone", lang)
    if bad:
        text = p.get("bad_phone", lang)
    return Outbound(text, () if required else (button(p, "b_skip", lang, "skip"),))


async def details(ctx: Context, state: DialogueState, u: Understanding) -> Result | None:
    """HOOK: while a held booking waits for a first name or a phone number, typed text is that answer.
    A button or a command ("stop", "start forfra") leaves the task and frees the held place at once; a
    citizen who just goes away loses the hold after bookings.HOLD_MINUTES."""
    task = state.task
    if not task or task.get("kind") != "booking":
        return None
    skipped = u.intent == "skip" or u.text.strip().lower() in SKIP_WORDS
    if not skipped and (parse_payload(u.text) is not None or ctx.engine.ui.command(u.text)):
        state.task = None
        await bookings.release_hold(ctx.tx, int(task["id"]), ctx.now)
        return None
    p, lang = phrases(ctx.settings), ctx.language(state)
    location = next((loc for loc in ctx.settings.booking.locations if loc.id == task.get("location")), None)
    if task["stage"] == "name":
        name = None if skipped else first_name(u.text)
        if name is None and not skipped:
            return Result(
                state,
                [Outbound(p.get("bad_name", lang), (button(p, "b_skip", lang, "skip"),))],
                "booking_name",
                private=True,
            )
        state.task = {**task, "stage": "phone", "name": name or ""}
        return Result(state, [_phone_question(ctx, state, location)], "booking_phone", private=True)
    required = location is not None and location.kind == "phone"
    phone = None if skipped else phone_number(u.text)
    if phone is None and (required or not skipped):
        return Result(state, [_phone_question(ctx, state, location, bad=not skipped)], "booking_phone", private=True)
    row = await bookings.confirm(ctx.tx, int(task["id"]), task.get("name") or None, phone, ctx.now)
    state.task = None
    if row is None:
        if location is None:
            return Result(state, [_places_message(ctx, lang, p.get("hold_lapsed", lang))], "booking_lapsed")
        lapsed = await times(ctx, state, location, before=(Outbound(p.get("hold_lapsed", lang)),))
        return Result(lapsed.state, lapsed.messages, "booking_lapsed", private=True)
    await after_booking(ctx.tx, ctx.settings, row, ctx.now, topic_title=topic_title(ctx, row["topic"]))
    return Result(state, confirmation(ctx.settings, row, lang, ctx.now, "booked"), "booked", private=True)


ACTIONS: dict[str, Action] = {
    "book_ementor": book_ementor,
    "book_place": book_place,
    "book_later": book_later,
    "book_slot": book_slot,
    "book_confirm": book_confirm,
}
