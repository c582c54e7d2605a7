"""`python -m bot.flows.check [FILE|DIR]...`: everything a content editor must get right in flow files.

Structure (via the loader), plus what a reader on a small screen needs: at most 60 words a step,
Danish LIX ≤ 40, English Flesch reading ease ≥ 60, and one instruction per step (at most 4 sentences and at
most 2 actions: a step holds one thing to do, plus at most a line of why). Prints one line per problem;
exits 1 if any.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from bot.flows.loader import FlowError, load_flows
from bot.flows.model import Flow
from bot.flows.readability import flesch, instructions, lix, sentence_count, words

MAX_WORDS = 60
MAX_LIX = 40.0
MIN_FLESCH = 60.0
MAX_SENTENCES = 4
MAX_ACTIONS = 2


def text_problems(flows: Iterable[Flow]) -> list[str]:
    problems: list[str] = []
    for flow in flows:
        for step in flow.steps.values():
            where = f"{step.source}: {flow.intent}.{step.id}"
            for language, text in (("da", step.text.da), ("en", step.text.en)):
                if len(words(text)) > MAX_WORDS:
                    problems.append(f"{where} ({language}): {len(words(text))} words, at most {MAX_WORDS}")
                if sentence_count(text) > MAX_SENTENCES:
                    problems.append(f"{where} ({language}): {sentence_count(text)} sentences, at most {MAX_SENTENCES}")
                if instructions(text, language) > MAX_ACTIONS:
                    count = instructions(text, language)
                    problems.append(f"{where} ({language}): {count} actions, at most {MAX_ACTIONS}: split the step")
            if lix(step.text.da) > MAX_LIX:
                problems.append(f"{where} (da): LIX {lix(step.text.da):.0f}, at most {MAX_LIX:.0f}")
            if flesch(step.text.en) < MIN_FLESCH:
                problems.append(f"{where} (en): Flesch {flesch(step.text.en):.0f}, at least {MIN_FLESCH:.0f}")
    return problems


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
