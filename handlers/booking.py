"""Booking a time with an eMentor: place → free times → confirm → (first name, phone) → confirmation.

Every step's button payload carries what it needs (location, start), and every payload is checked again
before anything is written: a past, unknown, full or forged time is refused kindly and nothing changes.
The place is reserved at "Ja, book tiden" as `held` (so nobody takes it while the citizen types name and
phone) and becomes `booked` at the end; the database's unique index decides who gets the last place.
Moving a booking ends here too: the chosen new time is booked first, only then is the old one `moved`.
"""

from __future__ import annotations

from bot.booking import availability, bookings
from bot.booking.details import NOT_NAMES, first_name, phone_number
from bot.booking.follow_up import after_booking
from bot.booking.texts import confirmation, phrases
from bot.booking.wish import parse_wish
from bot.config import LocationSettings
from bot.core import words
from bot.core.messages import Outbound
from bot.core.payloads import parse_payload
from bot.core.statuses import BookingStatus
from bot.core.turn import DialogueState, Result, Understanding
from bot.flows.matcher import answer_polarity, match_answer
from bot.flows.topic import topic_of
from handlers.common import (
    button,
    confirm_asked,
    flow_of,
    moving,
    not_yours,
    places_message,
    places_result,
    time_list,
    times,
    typed_words,
)  # fmt: skip
from handlers.context import Context, Handler

SKIP_WORDS = frozenset({"spring over", "skip", "nej", "nej tak", "no", "ingen", "none", "-"})


async def book_ementor(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    """The start of booking: which place (or a call-back). Without configured places: the guided flow."""
    if not ctx.settings.booking.locations:
        return ctx.engine.start(state, "book_ementor")
    return places_result(ctx, state.but(task=None), "", "booking_place")


async def _refused(ctx: Context, state: DialogueState, why: str, location: LocationSettings | None) -> Result:
    """A time that cannot be booked: say so kindly and show what can be; nothing was written."""
    p, lang = phrases(ctx.settings), ctx.language(state)
    key = "taken" if why == "full" else "bad_time"
    if location is None:
        return places_result(ctx, state, p.get("bad_time", lang), "booking_refused")
    result = await times(ctx, state, location, before=(Outbound(p.get(key, lang)),))
    if why == "full" and result.outcome == "booking_no_times":
        return Result(state, [Outbound(p.get("taken_none", lang), result.messages[-1].buttons)], "booking_taken")
    return Result(result.state, result.messages, "booking_taken" if why == "full" else "booking_refused")


async def book_place(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    location = ctx.location(u.entities.get("location"))
    if location is None:
        return await _refused(ctx, state, "unknown", None)
    return await times(ctx, state, location, intro="choose_new_time" if moving(state) else "choose_time")


async def book_later(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    location = ctx.location(u.entities.get("location"))
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
        button(
            p,
            "b_yes_book",
            lang,
            "book_confirm",
            "yes",
            also=typed_words(ctx, "b_yes_book"),
            location=location.id,
            start=start,
        ),
        button(
            p, "b_other_time", lang, "book_place", "no", also=typed_words(ctx, "b_other_time"), location=location.id
        ),
    )
    question = Outbound(text, buttons)
    return Result(state, [question], "booking_confirm", asked=confirm_asked(question, f"book:{location.id}:{start}"))


async def book_time_typed(ctx: Context, state: DialogueState, u: Understanding) -> Result | None:
    """A time typed at the list of free times ("tirsdag kl 10", "i morgen formiddag", "den tidligste"): the
    one slot it names goes to the confirmation; otherwise the free times that fit, or the nearest ones, as
    buttons. None when the text names no time (then it is read as anything else would be)."""
    location = ctx.location(u.entities.get("location"))
    wish = parse_wish(u.text, ctx.now)
    if location is None or wish is None:
        return None
    p, lang = phrases(ctx.settings), ctx.language(state)
    free = await availability.free_slots(ctx.tx, ctx.settings.booking, location, ctx.now)
    fitting = [f for f in free if wish.fits(f.slot.start)]
    if fitting and (wish.earliest or (wish.at is not None and wish.day is None and wish.days is None)):
        fitting = fitting[:1]  # "den tidligste", or a clock time alone ("kl 10"): the soonest that fits
    if len(fitting) == 1 and (wish.at is not None or wish.earliest):
        start = availability.local_text(fitting[0].slot.start)
        return await book_slot(
            ctx, state, Understanding("book_slot", u.text, 1.0, (), {"location": location.id, "start": start})
        )
    if fitting:
        return time_list(ctx, state, location, fitting, p.get("times_fitting", lang, place=location.name.get(lang)))
    if not free:
        return await times(ctx, state, location)
    nearest = sorted(
        sorted(free, key=lambda f: wish.distance(f.slot.start))[: ctx.settings.booking.slots_per_page],
        key=lambda f: f.slot.start,
    )
    return time_list(ctx, state, location, nearest, p.get("times_nearest", lang, place=location.name.get(lang)))


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
    if moving(state):
        return await _move_to(ctx, state, location, free)
    topic = topic_of(state)
    request = bookings.Request(
        "slot", resource, free.capacity, location.id, slot.start, slot.end, ctx.channel, ctx.sender, lang,
        topic=topic.flow, tried=list(topic.steps),
    )  # fmt: skip
    row = await bookings.reserve(ctx.tx, request, BookingStatus.HELD, ctx.now)
    if row is None:
        return await _refused(ctx, state, "full", location)
    task = {"kind": "booking", "stage": "name", "id": str(row["id"]), "location": location.id}
    skip = (button(p, "b_skip", lang, "skip"),)
    return Result(state.but(task=task), [Outbound(p.get("ask_name", lang), skip)], "booking_held")


async def _move_to(ctx: Context, state: DialogueState, location: LocationSettings, free: availability.Free) -> Result:
    """The chosen new time of a move: book it first; only then is the old one `moved` (full: nothing changes)."""
    p, lang = phrases(ctx.settings), ctx.language(state)
    old = await bookings.owned(ctx.tx, (state.task or {}).get("ref", ""), ctx.channel, ctx.sender, ctx.now)
    if old is None or old["location"] != location.id:
        return await not_yours(ctx, state.but(task=None))
    request = bookings.Request(
        "slot", bookings.resource_of("slot", location.id, free.slot.start), free.capacity, location.id,
        free.slot.start, free.slot.end, ctx.channel, ctx.sender, lang, topic=old["topic"],
        tried=bookings.tried_of(old), name=old["name"], phone=old["phone"],
    )  # fmt: skip
    new = await bookings.reserve(ctx.tx, request, BookingStatus.BOOKED, ctx.now)
    if new is None:
        result = await times(ctx, state, location, intro="choose_new_time", before=(Outbound(p.get("taken", lang)),))
        return Result(result.state, result.messages, "booking_taken")
    await bookings.mark_moved(ctx.tx, int(old["id"]), int(new["id"]), ctx.now)
    await after_booking(
        ctx.tx, ctx.settings, new, ctx.now, moved_from=old["reference"], flow=flow_of(ctx, new["topic"])
    )
    return Result(state.but(task=None), confirmation(ctx.settings, new, lang, ctx.now, "moved"), "booking_moved")


def _phone_question(
    ctx: Context, state: DialogueState, location: LocationSettings | None, bad: bool = False
) -> Outbound:
    p, lang = phrases(ctx.settings), ctx.language(state)
    required = location is not None and location.kind == "phone"
    text = p.get("ask_phone_required" if required else "ask_phone", lang)
    if bad:
        text = p.get("bad_phone", lang)
    return Outbound(text, () if required else (button(p, "b_skip", lang, "skip"),))


async def details(ctx: Context, state: DialogueState, u: Understanding) -> Result | DialogueState | None:
    """HOOK: while a held booking waits for a first name or a phone number, typed text is that answer.
    A button or a command ("stop", "start forfra") leaves the task and frees the held place at once; a
    citizen who just goes away loses the hold after bookings.HOLD_MINUTES."""
    task = state.task
    if not task or task.get("kind") != "booking":
        return None
    skip = button(phrases(ctx.settings), "b_skip", ctx.language(state), "skip")
    skipped = (
        u.intent == "skip"
        or u.text.strip().lower() in SKIP_WORDS
        or answer_polarity(u.text, ctx.engine.ui.answers) == "no"  # "nej", "det vil jeg helst ikke"
        or match_answer(u.text, [skip], ctx.engine.ui.answers) is not None  # "spring det over"
    )
    if not skipped and (parse_payload(u.text) is not None or ctx.engine.ui.command(u.text)):
        await bookings.release_hold(ctx.tx, int(task["id"]), ctx.now)
        return state.but(task=None)
    p, lang = phrases(ctx.settings), ctx.language(state)
    location = ctx.location(task.get("location"))
    if task["stage"] == "name":
        answers = ctx.engine.ui.answers
        name = None if skipped else first_name(u.text, NOT_NAMES | answers.yes | answers.no | answers.filler)
        if name is None and not skipped:
            return Result(
                state,
                [Outbound(p.get("bad_name", lang), (button(p, "b_skip", lang, "skip"),))],
                "booking_name",
                private=True,
            )
        state = state.but(task={**task, "stage": "phone", "name": name or ""})
        return Result(state, [_phone_question(ctx, state, location)], "booking_phone", private=True)
    required = location is not None and location.kind == "phone"
    phone = None if skipped else phone_number(u.text)
    if phone is None and (required or not skipped):
        return Result(state, [_phone_question(ctx, state, location, bad=not skipped)], "booking_phone", private=True)
    row = await bookings.confirm(ctx.tx, int(task["id"]), task.get("name") or None, phone, ctx.now)
    state = state.but(task=None)
    if row is None:
        if location is None:
            return Result(state, [places_message(ctx, lang, p.get("hold_lapsed", lang))], "booking_lapsed")
        lapsed = await times(ctx, state, location, before=(Outbound(p.get("hold_lapsed", lang)),))
        return Result(lapsed.state, lapsed.messages, "booking_lapsed", private=True)
    await after_booking(ctx.tx, ctx.settings, row, ctx.now, flow=flow_of(ctx, row["topic"]))
    return Result(state, confirmation(ctx.settings, row, lang, ctx.now, "booked"), "booked", private=True)


ACTIONS: dict[str, Handler[Result | None]] = {
    "book_ementor": book_ementor,
    "book_place": book_place,
    "book_later": book_later,
    "book_slot": book_slot,
    "book_confirm": book_confirm,
    "book_time_typed": book_time_typed,
}
