"""Messages that are not a question: only symbols, an outburst, another language."""

from __future__ import annotations

import pytest

from bot.dialogue.understanding import edge_intent
from bot.flows.answers import AnswerWords, load_answers
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def words() -> AnswerWords:
    return load_answers(ROOT / "flows" / "ui" / "answers.yml")


@pytest.mark.parametrize(
    ("text", "edge"),
    [("?", "unclear"), ("...", "unclear"), ("😭😭", "unclear"), ("!!!", "unclear"),
     ("fuck det her lort virker ikke!!!", "frustrated"), ("det virker stadig ikke", "frustrated"),
     ("hjælp!!! jeg kan ikke logge ind", "frustrated"), ("مرحبا أحتاج مساعدة", "foreign"),
     ("Dzień dobry, potrzebuję pomocy", "foreign"), ("Merhaba, yardım istiyorum", "foreign"),
     ("Мені потрібна допомога", "foreign"), ("مجھے مدد چاہیے", "foreign"),
     ("Waan ka xumahay, waxaan u baahanahay caawimaad", "foreign")],
)  # fmt: skip
def test_edges(text: str, edge: str, words: AnswerWords) -> None:
    found = edge_intent(text, words)
    assert found is not None and found[0] == edge


@pytest.mark.parametrize(
    "text", ["hej", "min mitid virker ikke", "hello I need help", "jeg har glemt min kode", "ja tak", "Øh nej"]
)
def test_ordinary_messages_are_no_edge(text: str, words: AnswerWords) -> None:
    assert edge_intent(text, words) is None


def test_the_language_of_a_foreign_message_is_named(words: AnswerWords) -> None:
    assert edge_intent("Мені потрібна допомога", words) == ("foreign", {"language": "uk"})
    assert edge_intent("مجھے مدد چاہیے", words) == ("foreign", {"language": "ur"})
