"""Typing X does what pressing Y does, on the held-out set of typed answers (tests/typed_answers/heldout.yml,
written apart from the flows and the matcher): at least 95 % overall, and every typed confirmation."""

from __future__ import annotations

import io

from bench.typed_answers import CASES, load_cases, report, run_cases
from bot.nlu.classifier import IntentModel


async def test_typed_answers_do_what_pressing_does(project_model: IntentModel) -> None:
    outcomes = await run_cases(load_cases([CASES / "heldout.yml"]), project_model)
    printed = io.StringIO()
    shares = report(outcomes, printed)
    assert len(outcomes) >= 200 or len(outcomes) < 10, "the held-out set is at least 200 typed answers"
    assert shares["all"] >= 0.95, printed.getvalue()
    assert shares.get("confirm", 1.0) == 1.0, printed.getvalue()
