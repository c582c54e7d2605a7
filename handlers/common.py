"""What the booking, my-bookings and workshop handlers share: buttons from phrases, the free-times page,
the list of places, and the kind refusals. Kept here so the handler modules import it, not each other."""

from __future__ import annotations

from datetime import datetime

from bot.booking import availability
from bot.booking.texts import phrases
from bot.config import LocationSettings
from bot.core import words
from bot.core.messages import Button, Outbound
from bot.core.payloads import format_payload
from bot.core.turn import DialogueState, Result
from bot.flows.phrases import Phrases
from handlers.context import Context


def button(p: Phrases, key: str, lang: str, intent: str, **entities: str) -> Button:
    return Button(p.get(key, lang), format_payload(intent, **entities))


def topic_title(ctx: Context, flow: str | None) -> str | None:
    """The topic as the eMentors read it (the flow's Danish title), for their group."""
    found = ctx.engine.flows.get(flow or "")
    return found.title.get("da") if found is not None else None


def places_message(ctx: Context, lang: str, text: str) -> Outbound:
    """Which place (a call-back last), under `text` (default: the question)."""
    p = phrases(ctx.settings)
    locations = sorted(ctx.settings.booking.locations, key=lambda loc: loc.kind == "phone")
    buttons = tuple(Button(loc.name.get(lang), format_payload("book_place", location=loc.id)) for loc in locations)
    return Outbound(text or p.get("choose_place", lang), buttons)


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
    page = free[:per_page]
    back = (
        button(p, "b_keep", lang, "my_bookings") if moving(state) else button(p, "b_other_place", lang, "book_ementor")
    )
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


async def not_yours(ctx: Context, state: DialogueState) -> Result:
    """A reference that is not the citizen's own live, future booking: the same kind answer as an unknown one."""
    p, lang = phrases(ctx.settings), ctx.language(state)
    return Result(
        state, [Outbound(p.get("not_yours", lang), (button(p, "b_my", lang, "my_bookings"),))], "booking_not_found"
    )
