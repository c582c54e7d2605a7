"""What the citizen needs help with, for the eMentor: the topic, the steps shown, and how each was answered.

Taken from the conversation's memory of flows (`DialogueState.tried`): the last guided topic that is not
small talk or escalation itself. Each step entry is a step the citizen saw, with their answer to it: the
choice pressed (by number, so two choices leading to the same step are told apart), "worked", "failed",
"next", or nothing yet (the step where they stopped). Only the bot's own words are shown to the eMentor:
never what the citizen wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.core.text import Text
from bot.core.turn import DialogueState
from bot.flows.engine import SMALL_TALK
from bot.flows.model import Flow

ESCALATION_INTENTS = frozenset(
    {"talk_to_human", "book_ementor", "cancel_booking", "my_bookings", "workshops", "location_hours", "nlu_fallback"}
)
ANSWERS = {
    "worked": Text("det virkede", "it worked"),
    "failed": Text("det virkede ikke", "it did not work"),
    "next": Text("læste videre", "read on"),
    "advanced": Text("læste videre", "read on"),
    "shown": Text("kom hertil", "got here"),
    "escalate": Text("fik tilbudt en eMentor", "was offered an eMentor"),
}
MAX_STEP_TEXT = 90
SHORT_QUESTION = 30
SENTENCE_END = re.compile(r"(?<=[.?!])\s+")


@dataclass(frozen=True)
class Topic:
    flow: str | None  # None: the citizen asked for help straight away
    steps: tuple[dict[str, str], ...]  # ({"step", "outcome", "answer"}, …), oldest first

    @property
    def failed_at(self) -> str | None:
        return failed_step(self.steps)


def failed_step(steps: Iterable[Mapping[str, str]]) -> str | None:
    """The step where it stopped working: the last one answered "Det virker ikke"; else the step the citizen
    reached last (an escalation, or where they left the flow)."""
    listed = list(steps)
    failed = [s["step"] for s in listed if s.get("outcome") == "failed"]
    if failed:
        return failed[-1]
    return listed[-1]["step"] if listed else None


def step_text(flow: Flow | None, step: str, language: str) -> str:
    """What the step asked, short: its question (with the sentence before it when the question alone says
    little, "Har du det?"), or its first sentence when it asks nothing."""
    if flow is None or step not in flow.steps:
        return step
    sentences = SENTENCE_END.split(flow.steps[step].text.get(language).strip())
    asks = [i for i, sentence in enumerate(sentences) if sentence.endswith("?")]
    if not asks:
        shown = sentences[0].rstrip(".")
    else:
        at = asks[-1]
        shown = sentences[at]
        if len(shown) < SHORT_QUESTION and at > 0:
            shown = f"{sentences[at - 1]} {shown}"
    return shown if len(shown) <= MAX_STEP_TEXT else shown[: MAX_STEP_TEXT - 1].rstrip() + "…"


def answer_text(flow: Flow | None, step: str, answer: str, language: str) -> str:
    """The citizen's answer in words: the title of the choice pressed, "det virkede", "det virkede ikke"."""
    if answer.startswith("choice:") and flow is not None and step in flow.steps:
        index = answer.split(":", 1)[1]
        choices = flow.steps[step].choices
        if index.isdigit() and int(index) < len(choices):
            return choices[int(index)].title.get(language)
    known = ANSWERS.get(answer)
    return known.get(language) if known is not None else answer


def described(flow: Flow | None, steps: Iterable[Mapping[str, str]], language: str) -> list[dict[str, str]]:
    """Each step as the eMentor reads it: its id, what it said, and the answer in words."""
    out = []
    for entry in steps:
        answer = entry.get("answer") or entry.get("outcome", "")
        out.append(
            {
                "step": entry["step"],
                "text": step_text(flow, entry["step"], language),
                "answer": answer_text(flow, entry["step"], answer, language),
                "outcome": entry.get("outcome", ""),
            }
        )
    return out


def steps_line(flow: Flow | None, steps: Iterable[Mapping[str, str]], language: str = "da") -> str:
    """The steps tried, for a line in the eMentors' group: «Hvad er problemet?» → Appen er spærret; …"""
    return "; ".join(f"«{d['text']}» → {d['answer']}" for d in described(flow, steps, language))


def topic_of(state: DialogueState) -> Topic:
    tried = [t for t in state.tried if t.get("flow") and t["flow"] not in SMALL_TALK | ESCALATION_INTENTS]
    if state.flow and state.flow not in SMALL_TALK | ESCALATION_INTENTS:
        flow = state.flow
    elif tried:
        flow = tried[-1]["flow"]
    else:
        return Topic(None, ())
    steps = tuple(
        {"step": t["step"], "outcome": t["outcome"], "answer": t.get("answer", "")}
        for t in tried
        if t["flow"] == flow and t["step"]
    )
    return Topic(flow, steps)
