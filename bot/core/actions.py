"""Actions: intent handlers that need the database (booking, hand-over), run inside the turn's transaction.

Guided flows are pure (`flows/engine.py`). An action also reads and writes bookings, hand-overs and the
outbox, through the turn's `Tx`, so what it changes commits together with the conversation's new state,
or not at all. Hooks run before intents: a citizen in a hand-over talks to the eMentor, a citizen asked
for a phone number answers it, whatever the NLU thinks the words mean.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot.config import Settings
from bot.flows.engine import DialogueState, Engine, Result, Understanding
from bot.storage.tx import Tx


@dataclass(frozen=True)
class Context:
    engine: Engine
    settings: Settings
    tx: Tx
    channel: str
    sender: str
    now: datetime  # aware UTC; tests move it

    def language(self, state: DialogueState) -> str:
        return self.engine.ui_language(state)


Action = Callable[[Context, DialogueState, Understanding], Awaitable[Result | None]]
