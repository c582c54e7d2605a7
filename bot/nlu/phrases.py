"""The training phrases' working copy: the `nlu_phrases` table, seeded from `nlu_data/` and written back to it.

Admins teach the model in the console (add, edit, delete, import Rasa YAML, adopt messages from the inbox);
the model-training job reads what it trains on from here (`examples`, `training_examples`); `ementor nlu
export` writes the table back to the same files in the same layout, so the repository stays the source of
truth and an unchanged working copy exports without a diff (order: files, intents in the order they first
appear, examples by id — an edit keeps a phrase's place).

Before a phrase is saved, two things are checked, because a contradicting example quietly makes the model
worse for both intents:

- its folded text (`bot.core.text.fold`, the model's own spelling) already belongs to another intent —
  refused unless the admin chooses to move it there;
- the model being served gives it to another intent with at least the fallback threshold's confidence
  (i.e. the bot would answer it as that other intent today) — a warning the admin must confirm.

Every change writes a line in `audit_log` (who, when, before/after) in the same transaction, through
`audit` below: the one way training-data changes are recorded (this room may not import bot.booking).
Functions take the transaction and the time from their caller; nothing here opens a database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypedDict, cast

from bot.core.ports import IntentParser, Tx
from bot.core.privacy import holds_personal
from bot.core.text import fold
from bot.nlu.catalogue import catalogue
from bot.nlu.classifier import IntentModel
from bot.nlu.language import detect_language
from bot.nlu.training_data import (
    FALLBACK_INTENT,
    LANGUAGE_DIRS,
    OUT_OF_SCOPE_LABELS,
    Example,
    TrainingDataError,
    load_training_data,
    parse_document,
    strip_entity_markup,
    yaml_files,
)

SOURCES = ("seed", "console", "inbox", "import")
LANGUAGES = ("da", "en")
MAX_TEXT = 300  # a training phrase is a sentence a citizen might type, not a paragraph
MAX_IMPORT = 5000  # examples in one import
PAGE_SIZE = 50
SEED_LOCK = 4_711_002  # PostgreSQL advisory lock: two processes starting at once seed once
_BATCH = 100
_COLUMNS = "id, intent, language, text, source, file, created_by, created_at, updated_at"


class PhraseRow(TypedDict):
    id: int
    intent: str
    language: str
    text: str
    source: str
    file: str | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime


class PhraseError(ValueError):
    """The phrase cannot be saved as asked. `code` names why (for the console's words and the API):
    empty, too_long, personal, language, intent, exists, not_found, bad_yaml, too_many."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Conflict:
    """Why saving a phrase needs the admin's decision. kind "other_intent": the same folded text is a phrase of
    `intent` (phrase `phrase_id`); kind "model": the served model gives the text to `intent` with
    `confidence`."""

    kind: str
    intent: str
    confidence: float | None = None
    phrase_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class PhraseConflict(Exception):
    """Not saved: the conflicts need a decision (move the phrase from the other intent / confirm the
    warning). Nothing was written."""

    def __init__(self, text: str, intent: str, conflicts: Sequence[Conflict]) -> None:
        super().__init__(f"{text!r} for {intent}: " + ", ".join(f"{c.kind} {c.intent}" for c in conflicts))
        self.text = text
        self.intent = intent
        self.conflicts = list(conflicts)

    @property
    def needs_move(self) -> bool:
        return any(c.kind == "other_intent" for c in self.conflicts)


@dataclass(frozen=True)
class Checker:
    """How conflicts are checked: the served model's parser, taken at call time (the model may be swapped
    between two requests), and the confidence from which its answer counts (the fallback threshold: at or
    above it the bot answers with that intent). No parser: only the other-intent check runs."""

    parser: IntentParser | None = None
    threshold: float = 0.8


class Served(Protocol):
    """What answers citizens now (bot/runtime.py's Runtime): its parser and its model. Read at the moment of
    use, never kept, since another engineer's swap (Runtime.use_model) replaces both while the bot runs."""

    @property
    def nlu(self) -> IntentParser: ...

    @property
    def model(self) -> IntentModel: ...


def checker_of(served: Served, threshold: float) -> Checker:
    """The conflict check against the model serving right now."""
    return Checker(served.nlu, threshold)


# ---- audit ----------------------------------------------------------------------------------------------
async def audit(tx: Tx, now: datetime, actor_id: int | None, action: str, subject: str, detail: dict[str, Any]) -> None:
    """One line in `audit_log`, written like bot/booking/audit.py writes it, in the transaction of the change.
    `detail` holds the phrase before/after: training text (already free of personal data), not a citizen's
    message as typed."""
    await tx.execute(
        "INSERT INTO audit_log (created_at, actor_id, action, subject, detail)"
        " VALUES (:now, :actor, :action, :subject, :detail)",
        now=now,
        actor=actor_id,
        action=action[:40],
        subject=subject[:80],
        detail=json.dumps(detail, ensure_ascii=False, default=str),
    )


def _snapshot(row: PhraseRow) -> dict[str, Any]:
    return {"intent": row["intent"], "language": row["language"], "text": row["text"], "file": row["file"]}


# ---- seeding ------------------------------------------------------------------------------------------
def relative_file(path: Path, roots: Sequence[Path]) -> str:
    """The file's path as it is exported: relative to the data folder it was found in ("da/jobnet.yml")."""
    resolved = path.resolve()
    for root in roots:
        try:
            return resolved.relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
    parent = path.parent.name
    return f"{parent}/{path.name}" if parent in LANGUAGE_DIRS else path.name


async def ensure_seeded(tx: Tx, data_paths: Iterable[str | Path], now: datetime) -> int:
    """Fill an empty table from the Rasa YAML in `data_paths` (files or folders); the number of phrases
    inserted (0 when there were phrases already). Safe when two processes start at once: on PostgreSQL an
    advisory lock makes the second wait and then find the table full; on SQLite the write lock does, and
    ON CONFLICT DO NOTHING keeps a phrase once either way."""
    if tx.dialect == "postgresql":
        await tx.execute("SELECT pg_advisory_xact_lock(:key)", key=SEED_LOCK)
    if (await tx.fetch("SELECT id FROM nlu_phrases LIMIT 1")) != []:
        return 0
    paths = [Path(p) for p in data_paths]
    roots = [p for p in paths if p.is_dir()]
    rows: list[dict[str, Any]] = []
    for path in yaml_files(paths):
        data = load_training_data([path])
        file = relative_file(path, roots)
        for example in data.examples:
            text = clean(example.text)
            if not text:
                continue
            language = example.language if example.language in LANGUAGES else detect_language(text)
            rows.append({"intent": example.intent, "language": language, "text": text, "file": file})
    return await _insert_many(tx, rows, "seed", None, now)


async def _insert_many(tx: Tx, rows: Sequence[dict[str, Any]], source: str, actor_id: int | None, now: datetime) -> int:
    inserted = 0
    for start in range(0, len(rows), _BATCH):
        batch = rows[start : start + _BATCH]
        values: list[str] = []
        params: dict[str, Any] = {"source": source, "actor": actor_id, "now": now}
        for i, row in enumerate(batch):
            values.append(f"(:i{i}, :l{i}, :t{i}, :f{i}, :source, :p{i}, :actor, :now, :now)")
            params |= {f"i{i}": row["intent"], f"l{i}": row["language"], f"t{i}": row["text"],
                       f"f{i}": fold(row["text"]), f"p{i}": row["file"]}  # fmt: skip
        inserted += await tx.execute(
            "INSERT INTO nlu_phrases (intent, language, text, folded, source, file, created_by, created_at,"
            f" updated_at) VALUES {', '.join(values)} ON CONFLICT DO NOTHING",
            **params,
        )
    return inserted


# ---- what training reads -------------------------------------------------------------------------------
async def examples(tx: Tx) -> list[Example]:
    """Every phrase as the trainer's `Example` (source = the file it exports to, line = its id), in id
    order: the same table gives the same list, so the same model."""
    rows = await tx.fetch("SELECT id, intent, language, text, file FROM nlu_phrases ORDER BY id")
    return [Example(r["text"], r["intent"], r["file"] or "console", int(r["id"]), r["language"]) for r in rows]


async def training_examples(tx: Tx, language: str | None = None) -> list[tuple[str, str]]:
    """(text, intent) pairs of the working copy (of one language when given), in id order."""
    return [(e.text, e.intent) for e in await examples(tx) if language is None or e.language == language]


def data_hash(pairs: Iterable[tuple[str, str]]) -> str:
    """A fingerprint of training data, to tell whether a model was trained on exactly this."""
    digest = hashlib.sha256()
    for text, intent in pairs:
        digest.update(f"{intent}\t{text}\n".encode())
    return digest.hexdigest()


# ---- reading ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IntentCount:
    intent: str
    da: int
    en: int
    description: str = ""

    @property
    def total(self) -> int:
        return self.da + self.en


async def intent_counts(tx: Tx, q: str = "") -> list[IntentCount]:
    """Every intent (the catalogue's, out of scope, and any other in the table) with its phrases per language;
    with `q`, only intents whose name, description or phrases contain it."""
    rows = await tx.fetch("SELECT intent, language, COUNT(*) AS n FROM nlu_phrases GROUP BY intent, language")
    counts: dict[str, dict[str, int]] = {}
    for r in rows:
        counts.setdefault(r["intent"], {})[r["language"]] = int(r["n"])
    described = catalogue()
    names = list(described) + sorted(set(counts) - set(described))
    if q:
        needle = fold(q.strip())
        found = await tx.fetch(
            "SELECT DISTINCT intent FROM nlu_phrases WHERE folded LIKE :like ESCAPE '\\'", like=_like(needle)
        )
        hits = {r["intent"] for r in found}
        names = [n for n in names if n in hits or needle in fold(n) or needle in fold(described.get(n, ""))]
    return [IntentCount(n, counts.get(n, {}).get("da", 0), counts.get(n, {}).get("en", 0), described.get(n, ""))
            for n in names]  # fmt: skip


def known_intents(extra: Iterable[str] = ()) -> set[str]:
    """The intents a phrase may be given to: the catalogue's and the out-of-scope labels."""
    return set(catalogue()) | set(OUT_OF_SCOPE_LABELS) | set(extra)


def _like(needle: str) -> str:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search(
    tx: Tx,
    intent: str | None = None,
    language: str | None = None,
    q: str | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
) -> tuple[list[PhraseRow], int]:
    """A page of phrases (newest last, as they are exported) and how many match in all. `q` matches the
    folded text, so "faa" finds "få"."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if intent:
        where.append("intent = :intent")
        params["intent"] = intent
    if language:
        where.append("language = :language")
        params["language"] = language
    if q and q.strip():
        where.append("folded LIKE :like ESCAPE '\\'")
        params["like"] = _like(fold(q.strip()))
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    total = int((await tx.fetch(f"SELECT COUNT(*) AS n FROM nlu_phrases {clause}", **params))[0]["n"])
    rows = await tx.fetch(
        f"SELECT {_COLUMNS} FROM nlu_phrases {clause} ORDER BY id LIMIT :limit OFFSET :offset",
        **params,
        limit=max(1, min(limit, 500)),
        offset=max(0, offset),
    )
    return [cast(PhraseRow, r) for r in rows], total


async def get(tx: Tx, phrase_id: int) -> PhraseRow | None:
    rows = await tx.fetch(f"SELECT {_COLUMNS} FROM nlu_phrases WHERE id = :id", id=phrase_id)
    return cast(PhraseRow, rows[0]) if rows else None


# ---- checking ---------------------------------------------------------------------------------------------
def clean(text: str) -> str:
    """One line, single spaces, no entity markup: the form a phrase is kept and exported in."""
    return " ".join(strip_entity_markup(text).split())


def validate(text: str, intent: str, language: str, intents: Iterable[str] = ()) -> str:
    """The cleaned text, or PhraseError."""
    cleaned = clean(text)
    if not cleaned:
        raise PhraseError("empty", "The phrase is empty.")
    if len(cleaned) > MAX_TEXT:
        raise PhraseError("too_long", f"A phrase is at most {MAX_TEXT} characters.")
    if holds_personal(cleaned):
        raise PhraseError("personal", "The phrase holds personal data (a CPR number, code, phone number or e-mail).")
    if language not in LANGUAGES:
        raise PhraseError("language", 'The language must be "da" or "en".')
    if intent not in known_intents(intents):
        raise PhraseError("intent", f"Unknown intent: {intent}.")
    return cleaned


async def conflicts(tx: Tx, intent: str, text: str, checker: Checker, exclude_id: int | None = None) -> list[Conflict]:
    """What stands against `text` as a phrase of `intent` (see the module's docstring); [] when nothing."""
    found: list[Conflict] = []
    rows = await tx.fetch(
        "SELECT id, intent FROM nlu_phrases WHERE folded = :folded AND intent <> :intent ORDER BY id",
        folded=fold(text),
        intent=intent,
    )
    found += [Conflict("other_intent", r["intent"], None, int(r["id"])) for r in rows if r["id"] != exclude_id]
    if checker.parser is not None and intent not in OUT_OF_SCOPE_LABELS | {FALLBACK_INTENT}:
        parsed = await checker.parser.parse(text)
        top = parsed.get("intent_ranking") or [parsed.get("intent") or {}]
        best = top[0] if top else {}
        name, confidence = str(best.get("name", "")), float(best.get("confidence") or 0.0)
        if name and name != intent and name != FALLBACK_INTENT and confidence >= checker.threshold:
            found.append(Conflict("model", name, round(confidence, 4)))
    return found


async def default_file(tx: Tx, intent: str, language: str) -> str:
    """Where a new phrase is exported: the file that holds most of the intent's phrases in that language;
    else the same file in the language's folder as the other language's; else `<language>/console.yml`."""
    rows = await tx.fetch(
        "SELECT file, language, COUNT(*) AS n FROM nlu_phrases WHERE intent = :intent AND file IS NOT NULL"
        " GROUP BY file, language ORDER BY n DESC, file",
        intent=intent,
    )
    for r in rows:
        if r["language"] == language:
            return str(r["file"])
    for r in rows:
        head, _, rest = str(r["file"]).partition("/")
        if head in LANGUAGE_DIRS and rest:
            return f"{language}/{rest}"
    return f"{language}/console.yml"


# ---- changing ---------------------------------------------------------------------------------------------
async def add(
    tx: Tx,
    now: datetime,
    actor_id: int | None,
    intent: str,
    language: str,
    text: str,
    checker: Checker,
    *,
    source: str = "console",
    move: bool = False,
    confirm: bool = False,
) -> PhraseRow:
    """Add a phrase. PhraseError when it is not acceptable (or already a phrase of this intent);
    PhraseConflict when it needs `move` (it is another intent's phrase: moved here) or `confirm` (the model
    answers it as another intent)."""
    cleaned = validate(text, intent, language)
    if source not in SOURCES:
        raise PhraseError("source", f"Unknown source: {source}.")
    same = await tx.fetch(
        "SELECT id FROM nlu_phrases WHERE intent = :intent AND folded = :folded", intent=intent, folded=fold(cleaned)
    )
    if same:
        raise PhraseError("exists", f"{cleaned!r} is already a phrase of {intent} (#{same[0]['id']}).")
    found = await conflicts(tx, intent, cleaned, checker)
    _decide(cleaned, intent, found, move, confirm)
    for conflict in found:
        if conflict.kind == "other_intent" and conflict.phrase_id is not None:
            await delete(tx, now, actor_id, conflict.phrase_id, reason=f"moved to {intent}")
    file = await default_file(tx, intent, language)
    rows = await tx.fetch(
        "INSERT INTO nlu_phrases (intent, language, text, folded, source, file, created_by, created_at, updated_at)"
        " VALUES (:intent, :language, :text, :folded, :source, :file, :actor, :now, :now) RETURNING id",
        intent=intent,
        language=language,
        text=cleaned,
        folded=fold(cleaned),
        source=source,
        file=file,
        actor=actor_id,
        now=now,
    )
    row = await get(tx, int(rows[0]["id"]))
    assert row is not None
    detail: dict[str, Any] = {"before": None, "after": _snapshot(row), "source": source}
    if found:
        detail["conflicts"] = [c.to_dict() for c in found]
    await audit(tx, now, actor_id, "phrase_added", f"phrase:{row['id']}", detail)
    return row


def _decide(text: str, intent: str, found: Sequence[Conflict], move: bool, confirm: bool) -> None:
    needs_move = any(c.kind == "other_intent" for c in found)
    needs_confirm = any(c.kind == "model" for c in found)
    if (needs_move and not move) or (needs_confirm and not confirm):
        raise PhraseConflict(text, intent, found)


async def edit(
    tx: Tx,
    now: datetime,
    actor_id: int | None,
    phrase_id: int,
    text: str,
    checker: Checker,
    *,
    intent: str | None = None,
    language: str | None = None,
    move: bool = False,
    confirm: bool = False,
) -> PhraseRow:
    """Change a phrase's text (and its intent or language), keeping its place in its file; the same checks
    as adding."""
    before = await get(tx, phrase_id)
    if before is None:
        raise PhraseError("not_found", f"No phrase #{phrase_id}.")
    intent = intent or before["intent"]
    language = language or before["language"]
    cleaned = validate(text, intent, language, [before["intent"]])
    same = await tx.fetch(
        "SELECT id FROM nlu_phrases WHERE intent = :intent AND folded = :folded AND id <> :id",
        intent=intent,
        folded=fold(cleaned),
        id=phrase_id,
    )
    if same:
        raise PhraseError("exists", f"{cleaned!r} is already a phrase of {intent} (#{same[0]['id']}).")
    found = await conflicts(tx, intent, cleaned, checker, exclude_id=phrase_id)
    _decide(cleaned, intent, found, move, confirm)
    for conflict in found:
        if conflict.kind == "other_intent" and conflict.phrase_id is not None:
            await delete(tx, now, actor_id, conflict.phrase_id, reason=f"moved to {intent}")
    file = before["file"]
    if intent != before["intent"] or language != before["language"]:
        file = await default_file(tx, intent, language)
    await tx.execute(
        "UPDATE nlu_phrases SET intent = :intent, language = :language, text = :text, folded = :folded,"
        " file = :file, updated_at = :now WHERE id = :id",
        intent=intent,
        language=language,
        text=cleaned,
        folded=fold(cleaned),
        file=file,
        now=now,
        id=phrase_id,
    )
    after = await get(tx, phrase_id)
    assert after is not None
    detail: dict[str, Any] = {"before": _snapshot(before), "after": _snapshot(after)}
    if found:
        detail["conflicts"] = [c.to_dict() for c in found]
    await audit(tx, now, actor_id, "phrase_edited", f"phrase:{phrase_id}", detail)
    return after


async def delete(tx: Tx, now: datetime, actor_id: int | None, phrase_id: int, reason: str = "") -> PhraseRow:
    """Remove a phrase; PhraseError("not_found") when there is none."""
    before = await get(tx, phrase_id)
    if before is None:
        raise PhraseError("not_found", f"No phrase #{phrase_id}.")
    await tx.execute("DELETE FROM nlu_phrases WHERE id = :id", id=phrase_id)
    detail: dict[str, Any] = {"before": _snapshot(before), "after": None}
    if reason:
        detail["reason"] = reason
    await audit(tx, now, actor_id, "phrase_deleted", f"phrase:{phrase_id}", detail)
    return before


# ---- export -----------------------------------------------------------------------------------------------
def render_files(rows: Iterable[dict[str, Any]]) -> dict[str, str]:
    """file -> Rasa NLU YAML, in the layout of nlu_data/: per file, the intents in the order of their first
    phrase (by id), each a `|` block of `- text` lines by id. Pure and deterministic."""
    by_file: dict[str, dict[str, list[tuple[int, str]]]] = {}
    for r in sorted(rows, key=lambda r: int(r["id"])):
        file = r["file"] or f"{r['language']}/console.yml"
        by_file.setdefault(file, {}).setdefault(r["intent"], []).append((int(r["id"]), r["text"]))
    out: dict[str, str] = {}
    for file in sorted(by_file):
        lines = ['version: "3.1"', "nlu:"]
        for intent, items in by_file[file].items():  # insertion order = order of the first phrase's id
            lines += [f"- intent: {intent}", "  examples: |"]
            lines += [f"    - {text}" for _, text in items]
        out[file] = "\n".join(lines) + "\n"
    return out


async def export(tx: Tx, folder: str | Path) -> list[Path]:
    """Write the working copy to `folder` (nlu_data/) as Rasa NLU YAML; the files written. Files the table
    does not know are left alone."""
    rows = await tx.fetch("SELECT id, intent, language, text, file FROM nlu_phrases ORDER BY id")
    written: list[Path] = []
    base = Path(folder)
    for name, content in render_files(rows).items():
        path = base / name
        if not path.resolve().is_relative_to(base.resolve()):
            raise PhraseError("bad_file", f"{name}: outside {base}")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


# ---- import -----------------------------------------------------------------------------------------------
@dataclass
class ImportReport:
    """What an import did: phrases added, skipped (already there, or not acceptable: why), and conflicts
    (another intent's phrase, or the model's warning when not confirmed) left for the admin."""

    added: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"added": self.added, "skipped": self.skipped, "conflicts": self.conflicts}


async def import_yaml(
    tx: Tx,
    now: datetime,
    actor_id: int | None,
    text: str,
    checker: Checker,
    *,
    source_name: str = "import",
    language: str | None = None,
    confirm: bool = False,
) -> ImportReport:
    """Add the intent examples of a Rasa NLU YAML document with the rules of `add` (source "import"): another
    intent's phrase is never moved by an import, and the model's warnings are reported unless `confirm`.
    The language is the block's `metadata: language`, else `language`, else detected per example.
    PhraseError("bad_yaml") names the line of a malformed document."""
    try:
        data = parse_document(text, source_name, language)
    except TrainingDataError as exc:
        raise PhraseError("bad_yaml", str(exc)) from None
    if len(data.examples) > MAX_IMPORT:
        raise PhraseError("too_many", f"At most {MAX_IMPORT} examples in one import.")
    report = ImportReport()
    for example in data.examples:
        lang = example.language if example.language in LANGUAGES else detect_language(example.text)
        item = {"intent": example.intent, "language": lang, "text": clean(example.text), "line": example.line}
        try:
            row = await add(tx, now, actor_id, example.intent, lang, example.text, checker, source="import",
                            confirm=confirm)  # fmt: skip
        except PhraseError as exc:
            report.skipped.append({**item, "text": item["text"] if exc.code != "personal" else "", "why": exc.code})
        except PhraseConflict as exc:
            report.conflicts.append({**item, "conflicts": [c.to_dict() for c in exc.conflicts]})
        else:
            report.added.append({**item, "id": row["id"]})
    counts = {"added": len(report.added), "skipped": len(report.skipped), "conflicts": len(report.conflicts)}
    await audit(tx, now, actor_id, "phrases_imported", source_name[:80], counts)
    return report
