"""`ementor chat`: numbered buttons can be pressed by typing their number."""

from __future__ import annotations

import io

from bot.channels.terminal import chat
from bot.nlu.classifier import IntentModel
from bot.runtime import build_runtime
from bot.storage.store import Store
from tests.conftest import app_settings


async def test_chat_in_the_terminal(project_model: IntentModel, store: Store) -> None:
    lines = iter(["hvordan bestiller jeg straffeattest", "1"])

    def read_until_eof() -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None  # like Ctrl-D

    out = io.StringIO()
    settings = app_settings()
    runtime = build_runtime(settings, project_model, store)
    await chat(runtime.dispatcher, read_until_eof, out, "tester")
    await runtime.close()
    shown = out.getvalue()
    assert "[1] Ja" in shown and "politi.dk" in shown
    turns = await store.recent_turns("terminal", "tester")
    assert [t["step"] for t in turns] == ["has_mitid", "order"]
