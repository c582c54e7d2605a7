"""`ementor nlu …`: train, test, cross-validate and try the intent model; export it for Rasa."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings
from bot.nlu.classifier import IntentModel, Thresholds
from bot.nlu.model_store import load_model, save_model
from bot.nlu.training_data import TrainingDataError, load_training_data


def add_commands(commands: Any) -> None:
    nlu = commands.add_parser("nlu", help="train, test and try the intent model").add_subparsers(
        dest="nlu_command", required=True
    )
    train = nlu.add_parser("train", help="train a model from Rasa NLU YAML")
    train.add_argument("--nlu", action="append", help="YAML file or folder (repeatable; default: nlu.data)")
    train.add_argument("--out", help="model file (default: nlu.model, the one the server loads)")
    train.set_defaults(func=cmd_train)

    test = nlu.add_parser("test", help="evaluate a model on labelled examples, like `rasa test nlu`")
    test.add_argument("--nlu", action="append", required=True, help="test YAML file or folder")
    test.add_argument("--model", help="model file (default: the active model)")
    test.add_argument("--out", default="results", help="report folder (default: results/)")
    test.set_defaults(func=cmd_test)

    cv = nlu.add_parser("cross-validate", help="k-fold cross-validation on the training data")
    cv.add_argument("--nlu", action="append", help="YAML file or folder (default: nlu.data)")
    cv.add_argument("--folds", type=int, default=5)
    cv.add_argument("--out", default="results", help="report folder (default: results/)")
    cv.set_defaults(func=cmd_cross_validate)

    parse = nlu.add_parser("parse", help="print the parse of one message as Rasa JSON")
    parse.add_argument("text")
    parse.add_argument("--model", help="model file (default: the active model)")
    parse.set_defaults(func=cmd_parse)

    export = nlu.add_parser("export-rasa", help="write a Rasa 3.6 project that `rasa train nlu` accepts")
    export.add_argument("dir")
    export.add_argument("--nlu", action="append", help="YAML file or folder (default: nlu.data)")
    export.set_defaults(func=cmd_export_rasa)


def thresholds(settings: Settings) -> Thresholds:
    return Thresholds(settings.nlu.fallback.threshold, settings.nlu.fallback.ambiguity_threshold)


def active_model(settings: Settings, path: str | None) -> IntentModel:
    if path:
        return load_model(path)
    from bot.runtime import prepare_model

    return prepare_model(settings)


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from bot.nlu.trainer import train_from_files

    paths = args.nlu or [settings.nlu.data]
    model = train_from_files(paths, settings.nlu.classifier)
    out = save_model(model, args.out or settings.nlu.model)
    meta = model.metadata
    print(
        f"trained {len(model.labels)} intents on {meta['n_examples']} examples "
        f"({meta['n_out_of_scope']} out of scope, {meta['n_features']} features) "
        f"in {meta['train_seconds']:.1f} s -> {out}"
    )
    return 0


def cmd_test(args: argparse.Namespace, settings: Settings) -> int:
    from bot.nlu.evaluate import evaluate

    model = active_model(settings, args.model)
    examples = load_training_data(args.nlu).examples
    if not examples:
        raise TrainingDataError(f"{', '.join(args.nlu)}: no test examples")
    limits = thresholds(settings)
    started = time.perf_counter()
    summary = evaluate(lambda text: model.predict(text, limits), examples, args.out)
    elapsed = time.perf_counter() - started
    print("\n".join(summary.lines()))
    print(f"reports in {Path(args.out)}/ ({1000 * elapsed / len(examples):.2f} ms per message)")
    return 0


def cmd_cross_validate(args: argparse.Namespace, settings: Settings) -> int:
    from bot.nlu.classifier import train
    from bot.nlu.evaluate import cross_validate
    from bot.nlu.trainer import feature_spec

    if args.folds < 2:
        raise ConfigError("--folds must be at least 2")
    cls = settings.nlu.classifier
    examples = load_training_data(args.nlu or [settings.nlu.data]).examples
    summary = cross_validate(
        examples,
        args.folds,
        lambda part: train(part, feature_spec(cls), cls.c, cls.temperature),
        thresholds(settings),
        args.out,
    )
    print(f"{args.folds}-fold cross-validation")
    print("\n".join(summary.lines()))
    return 0


def cmd_parse(args: argparse.Namespace, settings: Settings) -> int:
    model = active_model(settings, args.model)
    print(json.dumps(model.predict(args.text, thresholds(settings)).to_rasa(), ensure_ascii=False, indent=2))
    return 0


def cmd_export_rasa(args: argparse.Namespace, settings: Settings) -> int:
    from bot.nlu.rasa_export import export_rasa_project

    data = load_training_data(args.nlu or [settings.nlu.data])
    out = export_rasa_project(data, Path(args.dir), settings.nlu.fallback)
    print(f"wrote a Rasa project with {len(data.intents)} intents to {out} (train it with `rasa train nlu`)")
    return 0
