"""Model versions in the database: every trained model kept with its metrics and training data, one active.

A model that answers citizens must be the same in every bot process, survive a restart and be undone with
one click, so it lives in the database (`nlu_models`: the model file's bytes, the gate's report, the
training examples it learnt from) rather than in one process's file. Activating a version retires the one
before it and announces `live.MODEL` in the same transaction: every process's watcher (bot/runtime.py) then
loads the new active version beside the turns and swaps it in.

Until the first version is activated, the model file (`nlu.model`) answers. The first training job
registers that file model as a version of its own (bot/nlu/jobs.py), so a roll back can return to it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TypedDict, cast

from bot.core import live
from bot.core.ports import Tx
from bot.core.statuses import ModelStatus
from bot.nlu.classifier import IntentModel
from bot.nlu.model_store import model_from_bytes

_COLUMNS = "id, created_at, created_by, status, metrics, size, activated_at, activated_by, override_reason"


class RegistryError(Exception):
    """A version that does not exist, or a change that is not allowed (said in the message)."""


class ModelRow(TypedDict):
    id: int
    created_at: datetime
    created_by: int | None  # None: the file model registered by the first job
    status: str  # a ModelStatus
    metrics: dict[str, Any]  # the gate's report (bot/nlu/jobs.py)
    size: int  # bytes of the model file
    activated_at: datetime | None  # the last time it became active
    activated_by: int | None
    override_reason: str | None  # why an admin activated it although the gate said no


def _row(raw: dict[str, Any]) -> ModelRow:
    return cast(ModelRow, {**raw, "metrics": json.loads(raw["metrics"] or "{}")})


async def save_version(
    tx: Tx,
    blob: bytes,
    metrics: dict[str, Any],
    snapshot: list[tuple[str, str]],
    now: datetime,
    created_by: int | None,
) -> int:
    """Keep a trained model (the bytes of its file) as a candidate version; its id."""
    rows = await tx.fetch(
        "INSERT INTO nlu_models (created_at, created_by, status, metrics, snapshot, blob, size)"
        " VALUES (:now, :by, :status, :metrics, :snapshot, :blob, :size) RETURNING id",
        now=now,
        by=created_by,
        status=ModelStatus.CANDIDATE.value,
        metrics=json.dumps(metrics, ensure_ascii=False),
        snapshot=json.dumps([list(pair) for pair in snapshot], ensure_ascii=False),
        blob=blob,
        size=len(blob),
    )
    return int(rows[0]["id"])


async def versions(tx: Tx, limit: int = 50) -> list[ModelRow]:
    """The newest versions first, without their bytes or training data."""
    rows = await tx.fetch(f"SELECT {_COLUMNS} FROM nlu_models ORDER BY id DESC LIMIT :limit", limit=limit)
    return [_row(r) for r in rows]


async def version(tx: Tx, model_id: int) -> ModelRow | None:
    rows = await tx.fetch(f"SELECT {_COLUMNS} FROM nlu_models WHERE id = :id", id=model_id)
    return _row(rows[0]) if rows else None


async def active(tx: Tx) -> ModelRow | None:
    """The version answering citizens; None while the model file still answers."""
    rows = await tx.fetch(
        f"SELECT {_COLUMNS} FROM nlu_models WHERE status = :active ORDER BY id DESC LIMIT 1",
        active=ModelStatus.ACTIVE.value,
    )
    return _row(rows[0]) if rows else None


async def active_blob(tx: Tx) -> tuple[int, bytes] | None:
    """(id, model file bytes) of the active version, for a process to load; None: none activated yet."""
    rows = await tx.fetch(
        "SELECT id, blob FROM nlu_models WHERE status = :active ORDER BY id DESC LIMIT 1",
        active=ModelStatus.ACTIVE.value,
    )
    return (int(rows[0]["id"]), bytes(rows[0]["blob"])) if rows else None


async def blob_of(tx: Tx, model_id: int) -> bytes | None:
    rows = await tx.fetch("SELECT blob FROM nlu_models WHERE id = :id", id=model_id)
    return bytes(rows[0]["blob"]) if rows else None


async def snapshot(tx: Tx, model_id: int) -> list[tuple[str, str]]:
    """The (text, intent) examples the version learnt from (empty for the registered file model)."""
    rows = await tx.fetch("SELECT snapshot FROM nlu_models WHERE id = :id", id=model_id)
    return [(str(t), str(i)) for t, i in json.loads(rows[0]["snapshot"])] if rows else []


def gate_passed(row: ModelRow) -> bool:
    """Whether the evaluation gate let this version through (a version without a report: yes)."""
    gate = row["metrics"].get("gate")
    return bool(gate.get("passed", True)) if isinstance(gate, dict) else True


def needs_reason(row: ModelRow) -> bool:
    """Activating it needs a written reason: a candidate the gate held back. A version that answered before
    (retired) comes back without one: it was let through, or overridden with a reason, then."""
    return row["status"] == ModelStatus.CANDIDATE and not gate_passed(row)


async def activate(tx: Tx, model_id: int, now: datetime, actor_id: int | None, reason: str | None = None) -> ModelRow:
    """Make `model_id` the one active version (the one before it retires) and announce it, in `tx`.

    The announcement comes first: its row lock (PostgreSQL) or the write lock (SQLite) makes two
    activations at the same moment take turns, so there is never more than one active version.
    RegistryError when the version does not exist, or the gate held it back and no reason is given."""
    row = await version(tx, model_id)
    if row is None:
        raise RegistryError(f"model version {model_id} does not exist")
    if row["status"] == ModelStatus.ACTIVE:
        return row
    reason = (reason or "").strip() or None
    if needs_reason(row) and reason is None:
        raise RegistryError(f"model version {model_id} did not pass the evaluation gate: a reason is needed")
    await live.announce(tx, live.MODEL, now)
    await tx.execute(
        "UPDATE nlu_models SET status = :retired WHERE status = :active AND id <> :id",
        retired=ModelStatus.RETIRED.value,
        active=ModelStatus.ACTIVE.value,
        id=model_id,
    )
    await tx.execute(
        "UPDATE nlu_models SET status = :active, activated_at = :now, activated_by = :by,"
        " override_reason = COALESCE(:reason, override_reason) WHERE id = :id",
        active=ModelStatus.ACTIVE.value,
        now=now,
        by=actor_id,
        reason=reason if needs_reason(row) else None,
        id=model_id,
    )
    activated = await version(tx, model_id)
    assert activated is not None
    return activated


async def previous(tx: Tx) -> ModelRow | None:
    """The version that answered before the active one (the retired one activated last), if any."""
    rows = await tx.fetch(
        f"SELECT {_COLUMNS} FROM nlu_models WHERE status = :retired AND activated_at IS NOT NULL"
        " ORDER BY activated_at DESC, id DESC LIMIT 1",
        retired=ModelStatus.RETIRED.value,
    )
    return _row(rows[0]) if rows else None


async def roll_back(tx: Tx, now: datetime, actor_id: int | None) -> ModelRow:
    """Activate the version that answered before the active one; RegistryError when there is none."""
    before = await previous(tx)
    if before is None:
        raise RegistryError("there is no earlier version to roll back to")
    return await activate(tx, before["id"], now, actor_id)


def load_version(blob: bytes, model_id: int) -> IntentModel:
    """The model of a version's bytes (CPU: call it off the event loop, e.g. in a thread)."""
    model = model_from_bytes(blob, f"model version {model_id}")
    model.metadata["version"] = model_id
    return model
