"""What the citizen needs help with, for the eMentor: the topic and the steps already tried.

Taken from the conversation's memory of flows (`DialogueState.tried`): the last guided topic that is not
small talk or escalation itself, and its steps with how each went ("failed" marks where it stopped
working). Only flow and step names: never what the citizen wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.core.turn import DialogueState
from bot.flows.engine import SMALL_TALK

ESCALATION_INTENTS = frozenset(
    {"talk_to_human", "book_ementor", "cancel_booking", "my_bookings", "workshops", "location_hours", "nlu_fallback"}
)


@dataclass(frozen=True)
class Topic:
    flow: str | None  # None: the citizen asked for help straight away
    steps: tuple[dict[str, str], ...]  # ({"step", "outcome"}, …), oldest first

    @property
    def failed_at(self) -> str | None:
        return failed_step(self.steps)


def failed_step(steps: Iterable[Mapping[str, str]]) -> str | None:
    """The last step that did not work (answered "Det virker ikke", or ended in an escalation)."""
    failed = [s["step"] for s in steps if s.get("outcome") in ("failed", "escalate")]
    return failed[-1] if failed else None


def steps_line(steps: Iterable[Mapping[str, str]]) -> str:
    """The steps tried, for a line in the eMentors' group: "what_wrong (chose), app (failed)". A step that
    failed and then ended in an escalation is one step."""
    shown: list[str] = []
    previous = None
    for s in steps:
        if s["step"] != previous:
            shown.append(f"{s['step']} ({s['outcome']})")
        previous = s["step"]
    return ", ".join(shown)


def topic_of(state: DialogueState) -> Topic:
    tried = [t for t in state.tried if t.get("flow") and t["flow"] not in SMALL_TALK | ESCALATION_INTENTS]
    if state.flow and state.flow not in SMALL_TALK | ESCALATION_INTENTS:
        flow = state.flow
    elif tried:
        flow = tried[-1]["flow"]
    else:
        return Topic(None, ())
    steps = tuple({"step": t["step"], "outcome": t["outcome"]} for t in tried if t["flow"] == flow and t["step"])
    return Topic(flow, steps)
