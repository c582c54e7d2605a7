"""The dispatcher and store around the engine: inactivity timeout, database hiccups, payload parsing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.app import build_engine
from bot.core.dispatcher import Dispatcher, clean_text
from bot.core.messages import Inbound
from bot.core.payloads import format_payload, parse_payload
from bot.core.privacy import find_secret
from bot.nlu.backends import BuiltinBackend
from bot.nlu.classifier import IntentModel, Thresholds
from bot.storage import store as store_module
from bot.storage.store import StorageUnavailable, Store
from tests.conftest import app_settings


def dispatcher(model: IntentModel, store: Store, timeout: timedelta = timedelta(minutes=30)) -> Dispatcher:
    base = app_settings()
    minutes = int(timeout.total_seconds() // 60)
    settings = replace(base, conversation=replace(base.conversation, session_timeout_minutes=minutes))
    return Dispatcher(build_engine(settings), BuiltinBackend(model, Thresholds()), store, settings)


async def test_inactive_conversation_starts_afresh(project_model: IntentModel, store: Store) -> None:
    bot = dispatcher(project_model, store, timeout=timedelta(0))
    await bot.handle(Inbound("rest", "ole", "hvordan bestiller jeg straffeattest"))
    replies = await bot.handle(Inbound("rest", "ole", "ja"))
    assert replies is not None and replies[0].text == "Velkommen tilbage."
    assert (await store.recent_turns("rest", "ole"))[-1]["flow"] is None


async def test_database_hiccup_is_retried(
    project_model: IntentModel, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = store._path.run
    failures = {"left": 2}

    async def flaky(*args: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        return await real(*args)

    monkeypatch.setattr(store._path, "run", flaky)
    monkeypatch.setattr(store_module, "RETRY_DELAYS", (0.01, 0.01, 0.01))
    replies = await dispatcher(project_model, store).handle(Inbound("rest", "per", "hej"))
    assert replies and failures["left"] == 0
    assert len(await store.recent_turns("rest", "per")) == 1


async def test_database_away_for_good_raises(
    project_model: IntentModel, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(*args: Any) -> Any:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(store._path, "run", down)
    monkeypatch.setattr(store_module, "RETRY_DELAYS", (0.01,))
    with pytest.raises(StorageUnavailable):
        await dispatcher(project_model, store).handle(Inbound("rest", "kim", "hej"))


def test_payloads_round_trip_and_forgeries_are_text() -> None:
    payload = format_payload("choose", step="pdf_convert.where", to="iphone")
    assert parse_payload(payload) == ("choose", {"step": "pdf_convert.where", "to": "iphone"})
    assert parse_payload("/affirm") == ("affirm", {})
    for forged in ['/choose{"step": ["x"]}', "/choose{not json}", "/", "/" + "a" * 100, "hej /affirm"]:
        assert parse_payload(forged) is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("mit cpr er 010190-1234", "cpr"),
        ("0101901234", "cpr"),
        ("min kode er hemmelig123", "password"),
        ("my password is hunter22", "password"),
        ("jeg har glemt min kode", None),
        ("ring 12345678", None),
    ],
)
def test_secrets_are_spotted(text: str, kind: str | None) -> None:
    assert find_secret(text) == kind


def test_clean_text_drops_control_characters_and_caps_length() -> None:
    assert clean_text("\x00hej\x1b[31m \ud800") == "hej [31m"
    assert len(clean_text("a" * 100_000)) == 4000
