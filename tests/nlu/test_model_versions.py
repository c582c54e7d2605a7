"""Model versions in the database (bot/nlu/registry.py), on SQLite and PostgreSQL: one active at a time, the
one before retires, every activation announced to the other processes, a roll back with one call, and a
version's bytes load into the same model."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ClassifierSettings
from bot.core import live
from bot.core.statuses import ModelStatus
from bot.nlu import gate, registry
from bot.nlu.model_store import model_from_bytes
from bot.storage.store import Store

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
TINY = [
    ("jeg kan ikke logge på mitid", "mitid_login"),
    ("mitid virker ikke", "mitid_login"),
    ("login med mitid fejler", "mitid_login"),
    ("hvordan laver jeg en pdf", "make_pdf"),
    ("gem som pdf", "make_pdf"),
    ("lav mit cv om til pdf", "make_pdf"),
    ("hvad bliver vejret i morgen", "out_of_scope"),
    ("hvem vandt fodboldkampen", "out_of_scope"),
]


def tiny_blob(extra: list[tuple[str, str]] | None = None) -> bytes:
    blob, _ = gate.train_blob(TINY + (extra or []), ClassifierSettings())
    return blob


async def save(store: Store, blob: bytes, passed: bool = True, at: datetime = NOW) -> int:
    metrics = {"gate": {"passed": passed, "checks": []}, "examples": len(TINY)}
    return await store.transaction(lambda tx: registry.save_version(tx, blob, metrics, TINY, at, None))


async def statuses(store: Store) -> dict[int, str]:
    return {r["id"]: r["status"] for r in await store.transaction(registry.versions)}


async def test_activating_retires_the_one_before_announces_it_and_rolls_back(store: Store) -> None:
    blob = tiny_blob()
    first, second = await save(store, blob), await save(store, blob)
    assert await store.transaction(registry.active) is None  # the model file answers until one is activated
    assert await statuses(store) == {first: "candidate", second: "candidate"}

    await store.transaction(lambda tx: registry.activate(tx, first, NOW, 7))
    assert await statuses(store) == {first: "active", second: "candidate"}
    assert (await store.transaction(live.versions))[live.MODEL] == 1

    later = NOW + timedelta(minutes=5)
    activated = await store.transaction(lambda tx: registry.activate(tx, second, later, 7))
    assert activated["status"] == ModelStatus.ACTIVE and activated["activated_at"] == later
    assert await statuses(store) == {first: "retired", second: "active"}
    assert (await store.transaction(live.versions))[live.MODEL] == 2
    # activating the active one again changes nothing and tells nobody
    await store.transaction(lambda tx: registry.activate(tx, second, later, 7))
    assert (await store.transaction(live.versions))[live.MODEL] == 2

    back = await store.transaction(lambda tx: registry.roll_back(tx, later + timedelta(minutes=1), 7))
    assert back["id"] == first
    assert await statuses(store) == {first: "active", second: "retired"}
    found = await store.transaction(registry.active_blob)
    assert found is not None and found == (first, blob)
    assert await store.transaction(lambda tx: registry.snapshot(tx, first)) == TINY


async def test_a_version_loads_into_the_model_it_was(store: Store) -> None:
    blob = tiny_blob()
    model_id = await save(store, blob)
    stored = await store.transaction(lambda tx: registry.blob_of(tx, model_id))
    assert stored is not None
    loaded = registry.load_version(stored, model_id)
    original = model_from_bytes(blob)
    for text in ("mitid driller", "pdf af mit cv", "fodbold i aften"):
        assert loaded.predict(text).intent == original.predict(text).intent
    assert loaded.metadata["version"] == model_id


async def test_activations_at_the_same_moment_leave_exactly_one_active(store: Store) -> None:
    blob = tiny_blob()
    ids = [await save(store, blob) for _ in range(4)]
    await asyncio.gather(*(store.transaction(lambda tx, i=i: registry.activate(tx, i, NOW, None)) for i in ids))
    assert list((await statuses(store)).values()).count("active") == 1


async def test_a_version_the_gate_held_back_needs_a_reason(store: Store) -> None:
    held = await save(store, tiny_blob(), passed=False)
    with pytest.raises(registry.RegistryError, match="reason"):
        await store.transaction(lambda tx: registry.activate(tx, held, NOW, 7, "   "))
    assert await store.transaction(registry.active) is None
    row = await store.transaction(lambda tx: registry.activate(tx, held, NOW, 7, "Ny emne om Kørekort-appen"))
    assert row["status"] == "active" and row["override_reason"] == "Ny emne om Kørekort-appen"
    assert row["activated_by"] == 7


async def test_unknown_versions_and_a_roll_back_with_nothing_before(store: Store) -> None:
    with pytest.raises(registry.RegistryError):
        await store.transaction(lambda tx: registry.activate(tx, 999, NOW, None))
    only = await save(store, tiny_blob())
    await store.transaction(lambda tx: registry.activate(tx, only, NOW, None))
    with pytest.raises(registry.RegistryError, match="no earlier version"):
        await store.transaction(lambda tx: registry.roll_back(tx, NOW, None))
