"""Shared fixtures: the project's trained model (trained once per test session, in about 2 s)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import ClassifierSettings, ConversationSettings, Settings
from bot.nlu.classifier import IntentModel
from bot.nlu.trainer import train_from_files
from bot.storage.migrate import upgrade_async
from bot.storage.store import Store
from tests.channels.fake_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parent.parent
NLU_DATA = ROOT / "nlu_data"
DEV_SET = ROOT / "nlu_eval" / "dev.yml"
NEW_TOPICS_SET = ROOT / "nlu_eval" / "new_topics.yml"  # the ten intents added in issue 10, written apart


@pytest.fixture(scope="session")
def project_model() -> IntentModel:
    return train_from_files([NLU_DATA], ClassifierSettings())


# ---- storage: every storage test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set ----


DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def app_settings() -> Settings:
    return Settings(conversation=ConversationSettings(flows=str(ROOT / "flows")))


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[tuple[str, str]]:
    """(url, schema): a fresh, migrated schema of its own on TEST_DATABASE_URL, dropped afterwards."""
    url = os.environ["TEST_DATABASE_URL"]
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        await upgrade_async(url, schema)
        yield url, schema
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[str, str | None]]:
    """(url, schema) of a fresh, migrated database; PostgreSQL gets a schema of its own, dropped after."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        await upgrade_async(url)
        yield url, None
        return
    async with postgres_schema() as (url, schema):
        yield url, schema


@pytest.fixture
async def store(database: tuple[str, str | None]) -> AsyncIterator[Store]:
    url, schema = database
    store = Store(url, schema)
    yield store
    await store.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    """A fake Telegram Bot API server that records the bot's calls."""
    async with FakeBotApi() as api:
        yield api


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database" in metafunc.fixturenames:
        metafunc.parametrize("database", DATABASES, indirect=True)
