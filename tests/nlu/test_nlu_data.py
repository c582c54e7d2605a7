"""The project's training data: the whole catalogue, in both languages, without contradictions."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from bot.nlu.catalogue import catalogue
from bot.nlu.normalize import normalize, tokenize
from bot.nlu.training_data import TrainingData, load_training_data
from tests.conftest import DEV_SET, NEW_TOPICS_SET, NLU_DATA, ROOT

SHARED_CATALOGUE = ROOT.parent / "shared" / "intents.md"
MIN_EXAMPLES = {"da": 25, "en": 15}
MIN_OUT_OF_SCOPE = 300


@pytest.fixture(scope="module")
def data() -> TrainingData:
    return load_training_data([NLU_DATA])


def key(text: str) -> str:
    return " ".join(tokenize(normalize(text)))


def test_every_catalogue_intent_has_enough_examples_in_each_language(data: TrainingData) -> None:
    counts = Counter((e.intent, e.language) for e in data.examples)
    short = {
        (intent, lang): counts[intent, lang]
        for intent in catalogue()
        for lang, minimum in MIN_EXAMPLES.items()
        if counts[intent, lang] < minimum
    }
    assert short == {}


def test_only_catalogue_intents_and_out_of_scope(data: TrainingData) -> None:
    assert set(data.intents) - set(catalogue()) == {"out_of_scope"}


def test_enough_out_of_scope_messages(data: TrainingData) -> None:
    assert sum(e.out_of_scope for e in data.examples) >= MIN_OUT_OF_SCOPE


def test_no_message_in_two_intents(data: TrainingData) -> None:
    intents: defaultdict[str, set[str]] = defaultdict(set)
    for e in data.examples:
        intents[key(e.text)].add(e.intent)
    assert {text: labels for text, labels in intents.items() if len(labels) > 1} == {}


def test_every_file_is_in_a_language_folder(data: TrainingData) -> None:
    assert all(e.language in MIN_EXAMPLES for e in data.examples)


def test_held_out_sets_are_held_out_and_cover_the_catalogue(data: TrainingData) -> None:
    held_out = load_training_data([DEV_SET, NEW_TOPICS_SET])
    trained = {key(e.text) for e in data.examples}
    assert [e.text for e in held_out.examples if key(e.text) in trained] == []
    assert set(catalogue()) <= set(held_out.intents)


@pytest.mark.skipif(not SHARED_CATALOGUE.exists(), reason="shared/intents.md is not beside the checkout")
def test_catalogue_matches_the_shared_contract() -> None:
    names = re.findall(r"^\| ([a-z_]+) \|", Path(SHARED_CATALOGUE).read_text("utf-8"), flags=re.MULTILINE)
    assert set(names) - {"intent", "nlu_fallback"} == set(catalogue())
