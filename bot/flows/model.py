"""Answer flows as plain data: a flow is a small graph of steps, each with a text in every language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.core.text import Text

ENDS = ("solved", "escalate", "menu")
Ending = Literal["solved", "escalate", "menu"]
StepKind = Literal["choices", "check", "next", "end"]


@dataclass(frozen=True)
class Link:
    title: Text
    url: str


@dataclass(frozen=True)
class Synonyms:
    """Words a citizen may type for a choice besides its title ("android", "mobil"), per language."""

    da: tuple[str, ...] = ()
    en: tuple[str, ...] = ()

    def all(self) -> tuple[str, ...]:
        return self.da + self.en


@dataclass(frozen=True)
class Choice:
    title: Text
    next: str
    words: Synonyms = Synonyms()


@dataclass(frozen=True)
class Step:
    id: str
    text: Text
    kind: StepKind
    links: tuple[Link, ...] = ()
    choices: tuple[Choice, ...] = ()
    ok: str | None = None  # check: where "Det virkede" leads
    fail: str | None = None  # check: where "Det virker ikke" leads
    next: str | None = None
    end: Ending | None = None
    source: str = ""

    def targets(self) -> list[str]:
        """Every step id or ending this step can lead to."""
        found = [c.next for c in self.choices] + [t for t in (self.ok, self.fail, self.next, self.end) if t]
        return found


@dataclass(frozen=True)
class Flow:
    intent: str
    title: Text
    start: str
    steps: dict[str, Step]
    source: str = ""
    intro: Text | None = None  # said before the first step when the flow starts from a typed question

    def step(self, step_id: str) -> Step:
        return self.steps[step_id]
