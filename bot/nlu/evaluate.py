"""`ementor nlu test` and `cross-validate`: Rasa-style reports from a model and labelled examples.

Writes what `rasa test nlu` writes — `intent_report.json` (scikit-learn's classification report per
intent plus `confused_with`), `intent_errors.json`, a confusion-matrix PNG — and adds the two figures
that matter for a help bot: in-scope accuracy and out-of-scope recall (CLINC150's metrics).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.nlu.classifier import IntentModel, Prediction, Thresholds
from bot.nlu.training_data import FALLBACK_INTENT, Example


@dataclass(frozen=True)
class Summary:
    examples: int
    accuracy: float
    in_scope_accuracy: float | None
    out_of_scope_recall: float | None
    out_of_scope_precision: float | None

    def lines(self) -> list[str]:
        def pct(x: float | None) -> str:
            return "n/a" if x is None else f"{100 * x:.2f} %"

        return [
            f"examples:              {self.examples}",
            f"accuracy:              {pct(self.accuracy)}",
            f"in-scope accuracy:     {pct(self.in_scope_accuracy)}",
            f"out-of-scope recall:   {pct(self.out_of_scope_recall)}",
            f"out-of-scope precision:{pct(self.out_of_scope_precision)}",
        ]


def gold_label(example: Example) -> str:
    return FALLBACK_INTENT if example.out_of_scope else example.intent


def summarize(gold: Sequence[str], predicted: Sequence[str]) -> Summary:
    pairs = list(zip(gold, predicted, strict=True))
    ins = [(g, p) for g, p in pairs if g != FALLBACK_INTENT]
    oos = [(g, p) for g, p in pairs if g == FALLBACK_INTENT]
    said_oos = [(g, p) for g, p in pairs if p == FALLBACK_INTENT]
    return Summary(
        examples=len(pairs),
        accuracy=sum(g == p for g, p in pairs) / len(pairs) if pairs else 0.0,
        in_scope_accuracy=sum(g == p for g, p in ins) / len(ins) if ins else None,
        out_of_scope_recall=sum(p == FALLBACK_INTENT for _, p in oos) / len(oos) if oos else None,
        out_of_scope_precision=sum(g == FALLBACK_INTENT for g, _ in said_oos) / len(said_oos) if said_oos else None,
    )


def intent_report(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    from sklearn.metrics import classification_report

    report: dict[str, Any] = classification_report(gold, predicted, output_dict=True, zero_division=0)
    confusions: dict[str, Counter[str]] = {}
    for g, p in zip(gold, predicted, strict=True):
        if g != p:
            confusions.setdefault(g, Counter())[p] += 1
    for label, row in report.items():
        if isinstance(row, dict) and label not in ("macro avg", "weighted avg", "micro avg"):
            row["confused_with"] = dict(confusions.get(label, Counter()).most_common(5))
    return report


def evaluate(predict: Callable[[str], Prediction], examples: Sequence[Example], out_dir: str | Path | None) -> Summary:
    predictions = [predict(e.text) for e in examples]
    gold = [gold_label(e) for e in examples]
    names = [p.intent for p in predictions]
    summary = summarize(gold, names)
    if out_dir is not None:
        write_reports(Path(out_dir), examples, gold, predictions)
    return summary


def write_reports(out: Path, examples: Sequence[Example], gold: Sequence[str], preds: Sequence[Prediction]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    names = [p.intent for p in preds]
    report = intent_report(gold, names)
    (out / "intent_report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), "utf-8")
    errors = [
        {
            "text": e.text,
            "intent": g,
            "intent_prediction": {"name": p.intent, "confidence": round(p.confidence, 4)},
            "source": f"{e.source}:{e.line}",
        }
        for e, g, p in zip(examples, gold, preds, strict=True)
        if g != p.intent
    ]
    (out / "intent_errors.json").write_text(json.dumps(errors, indent=2, ensure_ascii=False), "utf-8")
    plot_confusion_matrix(gold, names, out / "intent_confusion_matrix.png")


def plot_confusion_matrix(gold: Sequence[str], predicted: Sequence[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    labels = sorted(set(gold) | set(predicted))
    matrix = confusion_matrix(gold, predicted, labels=labels)
    size = max(6.0, 0.22 * len(labels))
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues", interpolation="nearest")
    ax.set_xticks(range(len(labels)), labels=labels, rotation=90, fontsize=6 if len(labels) > 40 else 8)
    ax.set_yticks(range(len(labels)), labels=labels, fontsize=6 if len(labels) > 40 else 8)
    ax.set_xlabel("predicted intent")
    ax.set_ylabel("true intent")
    ax.set_title(f"Intent confusion matrix ({len(gold)} examples)")
    if len(labels) <= 40:
        for i in range(len(labels)):
            for j in range(len(labels)):
                if matrix[i, j]:
                    ax.text(
                        j,
                        i,
                        str(matrix[i, j]),
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="white" if matrix[i, j] > matrix.max() / 2 else "black",
                    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def cross_validate(
    examples: Sequence[Example],
    folds: int,
    fit: Callable[[Sequence[Example]], IntentModel],
    thresholds: Thresholds,
    out_dir: str | Path | None,
) -> Summary:
    """Stratified k-fold: every example is predicted once by a model that did not see it."""
    from sklearn.model_selection import StratifiedKFold

    labels = [gold_label(e) for e in examples]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    predictions: list[Prediction | None] = [None] * len(examples)
    for train_idx, test_idx in splitter.split(list(range(len(examples))), labels):
        model = fit([examples[i] for i in train_idx])
        for i in test_idx:
            predictions[i] = model.predict(examples[i].text, thresholds)
    preds = [p for p in predictions if p is not None]
    if out_dir is not None:
        write_reports(Path(out_dir), examples, labels, preds)
    return summarize(labels, [p.intent for p in preds])
