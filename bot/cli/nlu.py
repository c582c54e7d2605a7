"""`ementor nlu …`: train, test, cross-validate and try the intent model; export it for Rasa."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings
from bot.core.clock import utc_now
from bot.core.ports import Tx
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

    back = nlu.add_parser("export", help="write the training phrases' working copy back to nlu.data (Rasa NLU YAML)")
    back.add_argument("--out", help="folder (default: nlu.data)")
    back.set_defaults(func=cmd_export)

    add = nlu.add_parser("import", help="add the examples of a Rasa NLU YAML file to the working copy")
    add.add_argument("file")
    add.add_argument("--language", choices=("da", "en"), help="when neither the file's folder nor its blocks say")
    add.add_argument("--confirm", action="store_true", help="also add examples the model reads as another intent")
    add.set_defaults(func=cmd_import)


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


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """The database's working copy (seeded from nlu.data first, if empty) written as nlu.data's files: after
    edits in the console, `git diff nlu_data/` shows them and they can be committed."""
    from bot.nlu import phrases
    from bot.runtime import in_transaction

    async def work(tx: Tx) -> list[Path]:
        await phrases.ensure_seeded(tx, [settings.nlu.data], utc_now())
        return await phrases.export(tx, args.out or settings.nlu.data)

    written = in_transaction(settings, work)
    print(f"wrote {len(written)} files to {Path(args.out or settings.nlu.data)}")
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Add a Rasa NLU YAML file's examples with the console's rules (conflicts with the training data or the
    active model are reported, not added, unless --confirm); the language from the file's da/ or en/ folder."""
    from bot.nlu import phrases, registry
    from bot.nlu.backends import BuiltinBackend
    from bot.nlu.training_data import LANGUAGE_DIRS
    from bot.runtime import in_transaction, prepare_model

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainingDataError(f"{path}: cannot be read ({exc.__class__.__name__})") from None
    language = path.parent.name if path.parent.name in LANGUAGE_DIRS else args.language
    found = in_transaction(settings, registry.active_blob)
    model = registry.load_version(found[1], found[0]) if found is not None else prepare_model(settings)
    checker = phrases.Checker(BuiltinBackend(model, thresholds(settings)), settings.nlu.fallback.threshold)

    async def work(tx: Tx) -> phrases.ImportReport:
        await phrases.ensure_seeded(tx, [settings.nlu.data], utc_now())
        return await phrases.import_yaml(
            tx, utc_now(), None, text, checker, source_name=path.name, language=language, confirm=args.confirm
        )

    try:
        report = in_transaction(settings, work)
    except phrases.PhraseError as exc:
        raise TrainingDataError(str(exc)) from None
    print(f"added {len(report.added)}, skipped {len(report.skipped)}, conflicts {len(report.conflicts)}")
    for item in report.skipped:
        print(f"  skipped line {item['line']} ({item['intent']}): {item['why']}")
    for item in report.conflicts:
        said = ", ".join(f"{c['kind']} {c['intent']}" for c in item["conflicts"])
        print(f"  conflict line {item['line']} {item['text']!r} -> {item['intent']}: {said}")
    if report.conflicts and not args.confirm:
        print("  (--confirm adds the ones the model reads as another intent; another intent's phrase is never moved)")
    return 0
