"""Apply Alembic migrations programmatically (`ementor db upgrade`, and `ementor run` at start-up)."""

from __future__ import annotations

import asyncio
from importlib import resources

from alembic import command
from alembic.config import Config


def alembic_config(url: str, schema: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("bot.storage").joinpath("migrations")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["schema"] = schema
    return config


def upgrade(url: str, schema: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url, schema), revision)


async def upgrade_async(url: str, schema: str | None = None) -> None:
    """Alembic's env runs its own event loop; keep it off the caller's."""
    await asyncio.to_thread(upgrade, url, schema)
