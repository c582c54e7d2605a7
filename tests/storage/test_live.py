"""Live versions: a change announced in one transaction reaches every process's watcher once (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.core import live
from bot.nlu.classifier import IntentModel
from bot.runtime import build_runtime
from bot.storage.store import Store
from tests.conftest import app_settings

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


async def test_announcements_count_up_even_at_the_same_moment(store: Store) -> None:
    assert await store.transaction(live.versions) == {}
    results = await asyncio.gather(
        *(store.transaction(lambda tx: live.announce(tx, live.MODEL, NOW)) for _ in range(5))
    )
    assert sorted(results) == [1, 2, 3, 4, 5]
    assert await store.transaction(live.versions) == {live.MODEL: 5}


async def test_the_watcher_reloads_once_per_version_and_retries_a_failure(
    project_model: IntentModel, store: Store
) -> None:
    runtime = build_runtime(app_settings(), project_model, store)
    calls: list[str] = []
    fail = [True]

    async def reload() -> None:
        calls.append("model")
        if fail[0]:
            fail[0] = False
            raise RuntimeError("blob unreadable")

    runtime.on_live[live.MODEL] = reload
    await store.transaction(lambda tx: live.announce(tx, live.MODEL, NOW))
    await store.transaction(lambda tx: live.announce(tx, "something_else", NOW))  # nobody here reloads that

    async def tick() -> None:
        await store.transaction(lambda tx: runtime.watch_live(tx, NOW))
        await asyncio.sleep(0.05)

    await tick()  # fails: the previous model keeps answering, and the next tick tries again
    await tick()
    await tick()  # nothing new: no reload
    assert calls == ["model", "model"]
    await store.transaction(lambda tx: live.announce(tx, live.MODEL, NOW))
    await tick()
    assert calls == ["model", "model", "model"]
    await runtime.close()
