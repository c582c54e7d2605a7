"""What citizens notice: the model understands held-out messages and answers in their language."""

from __future__ import annotations

from bot.config import load_settings
from bot.nlu.classifier import IntentModel, Thresholds
from bot.nlu.evaluate import evaluate
from bot.nlu.language import detect_language
from bot.nlu.lexicon import builtin_lexicon
from bot.nlu.normalize import normalize, tokenize
from bot.nlu.training_data import load_training_data
from tests.conftest import DEV_SET, NLU_DATA, ROOT


def test_held_out_dev_set_accuracy(project_model: IntentModel) -> None:
    fallback = load_settings(ROOT / "config.yml", environ={}).nlu.fallback
    limits = Thresholds(fallback.threshold, fallback.ambiguity_threshold)
    summary = evaluate(lambda t: project_model.predict(t, limits), load_training_data([DEV_SET]).examples, None)
    assert summary.accuracy >= 0.95
    assert summary.in_scope_accuracy is not None and summary.in_scope_accuracy >= 0.95
    assert summary.out_of_scope_recall is not None and summary.out_of_scope_recall >= 0.85


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
