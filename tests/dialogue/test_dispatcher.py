"""The dispatcher around the engine, on the in-memory store: timeouts, secrets, repeats, payloads, language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.clock import ManualClock
from bot.core.memory import MemoryStore
from bot.core.messages import Inbound
from bot.core.payloads import format_payload
from bot.core.turn import DialogueState, Handlers, Result, Turn, Understanding
from bot.dialogue.dispatcher import Dispatcher, clean_text
from bot.nlu.backends import BuiltinBackend
from bot.nlu.classifier import IntentModel, Thresholds
from bot.runtime import build_engine
from tests.conftest import app_settings

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def memory() -> MemoryStore:
    return MemoryStore()


def dispatcher(model: IntentModel, store: MemoryStore, clock: ManualClock | None = None) -> Dispatcher:
    return Dispatcher(
        build_engine(app_settings()),
        BuiltinBackend(model, Thresholds()),
        store,
        session_timeout=timedelta(minutes=30),
        clock=clock or ManualClock(START),
    )


async def test_inactive_conversation_starts_afresh(project_model: IntentModel, memory: MemoryStore) -> None:
    clock = ManualClock(START)
    bot = dispatcher(project_model, memory, clock)
    await bot.handle(Inbound("rest", "ole", "hvordan bestiller jeg straffeattest"))
    clock.advance(timedelta(minutes=31))
    replies = await bot.handle(Inbound("rest", "ole", "ja"))
    assert replies is not None and replies[0].text == "Velkommen tilbage."
    assert (await memory.recent_turns("rest", "ole"))[-1]["flow"] is None


async def test_a_pause_shorter_than_the_timeout_keeps_the_step(project_model: IntentModel, memory: MemoryStore) -> None:
    clock = ManualClock(START)
    bot = dispatcher(project_model, memory, clock)
    await bot.handle(Inbound("rest", "ane", "hvordan bestiller jeg straffeattest"))
    clock.advance(timedelta(minutes=29))
    replies = await bot.handle(Inbound("rest", "ane", "ja"))
    assert replies and replies[0].text != "Velkommen tilbage."
    assert (await memory.recent_turns("rest", "ane"))[-1]["flow"] == "criminal_record"


async def test_a_repeated_message_id_is_answered_once(project_model: IntentModel, memory: MemoryStore) -> None:
    bot = dispatcher(project_model, memory)
    first = await bot.handle(Inbound("telegram", "42", "hej", message_id="7"))
    again = await bot.handle(Inbound("telegram", "42", "hej", message_id="7"))
    assert first and again == first  # the reply given the first time, buttons and all
    assert len(await memory.recent_turns("telegram", "42")) == 1


async def test_a_secret_is_refused_and_never_logged(project_model: IntentModel, memory: MemoryStore) -> None:
    bot = dispatcher(project_model, memory)
    replies = await bot.handle(Inbound("rest", "eva", "mit cpr er 010190-1234"))
    assert replies and "CPR" in replies[0].text
    logged = await memory.recent_turns("rest", "eva")
    assert logged[-1]["text"] == "mit cpr er [cpr-nummer]" and "010190" not in str(memory.states)


async def test_an_empty_message_gets_a_kind_word(project_model: IntentModel, memory: MemoryStore) -> None:
    replies = await dispatcher(project_model, memory).handle(Inbound("telegram", "1", ""))
    assert replies and "tekst" in replies[0].text


async def test_a_button_payload_skips_the_model(project_model: IntentModel, memory: MemoryStore) -> None:
    bot = dispatcher(project_model, memory)
    replies = await bot.handle(Inbound("rest", "bo", format_payload("pdf_convert")))
    assert replies and "dokument" in replies[0].text
    assert (await memory.recent_turns("rest", "bo"))[-1]["confidence"] == 1.0


async def test_english_words_answer_in_english_and_it_is_remembered(
    project_model: IntentModel, memory: MemoryStore
) -> None:
    bot = dispatcher(project_model, memory)
    await bot.handle(Inbound("rest", "li", "how do I order a criminal record certificate"))
    replies = await bot.handle(Inbound("rest", "li", "👍"))
    assert memory.states[("rest", "li")][0]["language"] == "en"
    assert replies is not None


async def test_a_turn_that_fails_saves_nothing(project_model: IntentModel, memory: MemoryStore) -> None:
    bot = dispatcher(project_model, memory)
    await bot.handle(Inbound("rest", "jo", "hvordan bestiller jeg straffeattest"))
    before = dict(memory.states[("rest", "jo")][0])

    async def broken(turn: Turn, state: DialogueState, u: Understanding) -> Result | None:
        raise RuntimeError("a handler broke mid-turn")

    bot.handlers = Handlers(hooks=(broken,))
    with pytest.raises(RuntimeError):
        await bot.handle(Inbound("rest", "jo", "hvordan laver jeg en pdf"))
    assert memory.states[("rest", "jo")][0] == before
    assert len(await memory.recent_turns("rest", "jo")) == 1


def test_clean_text_drops_control_characters_and_caps_length() -> None:
    assert clean_text("\x00hej\x1b[31m \ud800") == "hej [31m"
    assert len(clean_text("a" * 100_000)) == 4000
