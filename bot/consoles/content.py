"""Texts edited in the admin console (`content_overrides`): a step's text or one of the bot's phrases, in
Danish and English, in place of the text in its file.

Why here: an edit is an admin's act, so it is saved the way the consoles save acts — one transaction that
checks it (exactly the checks the files get, `bot.flows.check.edit_problems`, refusing in the checker's own
words), writes it, records it in the audit log with the text before and after, and announces new content to
every bot process (`live.announce`), so the announcement exists exactly when the edit does. Each process's
watcher then applies the edits to its files' texts (bot/runtime.py). `ementor flows export` writes the
edits back into the files; then they can be cleared.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict, cast

from bot.booking import audit
from bot.core import live
from bot.core.ports import Tx
from bot.core.text import LANGUAGES, Text
from bot.flows.content import Content, Kind, Override, problems

EDITED = "content_edited"
REVERTED = "content_reverted"
CLEARED = "content_cleared"


class OverrideRow(TypedDict):
    id: int
    kind: str
    key: str
    da: str
    en: str
    updated_by: int | None
    updated_at: datetime


class Refused(ValueError):
    """An edit that may not be saved; `problems` are the checker's lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def cleaned(da: str, en: str) -> Text:
    """What a form or a JSON body sent, as a text: a browser's CR LF line ends as LF, spaces at the ends
    (and a line's end) dropped — the file's text is compared with this, not with stray whitespace."""

    def one(value: str) -> str:
        return "\n".join(line.rstrip() for line in value.replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip()

    return Text(one(da), one(en))


async def rows(tx: Tx, kind: str | None = None) -> list[OverrideRow]:
    """Every edit (of one kind), by kind and key."""
    where = "WHERE kind = :kind" if kind else ""
    found = await tx.fetch(
        f"SELECT id, kind, key, da, en, updated_by, updated_at FROM content_overrides {where} ORDER BY kind, key",
        **({"kind": kind} if kind else {}),
    )
    return [cast(OverrideRow, dict(r)) for r in found]


async def overrides(tx: Tx) -> list[Override]:
    """Every edit, as the content applies them."""
    return [Override(cast(Kind, r["kind"]), r["key"], Text(r["da"], r["en"])) for r in await rows(tx)]


async def one(tx: Tx, kind: str, key: str) -> OverrideRow | None:
    found = await tx.fetch(
        "SELECT id, kind, key, da, en, updated_by, updated_at FROM content_overrides WHERE kind = :kind AND key = :key",
        kind=kind,
        key=key,
    )
    return cast(OverrideRow, dict(found[0])) if found else None


def _plain(text: Text) -> dict[str, str]:
    return {language: getattr(text, language) for language in LANGUAGES}


async def save(tx: Tx, base: Content, now: datetime, actor_id: int | None, kind: str, key: str, text: Text) -> bool:
    """Save an edit when it passes the checks (else `Refused`); whether anything changed. A text the same as
    the file's is a revert; the same as the edit already saved changes nothing and records nothing."""
    found = problems(base, kind, key, text)
    if found:
        raise Refused(found)
    file = base.text_of(kind, key)
    assert file is not None  # problems() refuses unknown keys
    if text == file:
        return await revert(tx, base, now, actor_id, kind, key)
    current = await one(tx, kind, key)
    before = Text(current["da"], current["en"]) if current is not None else file
    if current is not None and before == text:
        return False
    await tx.execute(
        "INSERT INTO content_overrides (kind, key, da, en, updated_by, updated_at)"
        " VALUES (:kind, :key, :da, :en, :actor, :now)"
        " ON CONFLICT (kind, key) DO UPDATE SET da = :da, en = :en, updated_by = :actor, updated_at = :now",
        kind=kind,
        key=key,
        da=text.da,
        en=text.en,
        actor=actor_id,
        now=now,
    )
    detail: dict[str, Any] = {"before": _plain(before), "after": _plain(text), "file": _plain(file)}
    await audit.record(tx, now, actor_id, EDITED, f"{kind}:{key}", detail)
    await live.announce(tx, live.CONTENT, now)
    return True


async def revert(tx: Tx, base: Content, now: datetime, actor_id: int | None, kind: str, key: str) -> bool:
    """Back to the file's text; whether there was an edit to take back."""
    current = await one(tx, kind, key)
    if current is None:
        return False
    await tx.execute("DELETE FROM content_overrides WHERE id = :id", id=current["id"])
    file = base.text_of(kind, key)
    detail: dict[str, Any] = {"before": {"da": current["da"], "en": current["en"]}}
    detail["after"] = _plain(file) if file is not None else None
    await audit.record(tx, now, actor_id, REVERTED, f"{kind}:{key}", detail)
    await live.announce(tx, live.CONTENT, now)
    return True


async def clear(tx: Tx, now: datetime, actor_id: int | None, exported: list[Override]) -> int:
    """Forget the edits `ementor flows export` wrote into the files (they are the files' texts now). An edit
    changed since the export is kept: it is not in the files."""
    count = 0
    for o in exported:
        count += await tx.execute(
            "DELETE FROM content_overrides WHERE kind = :kind AND key = :key AND da = :da AND en = :en",
            kind=o.kind,
            key=o.key,
            da=o.text.da,
            en=o.text.en,
        )
    if count:
        keys = [f"{o.kind}:{o.key}" for o in exported]
        await audit.record(tx, now, actor_id, CLEARED, "content", {"exported": keys})
        await live.announce(tx, live.CONTENT, now)
    return count
