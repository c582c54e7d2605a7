"""The built-in classifier: Rasa-shaped answers, out-of-scope detection, determinism, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.nlu.classifier import RANKING_SIZE, IntentModel, Thresholds, train
from bot.nlu.features import FeatureSpec
from bot.nlu.model_store import ModelError, load_model, save_model
from bot.nlu.training_data import FALLBACK_INTENT, Example


def examples(intent: str, texts: list[str]) -> list[Example]:
    return [Example(t, intent, "test", i) for i, t in enumerate(texts)]


SMALL = (
    examples("mitid_get", ["hvordan faar jeg mitid", "opret mitid", "jeg har ikke mitid", "how do i get mitid"])
    + examples("criminal_record", ["bestil straffeattest", "straffe attest politi", "criminal record please"])
    + examples("out_of_scope", ["hvad bliver vejret", "fortael en vittighed", "who won the match"])
)


def test_parse_has_rasas_shape(project_model: IntentModel) -> None:
    result = project_model.predict("hvordan bestiller jeg en straffeattest").to_rasa()
    assert set(result) == {"text", "intent", "intent_ranking", "entities", "language"}
    assert result["intent"]["name"] == "criminal_record"
    assert 0.0 <= result["intent"]["confidence"] <= 1.0
    ranking = result["intent_ranking"]
    assert len(ranking) == RANKING_SIZE
    assert ranking[0]["name"] == "criminal_record"
    assert [r["confidence"] for r in ranking] == sorted((r["confidence"] for r in ranking), reverse=True)
    assert result["language"] == "da"


def test_out_of_scope_becomes_fallback_with_the_ranking_kept(project_model: IntentModel) -> None:
    result = project_model.predict("hvad bliver vejret i morgen i aarhus").to_rasa()
    assert result["intent"]["name"] == FALLBACK_INTENT
    assert len(result["intent_ranking"]) == RANKING_SIZE
    assert FALLBACK_INTENT not in {r["name"] for r in result["intent_ranking"]}


def test_thresholds_decide_the_fallback() -> None:
    model = train(SMALL, FeatureSpec(), c=1.0, temperature=3.0)
    text = "mitid hvordan"
    confidence = model.predict(text, Thresholds(0.0, 0.0)).confidence
    assert model.predict(text, Thresholds(confidence - 0.01, 0.0)).intent == "mitid_get"
    assert model.predict(text, Thresholds(confidence + 0.01, 0.0)).intent == FALLBACK_INTENT
    assert model.predict(text, Thresholds(0.0, 1.0)).intent == FALLBACK_INTENT  # always ambiguous


def test_training_is_deterministic() -> None:
    first = train(SMALL, FeatureSpec(), c=1.0, temperature=3.0)
    second = train(list(SMALL), FeatureSpec(), c=1.0, temperature=3.0)
    assert np.array_equal(first.weights, second.weights)
    assert first.featurizer.blocks[1].terms == second.featurizer.blocks[1].terms


def test_without_out_of_scope_data_it_still_trains_and_thresholds() -> None:
    model = train([e for e in SMALL if not e.out_of_scope], FeatureSpec(), c=1.0, temperature=3.0)
    assert model.oos_weights is None
    assert model.predict("bestil straffeattest").intent == "criminal_record"


def test_saved_model_predicts_the_same_and_is_not_a_pickle(tmp_path: Path, project_model: IntentModel) -> None:
    path = save_model(project_model, tmp_path / "m.npz")
    loaded = load_model(path)
    for text in ["min mitid virker ikke", "jobnet cv", "hvad koster en pizza", "🙂"]:
        assert loaded.predict(text).to_rasa() == project_model.predict(text).to_rasa()
    with np.load(path, allow_pickle=False) as archive:  # would raise on object arrays
        assert "weights" in archive


def test_unreadable_model_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "m.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a readable model file"):
        load_model(bad)
    with pytest.raises(ModelError, match="no model file"):
        load_model(tmp_path / "missing.npz")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "😂😂😂",
        "\x00\x01\x02\x1b[31m",
        b"\xff\xfe\x00binary\x80".decode("utf-8", errors="replace"),
        "\ud800 lone surrogate",
        "<script>alert(1)</script>'; DROP TABLE users; --",
    ],
)
def test_bad_input_parses_to_fallback(project_model: IntentModel, text: str) -> None:
    result = project_model.predict(text).to_rasa()
    assert result["intent"]["name"] == FALLBACK_INTENT
    assert result["text"] == text


def test_huge_message_parses_by_its_beginning(project_model: IntentModel) -> None:
    text = "hvordan bestiller jeg straffeattest til mit nye job? " * 2_000  # 100 kB
    assert project_model.predict(text).intent == "criminal_record"
