"""`python -m bot.flows.check [FILE|DIR]...`: everything a content editor must get right in flow files.

Structure (via the loader), plus what a reader on a small screen needs: at most 60 words a step,
Danish LIX ≤ 40, English Flesch reading ease ≥ 60, one instruction per step (at most 4 sentences and at
most 2 actions: a step holds one thing to do, plus at most a line of why), and never a request for a code or
a CPR number. Prints one line per problem; exits 1 if any.

The same rules judge a text edited in the admin console (`edit_problems`), so a text that would fail here is
refused there in these words, and `ementor flows export` never writes what this checker rejects.
"""

from __future__ import annotations

import re
import string
import sys
from collections.abc import Iterable
from pathlib import Path

from bot.core.text import LANGUAGES, Text
from bot.flows.loader import MAX_BUTTON_CHARS, FlowError, load_flows
from bot.flows.model import Flow
from bot.flows.readability import flesch, instructions, lix, sentence_count, words

MAX_WORDS = 60
MAX_LIX = 40.0
MIN_FLESCH = 60.0
MAX_SENTENCES = 4
MAX_ACTIONS = 2
MAX_CHARS = 1000  # an edited text: a phone screen holds far less, a Telegram message 4096
# what a text must never ask for: the bot never wants a code or a CPR number
RISKY = ("skriv din kode her", "send din kode", "send dit cpr", "type your code here", "send your cpr")
_URL = re.compile(r"https?://[^\s)\"'>]+")


def text_problems(flows: Iterable[Flow]) -> list[str]:
    problems: list[str] = []
    for flow in flows:
        for step in flow.steps.values():
            problems += step_problems(step.text, f"{step.source}: {flow.intent}.{step.id}")
    return problems


def _measures(text: str, language: str) -> list[tuple[str, float, float, bool]]:
    """(name, value, the rule's limit, whether a larger value is harder to read) for one language."""
    found: list[tuple[str, float, float, bool]] = [
        ("words", len(words(text)), MAX_WORDS, True),
        ("sentences", sentence_count(text), MAX_SENTENCES, True),
        ("actions", instructions(text, language), MAX_ACTIONS, True),
    ]
    if language == "da":
        found.append(("lix", lix(text), MAX_LIX, True))
    else:
        found.append(("flesch", flesch(text), MIN_FLESCH, False))
    return found


def step_problems(text: Text, where: str, allowance: Text | None = None) -> list[str]:
    """What is wrong with a text by the readability rules. `allowance` (a phrase's text in its file) relaxes
    each limit that text already breaks to its own value: a two-word button ("Fremmødt") has a LIX no step
    may have, and an edit must not make it worse, but it can still be edited."""
    problems: list[str] = []
    for language in LANGUAGES:
        value = getattr(text, language)
        own = {name: v for name, v, _, _ in _measures(getattr(allowance, language), language)} if allowance else {}
        for name, measured, rule, larger_is_harder in _measures(value, language):
            limit = rule
            if name in own:
                limit = max(rule, own[name]) if larger_is_harder else min(rule, own[name])
            if (measured > limit) if larger_is_harder else (measured < limit):
                problems.append(f"{where} ({language}): {_said(name, measured, limit)}")
        if any(risky in value.lower() for risky in RISKY):
            problems.append(f"{where} ({language}): asks for a code or a CPR number, which the bot never does")
    return problems


def _said(name: str, measured: float, limit: float) -> str:
    if name == "lix":
        return f"LIX {measured:.0f}, at most {limit:.0f}"
    if name == "flesch":
        return f"Flesch {measured:.0f}, at least {limit:.0f}"
    tail = ": split the step" if name == "actions" else ""
    return f"{measured:.0f} {name}, at most {limit:.0f}{tail}"


def placeholders(text: str) -> frozenset[str] | None:
    """The `{names}` a phrase fills in, or None when the text is no valid format string (a lone brace)."""
    try:
        return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)
    except ValueError:
        return None


def links(text: str) -> frozenset[str]:
    return frozenset(_URL.findall(text))


def edit_problems(kind: str, key: str, new: Text, file: Text, button: bool = False) -> list[str]:
    """Why an edited text (kind "step" or "phrase") may not replace `file`, the text in its file, in the
    checker's words; [] when it may. Both languages; the step rules as the files get them (a phrase: no worse
    than its file); links kept; a phrase keeps exactly its placeholders; a button stays button-sized."""
    missing = [f"{key}: text has no `{language}` translation" for language in LANGUAGES if not getattr(new, language)]
    if missing:
        return missing
    problems: list[str] = []
    for language in LANGUAGES:
        value, before = getattr(new, language), getattr(file, language)
        if len(value) > MAX_CHARS:
            problems.append(f"{key} ({language}) is longer than {MAX_CHARS} characters")
        if button and len(value) > MAX_BUTTON_CHARS:
            problems.append(f"{key} ({language}) is longer than {MAX_BUTTON_CHARS} characters")
        if links(value) != links(before):
            kept = ", ".join(sorted(links(before))) or "none"
            problems.append(f"{key} ({language}): the links must stay as they are ({kept})")
        if kind == "phrase":
            wanted, found = placeholders(before) or frozenset(), placeholders(value)
            if found is None:
                problems.append(f"{key} ({language}): a lone {{ or }}; placeholders are written {{name}}")
            elif found != wanted:
                names = ", ".join("{" + n + "}" for n in sorted(wanted)) or "none"
                problems.append(f"{key} ({language}): the placeholders must stay exactly {names}")
    return problems + step_problems(new, key, None if kind == "step" else file)


def main(argv: list[str]) -> int:
    paths = argv or [str(Path("flows"))]
    try:
        flows = load_flows(paths)
    except FlowError as exc:
        print(exc)
        return 1
    problems = text_problems(flows.values())
    for line in problems:
        print(line)
    print(f"{len(flows)} flows, {sum(len(f.steps) for f in flows.values())} steps, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
