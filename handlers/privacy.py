"""A citizen's own "slet mine data" (the delete_my_data intent, or typed /slet, /delete): a clear yes/no
question first, then everything about them deleted (bot/privacy/erasure.py) and a receipt with the counts."""

from __future__ import annotations

from bot.booking.texts import phrases
from bot.core.messages import Outbound
from bot.core.turn import Asked, DialogueState, Result, Understanding
from bot.privacy.erasure import erase
from handlers.common import button, typed_words
from handlers.context import Context, Handler


async def ask_erase(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    p, lang = phrases(ctx.settings), ctx.language(state)
    buttons = (
        button(p, "b_erase_yes", lang, "erase_confirm", "yes", also=typed_words(ctx, "b_erase_yes")),
        button(p, "b_erase_no", lang, "erase_keep", "no", also=typed_words(ctx, "b_erase_no")),
    )
    question = Outbound(p.get("erase_ask", lang), buttons)
    asked = Asked("confirm", question.to_dict(), "erase", context={"topic": "delete_my_data"})
    return Result(state.but(flow=None, step=None, task=None), [question], "erase_ask", asked=asked)


async def erase_confirm(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    """Deleted now, in this turn's transaction; the turn itself is logged as private (no text kept)."""
    done = await erase(ctx.tx, ctx.settings, ctx.channel, ctx.sender, ctx.now)
    p, lang = phrases(ctx.settings), ctx.language(state)
    receipt = p.get(
        "erase_done",
        lang,
        turns=str(done["turns"]),
        handover=str(done["handover_messages"]),
        inbox=str(done["inbox_items"]),
        bookings=str(done["bookings_cancelled"]),
    )
    fresh = DialogueState(language=state.language, started=True)
    return Result(fresh, [Outbound(receipt)], "erased", private=True)


async def erase_keep(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    p, lang = phrases(ctx.settings), ctx.language(state)
    menu = ctx.engine.menu(state, "erase_kept")
    return Result(menu.state, [Outbound(p.get("erase_kept", lang)), *menu.messages], "erase_kept")


ACTIONS: dict[str, Handler[Result | None]] = {
    "delete_my_data": ask_erase,
    "slet": ask_erase,  # typed "/slet"
    "delete": ask_erase,  # typed "/delete"
    "erase_confirm": erase_confirm,
    "erase_keep": erase_keep,
}
