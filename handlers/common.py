"""What the booking, my-bookings and workshop handlers share: buttons from phrases, the free-times page,
the list of places, and the kind refusals. Kept here so the handler modules import it, not each other."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.booking import availability
from bot.booking.texts import phrases
from bot.config import LocationSettings
from bot.core import words
from bot.core.messages import Button, Outbound
from bot.core.payloads import format_payload
from bot.core.turn import Asked, DialogueState, Result
from bot.flows.model import Flow
from bot.flows.phrases import Phrases
from handlers.context import Context


def button(
    p: Phrases, key: str, lang: str, intent: str, role: str | None = None, *, also: Sequence[str] = (), **entities: str
) -> Button:
    """A button in the citizen's language; typed in the other language, as yes/no (`role`) or in the words
    `also` lists (flows/ui/answers.yml), it works too."""
    other = "da" if lang == "en" else "en"
    return Button(p.get(key, lang), format_payload(intent, **entities), role, (p.get(key, other), *also))


def typed_words(ctx: Context, key: str) -> tuple[str, ...]:
    """What citizens type for the booking button `key` besides its title (flows/ui/answers.yml `buttons`)."""
    return ctx.engine.ui.answers.buttons.get(key, ())


def flow_of(ctx: Context, intent: str | None) -> Flow | None:
    """The flow of a topic, for what the eMentors are told (its title, its steps in words)."""
    return ctx.engine.flows.get(intent or "")


def places_message(ctx: Context, lang: str, text: str) -> Outbound:
    """Which place (a call-back last), under `text` (default: the question). A place can be typed by its
    name in either language, or its address."""
    p = phrases(ctx.settings)
    locations = sorted(ctx.settings.booking.locations, key=lambda loc: loc.kind == "phone")
    buttons = tuple(
        Button(
            loc.name.get(lang),
            format_payload("book_place", location=loc.id),
            words=_place_words(loc),
        )
        for loc in locations
    )
    return Outbound(text or p.get("choose_place", lang), buttons)


def _place_words(location: LocationSettings) -> tuple[str, ...]:
    names = (location.name.da, location.name.en, location.address, location.id.replace("-", " "))
    return tuple(w for w in (*names, *_KIND_WORDS.get(location.kind, ())) if w)


def places_result(ctx: Context, state: DialogueState, text: str, outcome: str) -> Result:
    message = places_message(ctx, ctx.language(state), text)
    return Result(state, [message], outcome, asked=Asked("place", message.to_dict(), "places", context=_BOOKING))


def moving(state: DialogueState) -> bool:
    """The citizen is choosing a new time for a booking they move."""
    return bool(state.task and state.task.get("kind") == "move")


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
    if not free:
        key = "no_later" if after else "no_times"
        text = p.get(key, lang, days=ctx.settings.booking.days_ahead)
        return Result(state, [*before, Outbound(text, (_back(ctx, state, lang),))], "booking_no_times")
    return time_list(ctx, state, location, free, p.get(intro, lang, place=location.name.get(lang)), before)


def time_list(
    ctx: Context,
    state: DialogueState,
    location: LocationSettings,
    free: list[availability.Free],
    text: str,
    before: tuple[Outbound, ...] = (),
) -> Result:
    """A page of free times as buttons under `text` ("Senere tider" when there are more). Asked as a time
    question: a time typed in words ("tirsdag kl 10") goes to book_time_typed."""
    p, lang = phrases(ctx.settings), ctx.language(state)
    page = free[: ctx.settings.booking.slots_per_page]
    buttons = [
        Button(
            words.short(f.slot.start, lang, ctx.now),
            format_payload("book_slot", location=location.id, start=availability.local_text(f.slot.start)),
            words=(words.short(f.slot.start, "en" if lang == "da" else "da", ctx.now),),
        )
        for f in page
    ]
    if len(free) > len(page):
        last = availability.local_text(page[-1].slot.start)
        buttons.append(button(p, "b_later", lang, "book_later", "nav", location=location.id, after=last))
    buttons.append(_back(ctx, state, lang))
    message = Outbound(text, tuple(buttons))
    context = {"typed": "book_time_typed", "location": location.id, "topic": "book_ementor"}
    asked = Asked("time", message.to_dict(), f"times:{location.id}", context=context)
    return Result(state, [*before, message], "booking_times", asked=asked)


def _back(ctx: Context, state: DialogueState, lang: str) -> Button:
    p = phrases(ctx.settings)
    if moving(state):
        return button(p, "b_keep", lang, "my_bookings", "nav")
    return button(p, "b_other_place", lang, "book_ementor", "nav")


def confirm_asked(message: Outbound, key: str) -> Asked:
    """A question an action waits on (book, cancel, move): it happens only on a clear yes."""
    return Asked("confirm", message.to_dict(), key, context=_BOOKING)


_BOOKING = {"topic": "book_ementor"}  # asking to book again while booking answers nothing new: ask again
# how citizens say a kind of place: a call-back is "over telefonen", "ring mig op"
_KIND_WORDS = {
    "phone": (
        "telefon", "telefonen", "telefonisk", "tlf", "ring", "ringe", "ring op", "opkald", "phone", "telephone",
        "by phone", "call me", "a call",
    )
}  # fmt: skip


async def not_yours(ctx: Context, state: DialogueState) -> Result:
    """A reference that is not the citizen's own live, future booking: the same kind answer as an unknown one."""
    p, lang = phrases(ctx.settings), ctx.language(state)
    return Result(
        state, [Outbound(p.get("not_yours", lang), (button(p, "b_my", lang, "my_bookings"),))], "booking_not_found"
    )
