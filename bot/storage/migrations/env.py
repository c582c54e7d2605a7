"""Alembic environment: runs migrations on the async engine the bot uses."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context

from bot.storage.db import make_engine
from bot.storage.tables import metadata

config = context.config


def run_sync(connection: Any) -> None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


async def run_async() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "", config.attributes.get("schema"))
    async with engine.connect() as connection:
        await connection.run_sync(run_sync)
        await connection.commit()
    await engine.dispose()


asyncio.run(run_async())
