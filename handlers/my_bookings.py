"""The citizen's own bookings: list them, cancel one, move one. Only the owner (channel, sender) can.

A reference in a payload comes from outside: one that is not the citizen's own live, future booking gets
the same kind answer as an unknown one ("Jeg kan ikke finde den tid"), so a guessed reference reveals
nothing and changes nothing. A cancelled place is free for others in the same transaction.
"""

from __future__ import annotations

from typing import Any

from bot.booking import availability, bookings, words
from bot.booking.follow_up import after_booking, after_cancel
from bot.booking.texts import confirmation, phrases, place_of
from bot.config import LocationSettings
from bot.core.actions import Action, Context
from bot.core.messages import Button, Outbound
from bot.core.payloads import format_payload
from bot.flows.engine import DialogueState, Result, Understanding
from handlers.booking import button, times


def _none(ctx: Context, lang: str, text: str) -> Outbound:
    p = phrases(ctx.settings)
    buttons = [button(p, "b_book", lang, "book_ementor")]
    if ctx.settings.booking.workshops:
        buttons.append(button(p, "b_workshops", lang, "workshops"))
    return Outbound(text, tuple(buttons))


def _line(ctx: Context, row: dict[str, Any], lang: str) -> str:
    return f"• {words.when(row['starts_at'], lang, ctx.now)} – {place_of(ctx.settings, row, lang)} ({row['reference']})"


def _row_buttons(ctx: Context, row: dict[str, Any], lang: str) -> list[Button]:
    p = phrases(ctx.settings)
    when = words.short(row["starts_at"], lang, ctx.now)
    out = [Button(p.get("b_cancel", lang, when=when), format_payload("cancel_pick", ref=row["reference"]))]
    if row["kind"] == "slot":
        out.append(Button(p.get("b_move", lang, when=when), format_payload("move_booking", ref=row["reference"])))
    return out


async def _listing(ctx: Context, state: DialogueState, intro: str, outcome: str) -> Result | None:
    """The citizen's own coming times under `intro`, with buttons to cancel or move the first four; a
    kind word and a way to book when there are none. None without locations (the plain flow answers)."""
    if not ctx.settings.booking.locations:
        return None
    p, lang = phrases(ctx.settings), ctx.language(state)
    state.task = None
    rows = await bookings.for_owner(ctx.tx, ctx.channel, ctx.sender, ctx.now)
    if not rows:
        return Result(state, [_none(ctx, lang, p.get("my_none", lang))], "my_bookings_none")
    if outcome == "cancel_which" and len(rows) == 1:
        return _ask_cancel(ctx, state, rows[0])
    text = p.get(intro, lang) + "\n" + "\n".join(_line(ctx, r, lang) for r in rows)
    buttons = [b for r in rows[:4] for b in _row_buttons(ctx, r, lang)]
    return Result(state, [Outbound(text, tuple(buttons))], outcome)


async def my_bookings(ctx: Context, state: DialogueState, u: Understanding) -> Result | None:
    return await _listing(ctx, state, "my_list", "my_bookings")


def _ask_cancel(ctx: Context, state: DialogueState, row: dict[str, Any]) -> Result:
    p, lang = phrases(ctx.settings), ctx.language(state)
    when = words.when(row["starts_at"], lang, ctx.now)
    text = p.get("ask_cancel", lang, when=when, place=place_of(ctx.settings, row, lang))
    buttons = [
        button(p, "b_yes_cancel", lang, "cancel_confirm", ref=row["reference"]),
        button(p, "b_keep", lang, "my_bookings"),
    ]
    if row["kind"] == "slot":
        buttons.append(button(p, "b_move_instead", lang, "move_booking", ref=row["reference"]))
    return Result(state, [Outbound(text, tuple(buttons))], "cancel_ask")


async def _not_yours(ctx: Context, state: DialogueState) -> Result:
    p, lang = phrases(ctx.settings), ctx.language(state)
    return Result(
        state, [Outbound(p.get("not_yours", lang), (button(p, "b_my", lang, "my_bookings"),))], "booking_not_found"
    )


async def cancel_booking(ctx: Context, state: DialogueState, u: Understanding) -> Result | None:
    """Which time to cancel or move (asked straight away when there is only one)."""
    return await _listing(ctx, state, "which_cancel", "cancel_which")


async def cancel_pick(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    row = await bookings.owned(ctx.tx, u.entities.get("ref", ""), ctx.channel, ctx.sender, ctx.now)
    return _ask_cancel(ctx, state, row) if row else await _not_yours(ctx, state)


async def cancel_confirm(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    row = await bookings.owned(ctx.tx, u.entities.get("ref", ""), ctx.channel, ctx.sender, ctx.now)
    if row is None or not await bookings.cancel(ctx.tx, int(row["id"]), ctx.now):
        return await _not_yours(ctx, state)
    await after_cancel(ctx.tx, ctx.settings, row, ctx.now)
    p, lang = phrases(ctx.settings), ctx.language(state)
    key = "left" if row["kind"] == "workshop" else "cancelled"
    state.task = None
    return Result(state, [_none(ctx, lang, p.get(key, lang))], "booking_cancelled")


async def move_booking(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    row = await bookings.owned(ctx.tx, u.entities.get("ref", ""), ctx.channel, ctx.sender, ctx.now)
    location = next((loc for loc in ctx.settings.booking.locations if row and loc.id == row["location"]), None)
    if row is None or row["kind"] != "slot" or location is None:
        return await _not_yours(ctx, state)
    state.task = {"kind": "move", "ref": row["reference"]}
    return await times(ctx, state, location, intro="choose_new_time")


async def move_to(ctx: Context, state: DialogueState, location: LocationSettings, free: availability.Free) -> Result:
    """The chosen new time of a move: book it first; only then is the old one `moved` (full: nothing changes)."""
    p, lang = phrases(ctx.settings), ctx.language(state)
    old = await bookings.owned(ctx.tx, (state.task or {}).get("ref", ""), ctx.channel, ctx.sender, ctx.now)
    if old is None or old["location"] != location.id:
        state.task = None
        return await _not_yours(ctx, state)
    request = bookings.Request(
        "slot", bookings.resource_of("slot", location.id, free.slot.start), free.capacity, location.id,
        free.slot.start, free.slot.end, ctx.channel, ctx.sender, lang, topic=old["topic"],
        tried=bookings.tried_of(old), name=old["name"], phone=old["phone"],
    )  # fmt: skip
    new = await bookings.reserve(ctx.tx, request, "booked", ctx.now)
    if new is None:
        result = await times(ctx, state, location, intro="choose_new_time", before=(Outbound(p.get("taken", lang)),))
        return Result(result.state, result.messages, "booking_taken")
    await bookings.mark_moved(ctx.tx, int(old["id"]), int(new["id"]), ctx.now)
    await after_booking(ctx.tx, ctx.settings, new, ctx.now, moved_from=old["reference"])
    state.task = None
    return Result(state, confirmation(ctx.settings, new, lang, ctx.now, "moved"), "booking_moved")


ACTIONS: dict[str, Action] = {
    "my_bookings": my_bookings,
    "cancel_booking": cancel_booking,
    "cancel_pick": cancel_pick,
    "cancel_confirm": cancel_confirm,
    "move_booking": move_booking,
}
