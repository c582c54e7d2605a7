"""`ementor user …` run as an administrator would: logins that work, are linked to existing accounts, never
with a default password, and can be changed and stopped."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.consoles.auth import password_matches
from bot.escalation import accounts
from bot.storage.store import Store

CONFIG = """\
version: 1
database:
  url: sqlite+aiosqlite:///bot.db
"""
PASSWORD = "en-lang-adgangskode"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("EMENTOR_NEW_PASSWORD", PASSWORD)
    return path


def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args])


def stored(config: Path, username: str) -> tuple[Any, str | None]:
    async def read() -> tuple[Any, str | None]:
        store = Store(f"sqlite+aiosqlite:///{config.parent / 'bot.db'}")
        try:
            row = await store.transaction(lambda tx: accounts.by_username(tx, username))
            hashed = await store.transaction(lambda tx: accounts.password_hash_of(tx, int(row["id"]))) if row else None
            return row, hashed
        finally:
            await store.close()

    return asyncio.run(read())


def test_add_makes_a_login_that_opens_with_its_password(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "user", "add", "Ida", "--role", "admin", "--name", "Ida Holm") == 0
    out = capsys.readouterr().out
    assert "ida (admin" in out and "/login" in out and PASSWORD not in out
    row, hashed = stored(config, "ida")
    assert row is not None and row["role"] == "admin" and row["name"] == "Ida Holm"
    assert hashed is not None and hashed.startswith("$argon2") and PASSWORD not in hashed
    assert password_matches(hashed, PASSWORD) and not password_matches(hashed, PASSWORD + "x")


def test_add_links_an_existing_api_account_by_its_name(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "mentor", "add", "Anna Hansen", "--telegram-user-id", "77") == 0
    assert run(config, "user", "add", "anna", "--role", "ementor", "--name", "anna  hansen") == 0
    assert "linked to the existing eMentor account" in capsys.readouterr().out
    row, _ = stored(config, "anna")
    assert row is not None and row["id"] == 1 and row["telegram_user_id"] == 77  # one account, not two
    assert run(config, "user", "add", "anna", "--role", "admin") != 0  # the login name is taken: refused
    assert "taken" in capsys.readouterr().err


def test_no_password_no_login(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "user", "list") == 0 and "no accounts yet" in capsys.readouterr().out
    monkeypatch.delenv("EMENTOR_NEW_PASSWORD")
    assert run(config, "user", "add", "bo", "--role", "ementor") != 0  # no terminal to ask, no default
    assert "EMENTOR_NEW_PASSWORD" in capsys.readouterr().err
    monkeypatch.setenv("EMENTOR_NEW_PASSWORD", "kort")
    assert run(config, "user", "add", "bo", "--role", "ementor") != 0
    assert "at least 10 characters" in capsys.readouterr().err
    assert stored(config, "bo") == (None, None)


def test_passwd_disable_enable(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "user", "add", "bo", "--role", "ementor") == 0
    monkeypatch.setenv("EMENTOR_NEW_PASSWORD", "et-helt-nyt-kodeord")
    assert run(config, "user", "passwd", "bo") == 0
    _, hashed = stored(config, "bo")
    assert password_matches(hashed, "et-helt-nyt-kodeord") and not password_matches(hashed, PASSWORD)
    assert run(config, "user", "disable", "bo") == 0
    assert stored(config, "bo")[1] is None  # a disabled account has no password that opens anything
    assert run(config, "user", "list") == 0 and "#1  bo  bo  ementor  disabled" in capsys.readouterr().out
    assert run(config, "user", "enable", "bo") == 0
    assert stored(config, "bo")[1] is not None
    assert run(config, "user", "passwd", "nobody") != 0
