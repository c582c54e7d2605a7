"""A turn with personal data in it: the model reads the redacted text and still understands; the turn log keeps
only the redacted text; the citizen is warned once per conversation; a CPR number alone is only warned about."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings

from bot.core.memory import MemoryStore
from bot.core.messages import Inbound
from bot.core.privacy import fold
from bot.core.turn import DialogueState
from bot.nlu.classifier import IntentModel
from tests.core.test_privacy_corpus import AROUND, cpr_numbers
from tests.dialogue.test_dispatcher import dispatcher

WARNING = "Send aldrig din kode"


@pytest.fixture
def memory() -> MemoryStore:
    return MemoryStore()


@pytest.mark.parametrize(
    ("text", "intent", "kept"),
    [
        (
            "mit cpr er 010190-1234 og jeg kan ikke logge på mitid",
            "mitid_login_problem",
            "mit cpr er [cpr-nummer] og jeg kan ikke logge på mitid",
        ),
        (
            "min kode til mitid er Hund1234 men den virker ikke",
            "mitid_login_problem",
            "min kode til mitid er [kode] men den virker ikke",
        ),
        (
            "adgangskoden til jobnet: Solskin77 virker ikke",
            "jobnet_login",
            "adgangskoden til jobnet: [kode] virker ikke",
        ),
    ],
)
async def test_a_redacted_question_is_still_understood_and_answered(
    project_model: IntentModel, memory: MemoryStore, text: str, intent: str, kept: str
) -> None:
    replies = await dispatcher(project_model, memory).handle(Inbound("rest", "eva", text))
    assert replies and replies[0].text.startswith(WARNING) and len(replies) > 1  # warned, then answered
    [turn] = await memory.recent_turns("rest", "eva")
    assert (turn["intent"], turn["text"]) == (intent, kept)
    assert "Hund1234" not in str(memory.states) and "010190" not in str(memory.states)


@pytest.mark.parametrize(
    "text", ["min kode virker ikke", "koden er forkert", "jeg har glemt min adgangskode", "kl 10.30 den 12.05.2024"]
)
async def test_talk_about_a_code_is_kept_whole_and_not_warned(
    project_model: IntentModel, memory: MemoryStore, text: str
) -> None:
    replies = await dispatcher(project_model, memory).handle(Inbound("rest", "ole", text))
    assert replies and not any(WARNING in r.text for r in replies)
    assert (await memory.recent_turns("rest", "ole"))[-1]["text"] == text


async def test_the_warning_comes_once_per_conversation(project_model: IntentModel, memory: MemoryStore) -> None:
    bot = dispatcher(project_model, memory)
    first = await bot.handle(Inbound("rest", "kim", "cpr 010190-1234 jeg kan ikke logge på mitid"))
    again = await bot.handle(Inbound("rest", "kim", "min kode er Hest123 og jeg kan ikke logge på jobnet"))
    assert first and WARNING in first[0].text
    assert again and not any(WARNING in r.text for r in again)
    phone = await dispatcher(project_model, memory).handle(Inbound("rest", "liv", "min mail er liv@x.dk hjælp"))
    assert phone and phone[0].text.startswith("Du behøver ikke skrive dit telefonnummer eller din e-mail")


async def test_a_cpr_number_alone_is_only_warned_about_and_never_queues(
    project_model: IntentModel, memory: MemoryStore
) -> None:
    """ "personnummer 101090 - 1243" once read as asking for a person (the digits looked like nothing)."""
    bot = dispatcher(project_model, memory)
    for text in ("personnummer 101090 - 1243", "mit cpr nr er ０１０１９０‑１２３４", "min pinkode 4711"):
        replies = await bot.handle(Inbound("rest", "mia", text))
        assert replies and [r.text[: len(WARNING)] for r in replies] == [WARNING]
    state = DialogueState.from_dict(memory.states[("rest", "mia")][0])
    assert not state.handover and state.warned
    logged = [t["text"] for t in await memory.recent_turns("rest", "mia")]
    assert logged == ["personnummer [cpr-nummer]", "mit cpr nr er [cpr-nummer]", "min pinkode [kode]"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=AROUND, cpr=cpr_numbers(), after=AROUND)
def test_generated_cpr_numbers_never_reach_the_store(
    project_model: IntentModel, before: str, cpr: tuple[str, str], after: str
) -> None:
    """Through the whole turn (understanding, flows, the reply, the turn log, the state, the kept reply)."""
    written, digits = cpr
    memory = MemoryStore()
    asyncio.run(dispatcher(project_model, memory).handle(Inbound("rest", "gen", f"{before} {written} {after}", "m1")))
    kept = "".join(ch for ch in fold(str((memory.turns, memory.states, memory.seen))) if ch.isdigit())
    assert digits not in kept, written


async def test_a_secret_sent_at_a_question_shows_the_question_again(
    project_model: IntentModel, memory: MemoryStore
) -> None:
    """A citizen asked "Hvad er problemet?" who sends a CPR number is warned and sees the same question with
    its buttons again (no dead end on a small screen), and the typed answer that follows still fits it."""
    bot = dispatcher(project_model, memory)
    asked = await bot.handle(Inbound("rest", "ole", "jeg kan ikke logge paa mitid"))
    assert asked and asked[-1].buttons
    replies = await bot.handle(Inbound("rest", "ole", "mit cpr er 010190-1234"))
    assert replies and replies[0].text.startswith(WARNING)
    assert [b.title for b in replies[-1].buttons] == [b.title for b in asked[-1].buttons]
    assert replies[-1].text == asked[-1].text
    first = asked[-1].buttons[0]
    after = await bot.handle(Inbound("rest", "ole", first.title))  # typing the first button's label
    assert after is not None and after[-1].text != asked[-1].text  # it moved on, not asked again
    assert "010190" not in str(memory.states)
