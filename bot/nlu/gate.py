"""The evaluation gate: a retrained model is scored beside the active one and let through only if it is not
worse by more than the margins in `config.yml` (`nlu.gate`).

An admin teaches the bot a few phrases and retrains; the new model must not quietly get worse at what the
bot already did well. So both models answer the same held-out messages — the development set (never
trained on) and the inbox messages admins labelled — and the report says, overall and per intent, how many
each got right. The new model is cross-validated on its own training data too (shown, not compared: the
active model learnt from other data). The gate fails when, on either set, accuracy or out-of-scope recall
falls by more than its margin; the admin then sees why and may still activate it, with a written reason.

The functions marked "child" run in a process of their own (bot/nlu/jobs.py): training and scoring are
seconds of CPU that would otherwise hold the bot's event loop, and with it every citizen's turn.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from bot.config import ClassifierSettings, GateSettings
from bot.nlu.classifier import Thresholds, train
from bot.nlu.evaluate import summarize
from bot.nlu.model_store import model_from_bytes, model_to_bytes
from bot.nlu.trainer import feature_spec
from bot.nlu.training_data import FALLBACK_INTENT, OUT_OF_SCOPE_LABELS, Example

Pair = tuple[str, str]  # (text, intent) as the training phrases' working copy gives them
SETS = ("dev", "inbox")  # the held-out sets, in the order the report shows them


def gold(intent: str) -> str:
    """The answer a message should get: its intent, or `nlu_fallback` for one the bot must not answer."""
    return FALLBACK_INTENT if intent in OUT_OF_SCOPE_LABELS else intent


def examples_of(pairs: Sequence[Pair]) -> list[Example]:
    return [Example(text, intent, "working copy", 0) for text, intent in pairs]


def train_blob(pairs: Sequence[Pair], settings: ClassifierSettings) -> tuple[bytes, dict[str, Any]]:
    """Child: train on `pairs`; the model file's bytes and its metadata."""
    model = train(examples_of(pairs), feature_spec(settings), settings.c, settings.temperature)
    return model_to_bytes(model), dict(model.metadata)


def fold_predictions(
    pairs: Sequence[Pair], settings: ClassifierSettings, thresholds: Thresholds, folds: int, fold: int
) -> list[tuple[int, str]]:
    """Child: fold `fold` of a stratified k-fold split (the same split every call): (index, answer) for
    each held-out example, from a model trained on the other folds."""
    from sklearn.model_selection import StratifiedKFold

    labels = [gold(intent) for _, intent in pairs]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    with warnings.catch_warnings():  # an intent with fewer examples than folds: sklearn warns, we go on
        warnings.simplefilter("ignore", UserWarning)
        train_idx, test_idx = list(splitter.split(list(range(len(pairs))), labels))[fold]
    model = train(examples_of([pairs[i] for i in train_idx]), feature_spec(settings), settings.c, settings.temperature)
    return [(int(i), model.predict(pairs[i][0], thresholds).intent) for i in test_idx]


def predict_sets(blob: bytes, sets: Mapping[str, Sequence[Pair]], thresholds: Thresholds) -> dict[str, list[str]]:
    """Child: one model's answer to every message of every set."""
    model = model_from_bytes(blob)
    return {name: [model.predict(text, thresholds).intent for text, _ in pairs] for name, pairs in sets.items()}


def figures(golds: Sequence[str], answers: Sequence[str]) -> dict[str, Any]:
    """Accuracy (all messages), in-scope accuracy and out-of-scope recall (None when a set has none)."""
    summary = summarize(golds, answers)
    return {
        "examples": summary.examples,
        "accuracy": summary.accuracy if summary.examples else None,
        "in_scope_accuracy": summary.in_scope_accuracy,
        "oos_recall": summary.out_of_scope_recall,
    }


def per_intent(golds: Sequence[str], new: Sequence[str], active: Sequence[str] | None) -> list[dict[str, Any]]:
    """For each intent with messages: how many the new and the active model answered right, and what the
    new model mostly said instead; the intents that got worse first."""
    rows: dict[str, dict[str, Any]] = {}
    wrong: dict[str, Counter[str]] = {}
    for i, expected in enumerate(golds):
        row = rows.setdefault(expected, {"intent": expected, "support": 0, "new": 0, "active": 0})
        row["support"] += 1
        row["new"] += new[i] == expected
        if active is not None:
            row["active"] += active[i] == expected
        if new[i] != expected:
            wrong.setdefault(expected, Counter())[new[i]] += 1
    out = []
    for name, row in rows.items():
        row["active"] = row["active"] if active is not None else None
        row["change"] = row["new"] - row["active"] if active is not None else 0
        row["confused_with"] = wrong[name].most_common(1)[0][0] if name in wrong else None
        out.append(row)
    return sorted(out, key=lambda r: (r["change"], r["intent"]))


def decide(scores: Mapping[str, Mapping[str, Any]], margins: GateSettings) -> dict[str, Any]:
    """The gate: for each set both models answered, accuracy and out-of-scope recall may fall by at most
    their margins. `scores[set]` holds "new" and "active" figures (active None: nothing to compare with).
    With no figure to compare (no development set, no labelled inbox message) it does not pass: a model
    nobody checked is activated only by an admin, with a reason."""
    checks = []
    for name in SETS:
        if name not in scores or scores[name]["active"] is None:
            continue
        new, old = scores[name]["new"], scores[name]["active"]
        for metric, limit in (("accuracy", margins.max_accuracy_drop), ("oos_recall", margins.max_oos_recall_drop)):
            if new[metric] is None or old[metric] is None:
                continue
            drop = old[metric] - new[metric]
            checks.append(
                {
                    "set": name,
                    "metric": metric,
                    "active": old[metric],
                    "new": new[metric],
                    "drop": round(drop, 6),
                    "limit": limit,
                    "ok": drop <= limit + 1e-9,
                }
            )
    return {
        "passed": bool(checks) and all(c["ok"] for c in checks),  # nothing to compare on: an admin decides
        "checks": checks,
        "margins": {"accuracy": margins.max_accuracy_drop, "oos_recall": margins.max_oos_recall_drop},
    }


def report(
    sets: Mapping[str, Sequence[Pair]],
    new: Mapping[str, Sequence[str]],
    active: Mapping[str, Sequence[str]] | None,
    cross_validation: dict[str, Any],
    margins: GateSettings,
) -> dict[str, Any]:
    """The gate's report: figures per set for both models, per intent over both sets, and the decision."""
    scores: dict[str, dict[str, Any]] = {}
    all_golds: list[str] = []
    all_new: list[str] = []
    all_active: list[str] = []
    for name in SETS:
        golds = [gold(intent) for _, intent in sets.get(name, ())]
        if not golds:
            continue
        scores[name] = {
            "new": figures(golds, new[name]),
            "active": figures(golds, active[name]) if active is not None else None,
        }
        all_golds += golds
        all_new += new[name]
        all_active += active[name] if active is not None else []
    return {
        "sets": scores,
        "cross_validation": cross_validation,
        "intents": per_intent(all_golds, all_new, all_active if active is not None else None),
        "gate": decide(scores, margins),
    }
