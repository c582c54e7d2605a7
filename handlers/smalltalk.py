"""Small talk that needs more than a flow's text: switching the conversation's language."""

from __future__ import annotations

from bot.core.messages import Outbound
from bot.core.turn import DialogueState, Result, Understanding
from bot.flows.engine import requested_language
from handlers.context import Context, Handler


async def change_language(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    state = state.but(language=requested_language(u, state.language) or state.language)
    note = Outbound(ctx.engine.ui.text("language_set", state.language))
    current = ctx.engine.current_step(state)
    if current is not None and state.flow:
        step = ctx.engine.render_step(ctx.engine.flows[state.flow], current, state.language)
        return Result(state, [note, step], "language")
    menu = ctx.engine.menu(state, "language")
    return Result(menu.state, [note, *menu.messages], "language")


ACTIONS: dict[str, Handler[Result | None]] = {"change_language": change_language}
