"""Small talk that needs more than a flow's text: switching the conversation's language."""

from __future__ import annotations

from bot.core.messages import Outbound
from bot.flows.engine import DialogueState, Engine, Handler, Result, Understanding, requested_language


def change_language(engine: Engine, state: DialogueState, u: Understanding) -> Result:
    state.language = requested_language(u, state.language)
    note = Outbound(engine.ui.text("language_set", state.language))
    current = engine.current_step(state)
    if current is not None and state.flow:
        return Result(state, [note, engine.render_step(engine.flows[state.flow], current, state.language)], "language")
    menu = engine.menu(state, "language")
    return Result(state, [note, *menu.messages], "language")


HANDLERS: dict[str, Handler] = {"change_language": change_language}
