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

from bot.core.messages import Button, Outbound
from bot.core.ports import Tx

Tried = Mapping[str, str]  # {"flow", "step", "outcome"}: what the citizen went through, for the eMentor
Paused = tuple[str, str]  # (flow, step) to resume


@dataclass(frozen=True)
class Asked:
    """The question the bot's last reply put to the citizen, so a typed answer is understood against it.

    `kind` says what a typed answer that fits no button means: "open" (a menu, suggestions: it is a new
    question for the intent model), "step" (a flow step: a clearly different topic may switch, anything else
    is helped on the spot), "confirm" (an action waits for a clear yes: it is asked again), or what value the
    question wants ("time", "place"). `message` is the question itself (Outbound.to_dict()), to ask again."""

    kind: str
    message: Mapping[str, Any]
    key: str = ""  # the same question asked again has the same key
    repeats: int = 0  # how often it was asked again without an answer that fits
    context: Mapping[str, str] = field(default_factory=dict)  # what the question is about (a location …)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": dict(self.message),
            "key": self.key,
            "repeats": self.repeats,
            "context": dict(self.context),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Asked:
        return cls(
            str(raw.get("kind", "open")),
            dict(raw.get("message") or {}),
            str(raw.get("key", "")),
            int(raw.get("repeats", 0)),
            dict(raw.get("context") or {}),
        )

    def buttons(self) -> tuple[Button, ...]:
        return Outbound.from_dict({"text": "", **self.message}).buttons


@dataclass(frozen=True)
class DialogueState:
    language: str = "da"
    flow: str | None = None
    step: str | None = None
    paused: tuple[Paused, ...] = ()  # newest last
    trail: tuple[str, ...] = ()  # the steps of the current flow the citizen went through, for "tilbage"
    fallbacks: int = 0
    asked_more: bool = False
    tried: tuple[Tried, ...] = ()  # for the eMentor who takes over
    task: Mapping[str, str] | None = None  # a handler's multi-step task (booking: stage, place, time…)
    handover: bool = False  # asked for an eMentor: the hand-over hook looks in the database until it is over
    asked: Asked | None = None  # the question on screen, if the last reply asked one
    started: bool = False  # the conversation has had a turn: its language is set, and changes only when asked
    warned: bool = False  # told not to send a CPR number, code, phone number or e-mail (once per conversation)

    def but(self, **changes: Any) -> DialogueState:
        """A copy with `changes`."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (shallow: the result is serialised at once)."""
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["paused"] = [list(p) for p in self.paused]
        out["tried"] = [dict(t) for t in self.tried]
        out["trail"] = list(self.trail)
        out["task"] = dict(self.task) if self.task is not None else None
        out["asked"] = self.asked.to_dict() if self.asked is not None else None
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DialogueState:
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
        if "paused" in known:
            known["paused"] = tuple((str(p[0]), str(p[1])) for p in known["paused"] if len(p) == 2)
        if "tried" in known:
            known["tried"] = tuple(dict(t) for t in known["tried"])
        if "trail" in known:
            known["trail"] = tuple(str(t) for t in known["trail"])
        if "asked" in known:
            known["asked"] = Asked.from_dict(known["asked"]) if known["asked"] else None
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
    source: str = "typed"  # "typed" | "pressed" (a payload) | "matched" (typed, fitting a button on screen)


@dataclass(frozen=True)
class Result:
    state: DialogueState
    messages: list[Outbound]
    outcome: str
    private: bool = False  # the message held personal data (a name, a phone number): not kept in the turn log
    asked: Asked | None = None  # the question the reply asks, when the dispatcher cannot tell from its buttons


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
