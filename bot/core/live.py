"""Live versions: how one bot process tells every other that something they serve has changed.

An admin activates a model or saves an answer text in one process; every process must serve it within
seconds, without a restart. The change bumps a counter in the `live_versions` table in the same transaction
(so it is announced exactly when it is committed); each process's watcher (bot/runtime.py) reads the
counters every few seconds and reloads what moved. On PostgreSQL a NOTIFY is sent too, for a listener that
wants to react sooner; the polling alone is enough.
"""

from __future__ import annotations

from datetime import datetime

from bot.core.ports import Tx

MODEL = "model"
CONTENT = "content"
CHANNEL = "ementor_live"


async def announce(tx: Tx, name: str, now: datetime) -> int:
    """Bump `name`'s version (one statement: two changes at once get two versions); the new version."""
    rows = await tx.fetch(
        "INSERT INTO live_versions (name, version, updated_at) VALUES (:name, 1, :now)"
        " ON CONFLICT (name) DO UPDATE SET version = live_versions.version + 1, updated_at = :now RETURNING version",
        name=name,
        now=now,
    )
    version = int(rows[0]["version"])
    if tx.dialect == "postgresql":
        await tx.execute("SELECT pg_notify(:channel, :payload)", channel=CHANNEL, payload=f"{name}:{version}")
    return version


async def versions(tx: Tx) -> dict[str, int]:
    """Every announced name and its current version."""
    return {str(r["name"]): int(r["version"]) for r in await tx.fetch("SELECT name, version FROM live_versions")}
