"""The `ConversationStore` and `PayloadTable` contract, run against every implementation: the in-memory
store, SQLite and PostgreSQL (when TEST_DATABASE_URL is set). The same test, the same expectations."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core.memory import MemoryStore
from bot.core.ports import ConversationStore, Replay, StorageUnavailable, Stored, TurnRecord, Tx
from bot.storage import store as store_module
from bot.storage.migrate import upgrade_async
from bot.storage.store import Store
from tests.conftest import postgres_schema

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
KINDS = ["memory", "sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@asynccontextmanager
async def opened(kind: str, tmp_path: Path) -> AsyncIterator[ConversationStore]:
    if kind == "memory":
        yield MemoryStore()
        return
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'contract.db'}"
        await upgrade_async(url)
        store = Store(url)
        yield store
        await store.close()
        return
    async with postgres_schema() as (url, schema):
        store = Store(url, schema)
        yield store
        await store.close()


@pytest.fixture(params=KINDS)
async def contract_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ConversationStore]:
    async with opened(request.param, tmp_path) as store:
        yield store


def record(text: str = "hej", outcome: str = "started") -> TurnRecord:
    return TurnRecord(text, "da", "greet", 0.9, "flow", "step", outcome, 1, reply="first reply")


def writes(state: Mapping[str, Any], text: str = "hej") -> Any:
    async def turn(stored: Stored, tx: Tx) -> tuple[Mapping[str, Any], TurnRecord, Stored]:
        return state, record(text), stored

    return turn


async def test_a_new_conversation_starts_empty_and_keeps_what_a_turn_saves(contract_store: ConversationStore) -> None:
    first = await contract_store.turn("rest", "a", None, writes({"step": "one"}), NOW)
    assert first == Stored({}, None)
    second = await contract_store.turn("rest", "a", None, writes({"step": "two"}), NOW + timedelta(minutes=1))
    assert second is not None and dict(second.state) == {"step": "one"} and second.updated_at == NOW
    other = await contract_store.turn("rest", "b", None, writes({}), NOW)
    assert other == Stored({}, None)  # another sender's conversation is its own
    telegram = await contract_store.turn("telegram", "a", None, writes({}), NOW)
    assert telegram == Stored({}, None)  # and so is the same sender id on another channel


async def test_a_repeated_message_id_runs_no_turn(contract_store: ConversationStore) -> None:
    assert await contract_store.turn("telegram", "1", "m1", writes({"n": 1}), NOW) is not None
    assert await contract_store.turn("telegram", "1", "m1", writes({"n": 2}), NOW) == Replay("first reply")
    again = await contract_store.turn("telegram", "1", "m2", writes({"n": 3}), NOW)
    assert again is not None and dict(again.state) == {"n": 1}
    assert len(await contract_store.recent_turns("telegram", "1")) == 2


async def test_a_kept_reply_goes_back_only_to_its_own_sender(contract_store: ConversationStore) -> None:
    await contract_store.turn("rest", "ann", "same-id", writes({"n": 1}), NOW)
    assert await contract_store.turn("rest", "bo", "same-id", writes({"n": 2}), NOW) == Replay(None)
    assert await contract_store.recent_turns("rest", "bo") == []


async def test_a_repeat_sent_while_the_first_is_answered_gets_its_reply(contract_store: ConversationStore) -> None:
    async def slow(stored: Stored, tx: Tx) -> tuple[Mapping[str, Any], TurnRecord, str]:
        await asyncio.sleep(0.05)
        return {"n": 1}, record(), "answered"

    first, repeat = await asyncio.gather(
        contract_store.turn("rest", "cy", "m9", slow, NOW), contract_store.turn("rest", "cy", "m9", slow, NOW)
    )
    assert first == "answered" and repeat == Replay("first reply")


async def test_a_failing_turn_saves_nothing_and_its_message_id_can_come_again(
    contract_store: ConversationStore,
) -> None:
    await contract_store.turn("rest", "c", None, writes({"n": 1}), NOW)

    async def broken(stored: Stored, tx: Tx) -> Any:
        raise RuntimeError("broken turn")

    with pytest.raises(RuntimeError):
        await contract_store.turn("rest", "c", "retry-me", broken, NOW)
    after = await contract_store.turn("rest", "c", "retry-me", writes({"n": 2}), NOW)
    assert after is not None and dict(after.state) == {"n": 1}
    assert [t["text"] for t in await contract_store.recent_turns("rest", "c")] == ["hej", "hej"]


async def test_one_senders_turns_run_one_at_a_time_in_order(contract_store: ConversationStore) -> None:
    async def slow_increment(stored: Stored, tx: Tx) -> tuple[Mapping[str, Any], TurnRecord, int]:
        count = int(stored.state.get("count", 0))
        await asyncio.sleep(0.01)  # another turn of the same sender must wait, not read the same count
        return {"count": count + 1}, record(str(count)), count

    seen = await asyncio.gather(*(contract_store.turn("rest", "d", None, slow_increment, NOW) for _ in range(5)))
    assert sorted(s for s in seen if s is not None) == [0, 1, 2, 3, 4]
    final = await contract_store.turn("rest", "d", None, writes({}), NOW)
    assert final is not None and final.state["count"] == 5


async def test_the_turn_log_is_kept_in_order_with_its_limit(contract_store: ConversationStore) -> None:
    for n in range(4):
        await contract_store.turn("rest", "e", None, writes({}, text=f"t{n}"), NOW + timedelta(seconds=n))
    turns = await contract_store.recent_turns("rest", "e", limit=3)
    assert [t["text"] for t in turns] == ["t1", "t2", "t3"]
    assert turns[-1]["outcome"] == "started" and turns[-1]["intent"] == "greet"
    assert await contract_store.recent_turns("rest", "nobody") == []


async def test_first_delivery_is_true_once(contract_store: ConversationStore) -> None:
    assert await contract_store.first_delivery("telegram_group", "99", NOW)
    assert not await contract_store.first_delivery("telegram_group", "99", NOW)
    assert await contract_store.first_delivery("telegram_group", "100", NOW)


async def test_button_payloads_are_kept_once_under_their_key(contract_store: ConversationStore) -> None:
    table: Any = contract_store  # every store here is also a PayloadTable
    await table.save_button_payloads({"#k1": '/choose{"to":"a"}'})
    await table.save_button_payloads({"#k1": "/something else", "#k2": "/b"})
    assert await table.button_payload("#k1") == '/choose{"to":"a"}'
    assert await table.button_payload("#k2") == "/b"
    assert await table.button_payload("#nope") is None


# ---- only the database stores: a database that is briefly away is retried, then reported -----------------


@pytest.fixture(params=[k for k in KINDS if k != "memory"])
async def db_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with opened(request.param, tmp_path) as store:
        assert isinstance(store, Store)
        yield store


async def test_a_database_hiccup_is_retried(db_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    real = db_store._path.run
    failures = {"left": 2}

    async def flaky(*args: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise sqlite3.OperationalError("database is locked")
        return await real(*args)

    monkeypatch.setattr(db_store._path, "run", flaky)
    monkeypatch.setattr(store_module, "RETRY_DELAYS", (0.01, 0.01, 0.01))
    assert await db_store.turn("rest", "f", None, writes({"ok": True}), NOW) is not None
    assert failures["left"] == 0 and len(await db_store.recent_turns("rest", "f")) == 1


async def test_a_database_away_for_good_is_reported(db_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    async def down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(db_store._path, "run", down)
    monkeypatch.setattr(db_store._path, "transaction", down)
    monkeypatch.setattr(store_module, "RETRY_DELAYS", (0.01,))
    with pytest.raises(StorageUnavailable):
        await db_store.turn("rest", "g", None, writes({}), NOW)
    with pytest.raises(StorageUnavailable):
        await db_store.button_payload("#k")
