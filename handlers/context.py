"""What every handler works with: the flow engine and the settings (the same for every turn), and the turn.

Handlers are written as `async def handler(ctx, state, u)`; `bind` turns them into the core's `Action`s
(and `Hook`s) for the dispatcher, so the dispatcher knows nothing of settings or flows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from bot.booking.places import find_location
from bot.config import LocationSettings, Settings
from bot.core.ports import Tx
from bot.core.text import language_of
from bot.core.turn import DialogueState, Result, Turn, Understanding
from bot.flows.engine import Engine

R = TypeVar("R")


@dataclass(frozen=True)
class Context:
    engine: Engine
    settings: Settings
    turn: Turn

    @property
    def tx(self) -> Tx:
        return self.turn.tx

    @property
    def channel(self) -> str:
        return self.turn.channel

    @property
    def sender(self) -> str:
        return self.turn.sender

    @property
    def now(self) -> datetime:
        return self.turn.now

    def language(self, state: DialogueState) -> str:
        return language_of(state.language)

    def location(self, location_id: str | None) -> LocationSettings | None:
        return find_location(self.settings.booking, location_id or "")


Handler = Callable[[Context, DialogueState, Understanding], Awaitable[R]]


def bind(
    handler: Handler[R], engine: Engine, settings: Settings
) -> Callable[[Turn, DialogueState, Understanding], Awaitable[R]]:
    """`handler` as the dispatcher calls it: (turn, state, understanding)."""

    async def call(turn: Turn, state: DialogueState, u: Understanding) -> R:
        return await handler(Context(engine, settings, turn), state, u)

    call.__name__ = getattr(handler, "__name__", "handler")
    return call


HandlerResult = Result | None
