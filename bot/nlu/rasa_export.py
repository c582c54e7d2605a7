"""Export the training data as a Rasa 3.6 project (`config.yml`, `domain.yml`, `data/nlu.yml`).

The project trains with `rasa train nlu` and serves `/model/parse`, so Rasa can run side by side with the
built-in engine (`make rasa`) or replace it (`nlu.backend: rasa`). Out-of-scope examples are exported as
the ordinary intent `out_of_scope` (Rasa reserves `nlu_fallback` for its FallbackClassifier); the Rasa
backend maps that answer back to `nlu_fallback`.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.config import FallbackSettings
from bot.nlu.training_data import TrainingData

RASA_OUT_OF_SCOPE = "out_of_scope"


class _Literal(str):
    """A string PyYAML writes as a `|` block, as Rasa's own files do."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, _literal)


def rasa_config(fallback: FallbackSettings) -> dict[str, object]:
    """Rasa 3.6's recommended default pipeline, with our fallback thresholds."""
    return {
        "recipe": "default.v1",
        "assistant_id": "ementor-bot",
        "language": "da",
        "pipeline": [
            {"name": "WhitespaceTokenizer"},
            {"name": "RegexFeaturizer"},
            {"name": "LexicalSyntacticFeaturizer"},
            {"name": "CountVectorsFeaturizer"},
            {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
            {"name": "DIETClassifier", "epochs": 100, "constrain_similarities": True},
            {"name": "EntitySynonymMapper"},
            {
                "name": "FallbackClassifier",
                "threshold": fallback.threshold,
                "ambiguity_threshold": fallback.ambiguity_threshold,
            },
        ],
        "policies": None,
    }


def export_rasa_project(data: TrainingData, out: Path, fallback: FallbackSettings) -> Path:
    (out / "data").mkdir(parents=True, exist_ok=True)
    by_intent: dict[str, list[str]] = {}
    for example in data.examples:
        name = RASA_OUT_OF_SCOPE if example.out_of_scope else example.intent
        texts = by_intent.setdefault(name, [])
        if example.text not in texts:
            texts.append(example.text)
    blocks: list[dict[str, object]] = [
        {"intent": name, "examples": _Literal("".join(f"- {_one_line(t)}\n" for t in texts))}
        for name, texts in sorted(by_intent.items())
    ]
    synonyms: dict[str, list[str]] = {}
    for variant, canonical in data.synonyms.items():
        synonyms.setdefault(canonical, []).append(variant)
    blocks += [{"synonym": k, "examples": _Literal("".join(f"- {v}\n" for v in vs))} for k, vs in synonyms.items()]
    blocks += [{"regex": k, "examples": _Literal("".join(f"- {v}\n" for v in vs))} for k, vs in data.regexes.items()]
    blocks += [{"lookup": k, "examples": _Literal("".join(f"- {v}\n" for v in vs))} for k, vs in data.lookups.items()]
    _write(out / "data" / "nlu.yml", {"version": "3.1", "nlu": blocks})
    _write(out / "domain.yml", {"version": "3.1", "intents": sorted(by_intent)})
    _write(out / "config.yml", rasa_config(fallback))
    return out


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _write(path: Path, document: object) -> None:
    path.write_text(
        yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=10_000), encoding="utf-8"
    )
