"""The citizen's own bookings: list them, cancel one, start moving one (booking.py books the new time).

Only the owner (channel, sender) can.

A reference in a payload comes from outside: one that is not the citizen's own live, future booking gets
the same kind answer as an unknown one ("Jeg kan ikke finde den tid"), so a guessed reference reveals
nothing and changes nothing. A cancelled place is free for others in the same transaction.
"""

from __future__ import annotations

from bot.booking import bookings
from bot.booking.bookings import BookingRow
from bot.booking.follow_up import after_cancel
from bot.booking.texts import phrases, place_of
from bot.core import words
from bot.core.messages import Button, Outbound
from bot.core.payloads import format_payload
from bot.core.turn import DialogueState, Result, Understanding
from handlers.common import button, confirm_asked, not_yours, times, typed_words
from handlers.context import Context, Handler


def _none(ctx: Context, lang: str, text: str) -> Outbound:
    p = phrases(ctx.settings)
    buttons = [button(p, "b_book", lang, "book_ementor")]
    if ctx.settings.booking.workshops:
        buttons.append(button(p, "b_workshops", lang, "workshops"))
    return Outbound(text, tuple(buttons))


def _line(ctx: Context, row: BookingRow, lang: str) -> str:
    return f"• {words.when(row['starts_at'], lang, ctx.now)} – {place_of(ctx.settings, row, lang)} ({row['reference']})"


def _row_buttons(ctx: Context, row: BookingRow, lang: str) -> list[Button]:
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
    state = state.but(task=None)
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


def _ask_cancel(ctx: Context, state: DialogueState, row: BookingRow) -> Result:
    p, lang = phrases(ctx.settings), ctx.language(state)
    when = words.when(row["starts_at"], lang, ctx.now)
    text = p.get("ask_cancel", lang, when=when, place=place_of(ctx.settings, row, lang))
    buttons = [
        button(
            p,
            "b_yes_cancel",
            lang,
            "cancel_confirm",
            "yes",
            also=typed_words(ctx, "b_yes_cancel"),
            ref=row["reference"],
        ),
        button(p, "b_keep", lang, "my_bookings", "no", also=typed_words(ctx, "b_keep")),
    ]
    if row["kind"] == "slot":
        buttons.append(
            button(
                p, "b_move_instead", lang, "move_booking", also=typed_words(ctx, "b_move_instead"), ref=row["reference"]
            )
        )
    question = Outbound(text, tuple(buttons))
    return Result(state, [question], "cancel_ask", asked=confirm_asked(question, f"cancel:{row['reference']}"))


async def cancel_booking(ctx: Context, state: DialogueState, u: Understanding) -> Result | None:
    """Which time to cancel or move (asked straight away when there is only one)."""
    return await _listing(ctx, state, "which_cancel", "cancel_which")


async def cancel_pick(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    row = await bookings.owned(ctx.tx, u.entities.get("ref", ""), ctx.channel, ctx.sender, ctx.now)
    return _ask_cancel(ctx, state, row) if row else await not_yours(ctx, state)


async def cancel_confirm(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    row = await bookings.owned(ctx.tx, u.entities.get("ref", ""), ctx.channel, ctx.sender, ctx.now)
    if row is None or not await bookings.cancel(ctx.tx, int(row["id"]), ctx.now):
        return await not_yours(ctx, state)
    await after_cancel(ctx.tx, ctx.settings, row, ctx.now)
    p, lang = phrases(ctx.settings), ctx.language(state)
    key = "left" if row["kind"] == "workshop" else "cancelled"
    return Result(state.but(task=None), [_none(ctx, lang, p.get(key, lang))], "booking_cancelled")


async def move_booking(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    row = await bookings.owned(ctx.tx, u.entities.get("ref", ""), ctx.channel, ctx.sender, ctx.now)
    location = ctx.location(row["location"]) if row is not None else None
    if row is None or row["kind"] != "slot" or location is None:
        return await not_yours(ctx, state)
    return await times(
        ctx, state.but(task={"kind": "move", "ref": row["reference"]}), location, intro="choose_new_time"
    )


ACTIONS: dict[str, Handler[Result | None]] = {
    "my_bookings": my_bookings,
    "cancel_booking": cancel_booking,
    "cancel_pick": cancel_pick,
    "cancel_confirm": cancel_confirm,
    "move_booking": move_booking,
}
