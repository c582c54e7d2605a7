"""The types of one citizen turn: the conversation's state, what the citizen meant, what the bot answers.

State is immutable plain data: every step of the dialogue takes a state and returns a new one, so nothing
that looks like a read can change a conversation, and the state can live in the database between turns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.core.messages import Outbound
from bot.core.ports import Tx

Tried = Mapping[str, str]  # {"flow", "step", "outcome"}: what the citizen went through, for the eMentor
Paused = tuple[str, str]  # (flow, step) to resume


@dataclass(frozen=True)
class DialogueState:
    language: str = "da"
    flow: str | None = None
    step: str | None = None
    paused: tuple[Paused, ...] = ()  # newest last
    fallbacks: int = 0
    asked_more: bool = False
    tried: tuple[Tried, ...] = ()  # for the eMentor who takes over
    task: Mapping[str, str] | None = None  # a handler's multi-step task (booking: stage, place, time…)
    handover: bool = False  # asked for an eMentor: the hand-over hook looks in the database until it is over

    def but(self, **changes: Any) -> DialogueState:
        """A copy with `changes`."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (shallow: the result is serialised at once)."""
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["paused"] = [list(p) for p in self.paused]
        out["tried"] = [dict(t) for t in self.tried]
        out["task"] = dict(self.task) if self.task is not None else None
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DialogueState:
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
        if "paused" in known:
            known["paused"] = tuple((str(p[0]), str(p[1])) for p in known["paused"] if len(p) == 2)
        if "tried" in known:
            known["tried"] = tuple(dict(t) for t in known["tried"])
        return cls(**known)


@dataclass(frozen=True)
class Understanding:
    """What the citizen meant: from a button payload, a command word, or the NLU."""

    intent: str
    text: str = ""
    confidence: float = 1.0
    ranking: tuple[tuple[str, float], ...] = ()
    entities: Mapping[str, str] = field(default_factory=dict)
    language: str | None = None  # None: the message does not say (too short, emoji)


@dataclass(frozen=True)
class Result:
    state: DialogueState
    messages: list[Outbound]
    outcome: str
    private: bool = False  # the message held personal data (a name, a phone number): not kept in the turn log


@dataclass(frozen=True)
class Turn:
    """Where a turn happens: whose conversation, when, and the transaction it runs in. What an action
    writes through `tx` commits together with the conversation's new state, or not at all."""

    channel: str
    sender: str
    now: datetime  # aware UTC
    tx: Tx


Action = Callable[[Turn, DialogueState, Understanding], Awaitable[Result | None]]
"""An intent's handler that needs more than a flow (booking, hand-over); None: let the flows answer."""


Hook = Callable[[Turn, DialogueState, Understanding], Awaitable["Result | DialogueState | None"]]
"""Runs before any intent (a citizen in a hand-over, a booking waiting for typed input): a Result answers the
turn; a state lets the turn go on with that state (the hook changed it); None lets it go on unchanged."""


@dataclass(frozen=True)
class Handlers:
    """The intent handlers beyond the flows, registered explicitly (handlers/__init__.py builds them)."""

    actions: Mapping[str, Action] = field(default_factory=dict)
    hooks: Sequence[Hook] = ()
