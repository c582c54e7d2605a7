"""The training phrases' working copy on SQLite and PostgreSQL: seeded once from nlu_data/, exported back
without a diff, conflicts stop a phrase before it is saved, every change is in the audit log."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.core.text import fold
from bot.nlu import phrases
from bot.nlu.backends import BuiltinBackend
from bot.nlu.classifier import IntentModel, Thresholds
from bot.nlu.phrases import Checker, PhraseConflict, PhraseError
from bot.nlu.training_data import load_training_data, read_file
from bot.storage.store import Store
from tests.conftest import NLU_DATA

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def seeded(store: Store) -> int:
    return await store.transaction(lambda tx: phrases.ensure_seeded(tx, [NLU_DATA], NOW))


def checker(model: IntentModel | None = None) -> Checker:
    return Checker(BuiltinBackend(model, Thresholds(0.8)) if model is not None else None, 0.8)


async def audit_lines(store: Store) -> list[dict[str, Any]]:
    rows = await store.transaction(lambda tx: tx.fetch("SELECT * FROM audit_log ORDER BY id"))
    return [{**r, "detail": json.loads(r["detail"])} for r in rows]


def test_nlu_data_has_no_two_examples_of_one_intent_that_fold_alike() -> None:
    """The working copy keeps a phrase once per intent as the model reads it (folded): such a pair in the
    files could not survive a round trip through the database (and the model cannot tell them apart)."""
    seen: dict[tuple[str, str], str] = {}
    doubles = []
    for example in load_training_data([NLU_DATA]).examples:
        key = (example.intent, fold(example.text))
        if key in seen:
            doubles.append(f"{example.source}:{example.line}: {example.text!r} = {seen[key]!r}")
        seen[key] = example.text
    assert doubles == []


async def test_seed_then_export_gives_the_same_files(store: Store, tmp_path: Path) -> None:
    copy = tmp_path / "nlu_data"
    shutil.copytree(NLU_DATA, copy)
    inserted = await seeded(store)
    assert inserted == len(load_training_data([NLU_DATA]).examples)
    assert await seeded(store) == 0  # idempotent
    for path in copy.rglob("*.yml"):
        path.write_text('version: "3.1"\nnlu: []\n', encoding="utf-8")  # so a no-op export would fail
    written = await store.transaction(lambda tx: phrases.export(tx, copy))
    assert sorted(p.relative_to(copy).as_posix() for p in written) == sorted(
        p.relative_to(NLU_DATA).as_posix() for p in NLU_DATA.rglob("*.yml")
    )
    for original in NLU_DATA.rglob("*.yml"):
        exported = copy / original.relative_to(NLU_DATA)
        assert exported.read_text("utf-8") == original.read_text("utf-8"), original


async def test_seed_keeps_language_and_file_and_two_processes_seed_once(store: Store) -> None:
    counts = await asyncio.gather(seeded(store), seeded(store))
    assert sorted(counts)[0] == 0 and sum(counts) == len(load_training_data([NLU_DATA]).examples)
    rows, total = await store.transaction(lambda tx: phrases.search(tx, intent="mitid_get", language="en"))
    assert total == len([e for e in read_file(NLU_DATA / "en" / "mitid_post.yml").examples if e.intent == "mitid_get"])
    assert {r["file"] for r in rows} == {"en/mitid_post.yml"} and {r["source"] for r in rows} == {"seed"}
    pairs = await store.transaction(phrases.training_examples)
    assert len(pairs) == sum(counts) and pairs == await store.transaction(phrases.training_examples)


async def test_search_finds_folded_spellings_and_pages(store: Store) -> None:
    await seeded(store)
    rows, total = await store.transaction(lambda tx: phrases.search(tx, intent="mitid_get", q="FÅ MITID"))
    assert total >= 2 and all("mitid" in fold(r["text"]) for r in rows)
    first, total = await store.transaction(lambda tx: phrases.search(tx, language="da", limit=10))
    second, _ = await store.transaction(lambda tx: phrases.search(tx, language="da", offset=10, limit=10))
    assert len(first) == 10 and total > 20 and not {r["id"] for r in first} & {r["id"] for r in second}
    counts = {c.intent: c for c in await store.transaction(lambda tx: phrases.intent_counts(tx))}
    assert counts["mitid_get"].da > 10 and counts["mitid_get"].en > 10
    only = await store.transaction(lambda tx: phrases.intent_counts(tx, "kodeviser"))
    assert "mitid_get" in {c.intent for c in only} and len(only) < len(counts)


async def test_add_edit_delete_are_audited_with_before_and_after(store: Store) -> None:
    await seeded(store)

    async def work(tx: Any) -> None:
        row = await phrases.add(tx, NOW, 7, "mitid_get", "da", "  hvordan  skaffer jeg et MitID  ", checker())
        assert row["text"] == "hvordan skaffer jeg et MitID" and row["file"] == "da/mitid_post.yml"
        assert row["source"] == "console" and row["created_by"] == 7
        edited = await phrases.edit(tx, NOW, 7, row["id"], "hvordan skaffer jeg mig et MitID", checker())
        assert edited["text"] == "hvordan skaffer jeg mig et MitID" and edited["id"] == row["id"]
        await phrases.delete(tx, NOW, 8, row["id"])
        assert await phrases.get(tx, row["id"]) is None

    await store.transaction(work)
    lines = await audit_lines(store)
    assert [(line["action"], line["actor_id"]) for line in lines] == [
        ("phrase_added", 7), ("phrase_edited", 7), ("phrase_deleted", 8)
    ]  # fmt: skip
    assert lines[0]["detail"]["before"] is None
    assert lines[1]["detail"]["before"]["text"] == "hvordan skaffer jeg et MitID"
    assert lines[1]["detail"]["after"]["text"] == "hvordan skaffer jeg mig et MitID"
    assert lines[2]["detail"]["after"] is None and lines[2]["subject"] == lines[0]["subject"]


async def test_a_phrase_of_another_intent_is_refused_unless_moved(store: Store) -> None:
    await seeded(store)
    existing = read_file(NLU_DATA / "da" / "mitid_post.yml").examples[0]  # "hvordan faar jeg et mitid"

    async def refused(tx: Any) -> None:
        with pytest.raises(PhraseConflict) as caught:
            await phrases.add(tx, NOW, 1, "digital_post_read", "da", "Hvordan får jeg et MitID", checker())
        assert [(c.kind, c.intent) for c in caught.value.conflicts] == [("other_intent", existing.intent)]
        assert caught.value.needs_move

    await store.transaction(refused)
    rows, _ = await store.transaction(lambda tx: phrases.search(tx, q="hvordan faar jeg et mitid"))
    assert {r["intent"] for r in rows} == {existing.intent}  # nothing written

    moved = await store.transaction(
        lambda tx: phrases.add(tx, NOW, 1, "digital_post_read", "da", "Hvordan får jeg et MitID", checker(), move=True)
    )
    rows, _ = await store.transaction(lambda tx: phrases.search(tx, q="hvordan faar jeg et mitid"))
    assert [(r["intent"], r["id"]) for r in rows] == [("digital_post_read", moved["id"])]
    actions = [line["action"] for line in await audit_lines(store)]
    assert actions == ["phrase_deleted", "phrase_added"]


async def test_the_same_phrase_twice_is_refused(store: Store) -> None:
    await seeded(store)
    with pytest.raises(PhraseError) as caught:
        await store.transaction(
            lambda tx: phrases.add(tx, NOW, 1, "mitid_get", "da", "HVORDAN FAAR JEG ET MITID", checker())
        )
    assert caught.value.code == "exists"


async def test_the_served_models_answer_is_a_warning_to_confirm(store: Store, project_model: IntentModel) -> None:
    await seeded(store)
    text = "jeg kan ikke logge ind på jobnet med mitid"
    answer = project_model.predict(text)
    assert answer.confidence >= 0.8 and answer.intent != "thanks"

    with pytest.raises(PhraseConflict) as caught:
        await store.transaction(lambda tx: phrases.add(tx, NOW, 1, "thanks", "da", text, checker(project_model)))
    assert [(c.kind, c.intent) for c in caught.value.conflicts] == [("model", answer.intent)]
    assert not caught.value.needs_move
    row = await store.transaction(
        lambda tx: phrases.add(tx, NOW, 1, "thanks", "da", text, checker(project_model), confirm=True)
    )
    assert row["intent"] == "thanks"
    added = (await audit_lines(store))[-1]
    assert added["detail"]["conflicts"][0]["intent"] == answer.intent  # the override is on record
    # a phrase the model already gives to the same intent is no conflict at all
    fine = await store.transaction(
        lambda tx: phrases.add(tx, NOW, 1, answer.intent, "da", text + " igen", checker(project_model))
    )
    assert fine["intent"] == answer.intent


@pytest.mark.parametrize(
    "text",
    ["mit cpr er 010190-1234", "ring på +45 22 33 44 55", "koden er hest123", "skriv til ida@example.dk", "   "],
)
async def test_personal_data_or_nothing_is_never_a_phrase(store: Store, text: str) -> None:
    with pytest.raises(PhraseError) as caught:
        await store.transaction(lambda tx: phrases.add(tx, NOW, 1, "mitid_get", "da", text, checker()))
    assert caught.value.code in ("personal", "empty")
    assert await store.transaction(lambda tx: tx.fetch("SELECT * FROM nlu_phrases")) == []


async def test_unknown_intent_or_language_is_refused(store: Store) -> None:
    for intent, language in (("no_such_intent", "da"), ("mitid_get", "de")):

        async def work(tx: Any, intent: str = intent, language: str = language) -> None:
            await phrases.add(tx, NOW, 1, intent, language, "noget helt nyt", checker())

        with pytest.raises(PhraseError) as caught:
            await store.transaction(work)
        assert caught.value.code == ("intent" if intent != "mitid_get" else "language")


async def test_a_new_phrase_goes_to_its_intents_file_in_its_language(store: Store, tmp_path: Path) -> None:
    await seeded(store)
    row = await store.transaction(
        lambda tx: phrases.add(tx, NOW, 1, "mitid_get", "en", "how do i sort out a mitid", checker())
    )
    assert row["file"] == "en/mitid_post.yml"
    await store.transaction(lambda tx: phrases.export(tx, tmp_path))
    exported = read_file(tmp_path / "en" / "mitid_post.yml")
    assert ("how do i sort out a mitid", "mitid_get") in {(e.text, e.intent) for e in exported.examples}


async def test_import_adds_skips_and_reports_conflicts(store: Store, project_model: IntentModel) -> None:
    await seeded(store)
    document = """version: "3.1"
nlu:
- intent: mitid_get
  examples: |
    - hvordan faar jeg et mitid
    - hvordan opretter jeg et helt nyt mitid
    - mit cpr er 0101901234
- intent: thanks
  examples: |
    - jeg kan ikke logge ind på jobnet med mitid
"""
    report = await store.transaction(
        lambda tx: phrases.import_yaml(tx, NOW, 3, document, checker(project_model), language="da")
    )
    assert [a["text"] for a in report.added] == ["hvordan opretter jeg et helt nyt mitid"]
    assert {s["why"] for s in report.skipped} == {"exists", "personal"}
    assert "0101901234" not in json.dumps(report.to_dict())
    assert [c["intent"] for c in report.conflicts] == ["thanks"]
    rows, _ = await store.transaction(lambda tx: phrases.search(tx, q="et helt nyt mitid"))
    assert [(r["source"], r["language"], r["file"]) for r in rows] == [("import", "da", "da/mitid_post.yml")]


async def test_import_refuses_a_malformed_document_with_its_line(store: Store) -> None:
    with pytest.raises(PhraseError) as caught:
        await store.transaction(
            lambda tx: phrases.import_yaml(tx, NOW, 3, 'version: "3.1"\nnlu:\n- intent: x\n  exampels: |\n', checker())
        )
    assert caught.value.code == "bad_yaml" and ":4:" in str(caught.value)
