"""What citizens notice: the model understands held-out messages and answers in their language."""

from __future__ import annotations

from pathlib import Path

from bot.config import load_settings
from bot.nlu.classifier import IntentModel, Thresholds
from bot.nlu.evaluate import Summary, evaluate
from bot.nlu.language import detect_language
from bot.nlu.lexicon import builtin_lexicon
from bot.nlu.normalize import normalize, tokenize
from bot.nlu.training_data import load_training_data
from tests.conftest import DEV_SET, NEW_TOPICS_SET, NLU_DATA, ROOT


def summary_on(model: IntentModel, path: Path) -> Summary:
    fallback = load_settings(ROOT / "config.yml", environ={}).nlu.fallback
    limits = Thresholds(fallback.threshold, fallback.ambiguity_threshold)
    return evaluate(lambda t: model.predict(t, limits), load_training_data([path]).examples, None)


def test_held_out_dev_set_accuracy(project_model: IntentModel) -> None:
    summary = summary_on(project_model, DEV_SET)
    assert summary.accuracy >= 0.95
    assert summary.in_scope_accuracy is not None and summary.in_scope_accuracy >= 0.95
    assert summary.out_of_scope_recall is not None and summary.out_of_scope_recall >= 0.85


def test_the_ten_newest_topics_are_recognised(project_model: IntentModel) -> None:
    assert summary_on(project_model, NEW_TOPICS_SET).accuracy >= 0.90


def test_language_of_training_messages_is_detected() -> None:
    examples = [e for e in load_training_data([NLU_DATA]).examples if not e.out_of_scope and len(e.text.split()) >= 3]
    right = sum(detect_language(e.text) == e.language for e in examples)
    assert right / len(examples) >= 0.95


def test_lexicon_links_words_across_spellings_and_languages() -> None:
    lexicon = builtin_lexicon()

    def concepts(text: str) -> list[str]:
        return lexicon.concepts(tokenize(normalize(text)))

    assert "~cancel" in concepts("annullér min tid") and "~cancel" in concepts("cancel my appointment")
    assert "~login" in concepts("kan ikke logge ind") and "~login" in concepts("cant sign in")
    assert concepts("hvad bliver vejret") == []
