"""Training from files: load Rasa YAML, train, stamp the model with what it was made from."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bot.config import ClassifierSettings
from bot.nlu.classifier import IntentModel, train
from bot.nlu.embeddings import vectors_fingerprint
from bot.nlu.features import FeatureSpec
from bot.nlu.lexicon import builtin_lexicon
from bot.nlu.model_store import ModelError, data_fingerprint, read_metadata, save_model
from bot.nlu.training_data import load_training_data

log = logging.getLogger(__name__)


def feature_spec(settings: ClassifierSettings) -> FeatureSpec:
    return FeatureSpec(
        word_ngrams=settings.word_ngrams,
        char_min=settings.char_ngram_min,
        char_max=settings.char_ngram_max,
        embedding_weight=settings.embedding_weight,
    )


def fingerprint_settings(settings: ClassifierSettings) -> dict[str, object]:
    """What, besides the data, makes a model: its settings, the built-in lexicon and word vectors."""
    return {**asdict(settings), "lexicon": builtin_lexicon().fingerprint, "vectors": vectors_fingerprint()}


def train_from_files(paths: Sequence[str | Path], settings: ClassifierSettings) -> IntentModel:
    data = load_training_data(paths)
    model = train(data.examples, feature_spec(settings), settings.c, settings.temperature)
    model.metadata.update(
        {
            "data_hash": data_fingerprint(paths, fingerprint_settings(settings)),
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "data_paths": [str(p) for p in paths],
            "training_files": [str(p) for p in data.files],
        }
    )
    return model


def ensure_model(model_path: str | Path, paths: Sequence[str | Path], settings: ClassifierSettings) -> bool:
    """Train and save a model when it is missing, or stale for these training files; returns whether it
    trained. A model trained on other files (a benchmark, say) is left alone: it was put there on purpose."""
    try:
        metadata = read_metadata(model_path)
    except ModelError:
        metadata = None
    if metadata is not None and metadata.get("data_paths") != [str(p) for p in paths]:
        log.info("using %s, trained on %s", model_path, ", ".join(metadata.get("data_paths", ["?"])))
        return False
    if metadata is not None and metadata.get("data_hash") == data_fingerprint(paths, fingerprint_settings(settings)):
        return False
    log.info("training the intent model from %s (missing or out of date)", ", ".join(map(str, paths)))
    model = train_from_files(paths, settings)
    save_model(model, model_path)
    log.info(
        "trained %d intents on %d examples in %.1f s -> %s",
        len(model.labels),
        model.metadata["n_examples"],
        model.metadata["train_seconds"],
        model_path,
    )
    return True
