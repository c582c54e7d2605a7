"""The matcher: a typed answer as the button it means — or nothing, never a guess between two."""

from __future__ import annotations

import pytest

from bot.core.messages import Button
from bot.flows.answers import AnswerWords, load_answers
from bot.flows.matcher import match_answer
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def words() -> AnswerWords:
    return load_answers(ROOT / "flows" / "ui" / "answers.yml")


CONFIRM = [
    Button("Ja, book tiden", "/book_confirm", "yes", ("Yes, book the time",)),
    Button("Vælg en anden tid", "/book_place", "no", ("Choose another time",)),
]
DOCUMENT = [
    Button("Word på computer", "/word", words=("Word on a computer",)),
    Button("Google Docs", "/docs"),
    Button("På min iPhone", "/iphone", words=("On my iPhone",)),
    Button("På min Android", "/android", words=("On my Android", "samsung")),
    Button("Tal med en eMentor", "/talk", words=("Talk to an eMentor",)),
]
PLACES = [
    Button("Digitalt værksted, Gammel Køge Landevej", "/gkl"),
    Button("Digitalt værksted, Lærkevej", "/laerkevej"),
    Button("eMentor ringer dig op", "/phone", words=("An eMentor calls you",)),
]


def chosen(text: str, buttons: list[Button], words: AnswerWords) -> str | None:
    found = match_answer(text, buttons, words)
    return None if found is None else buttons[found.index].payload


@pytest.mark.parametrize(
    ("typed", "payload"),
    [("ja", "/book_confirm"), ("ja tak", "/book_confirm"), ("JA!", "/book_confirm"),
     ("yes please", "/book_confirm"),
     ("jep", "/book_confirm"), ("ok", "/book_confirm"), ("👍", "/book_confirm"), ("ja book den tak", "/book_confirm"),
     ("book den", "/book_confirm"),
     ("Ja, book tiden", "/book_confirm"), ("nej", "/book_place"), ("nej tak", "/book_place"), ("nope", "/book_place"),
     ("en anden tid", "/book_place"), ("choose another time", "/book_place")],
)  # fmt: skip
def test_yes_no_and_labels_at_a_confirmation(typed: str, payload: str, words: AnswerWords) -> None:
    assert chosen(typed, CONFIRM, words) == payload


@pytest.mark.parametrize("typed", ["hmm", "hvad koster det", "måske", "", "?"])
def test_an_unclear_answer_to_a_confirmation_picks_nothing(typed: str, words: AnswerWords) -> None:
    assert chosen(typed, CONFIRM, words) is None


@pytest.mark.parametrize(
    ("typed", "payload"),
    [("android", "/android"), ("ANDROID", "/android"), ("på min andriod", "/android"), ("samsung", "/android"),
     ("on my android", "/android"), ("iphone", "/iphone"), ("word", "/word"), ("computer", "/word"),
     ("google", "/docs"), ("2", "/docs"), ("2.", "/docs"), ("den anden", "/docs"), ("the second one", "/docs"),
     ("nummer 3", "/iphone"), ("sidste", "/talk"), ("den første", "/word"), ("ementor", "/talk"),
     ("jeg har det på min computer men word virker ikke", "/word")],
)  # fmt: skip
def test_choices_by_part_of_the_label_a_listed_word_or_a_number(typed: str, payload: str, words: AnswerWords) -> None:
    assert chosen(typed, DOCUMENT, words) == payload


@pytest.mark.parametrize("typed", ["mobilen", "på min", "7", "ja", "hvordan laver jeg en pdf"])
def test_what_fits_two_choices_or_none_picks_nothing(typed: str, words: AnswerWords) -> None:
    assert chosen(typed, DOCUMENT, words) is None


@pytest.mark.parametrize(
    ("typed", "payload"),
    [("lærkevej", "/laerkevej"), ("larkevej", "/laerkevej"), ("Laerkevej", "/laerkevej"), ("lerkvej", "/laerkevej"),
     ("gammel køge", "/gkl"), ("koge landevej", "/gkl"), ("ring mig op", "/phone"), ("1", "/gkl")],
)  # fmt: skip
def test_places_with_and_without_danish_letters_and_typos(typed: str, payload: str, words: AnswerWords) -> None:
    assert chosen(typed, PLACES, words) == payload


def test_a_yes_with_no_yes_button_picks_nothing(words: AnswerWords) -> None:
    assert chosen("ja", PLACES, words) is None


def test_a_sentence_holding_a_whole_label_picks_it(words: AnswerWords) -> None:
    buttons = [Button("Jeg kan ikke komme", "/cant"), Button("Flyt mødet", "/move")]
    assert chosen("Jeg kan ikke komme jeg er syg", buttons, words) == "/cant"
    assert chosen("hvor lang tid tager det", [Button("Næste", "/next", "yes", ("Next",))], words) is None


CANCEL = [
    Button("Ja, aflys tiden", "/cancel_confirm", "yes", ("Yes, cancel the time", "aflys den", "cancel it")),
    Button("Nej, behold tiden", "/keep", "no", ("No, keep the time", "behold den")),
    Button("Flyt tiden i stedet", "/move", words=("Move the time instead", "flytte", "flyt den", "move it")),
]


@pytest.mark.parametrize(
    ("typed", "payload"),
    [("jeg kan ikke komme, så aflys", "/cancel_confirm"), ("I can't come so cancel it", "/cancel_confirm"),
     ("ikke aflyse, flytte", "/move"), ("nej jeg vil hellere flytte", "/move"), ("no, rather move it", "/move"),
     ("nej, behold den", "/keep"), ("hmm, ja", "/cancel_confirm")],
)  # fmt: skip
def test_what_comes_last_is_what_they_want(typed: str, payload: str, words: AnswerWords) -> None:
    """Reasons first, the wish last: the "ikke" in "jeg kan ikke komme, så aflys" is not a no to cancelling."""
    assert chosen(typed, CANCEL, words) == payload


@pytest.mark.parametrize("typed", ["det passer fint", "that's better, yes", "yea", "hmm okay, ja tak"])
def test_a_yes_said_last_confirms(typed: str, words: AnswerWords) -> None:
    assert chosen(typed, CONFIRM, words) == "/book_confirm"
