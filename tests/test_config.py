"""Settings: config.yml plus EMENTOR_* overrides; a wrong setting is one clear line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings
from tests.conftest import ROOT


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_project_config_loads_with_defaults() -> None:
    settings = load_settings(ROOT / "config.yml", environ={})
    assert settings.server.port == 8080
    assert settings.database.url.startswith("sqlite")
    assert settings.nlu.backend == "builtin"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nnlu:\n  fallback:\n    threshold: 0.4\n")
    env = {"EMENTOR_DATABASE_URL": "postgresql+asyncpg://db/x", "EMENTOR_NLU_FALLBACK_THRESHOLD": "0.6"}
    settings = load_settings(path, environ=env)
    assert settings.database.url == "postgresql+asyncpg://db/x"
    assert settings.nlu.fallback.threshold == 0.6


def test_secret_comes_from_the_environment_only(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "version: 1\n"), {"EMENTOR_TELEGRAM_TOKEN": "t"}).telegram_token == "t"
    with pytest.raises(ConfigError, match="telegram_token: secrets come from the environment only"):
        load_settings(write(tmp_path, "version: 1\ntelegram_token: abc\n"), environ={})


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("version: 1\nserver:\n  port: eighty\n", {}, "server.port: must be a whole number"),
        ("version: 1\nserver:\n  port: 70000\n", {}, "server.port: must be between 1 and 65535"),
        ("version: 1\nnlu:\n  backend: spacy\n", {}, "nlu.backend: must be one of builtin, rasa"),
        ("version: 1\nnlu:\n  treshold: 0.3\n", {}, "nlu.treshold: unknown setting"),
        ("version: 1\n", {"EMENTOR_NLU_FALLBACK_THRESHOLD": "high"}, "nlu.fallback.threshold: must be a number"),
        ("version: 1\n", {"EMENTOR_DATABSE_URL": "x"}, "EMENTOR_DATABSE_URL: unknown setting"),
        ("version: 2\n", {}, "version: this bot reads config version 1"),
        ("version: 1\nserver: [\n", {}, "config.yml:3: not valid YAML"),
    ],
)
def test_wrong_settings_are_named(tmp_path: Path, text: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_settings(write(tmp_path, text), environ=env)


def test_cli_stops_with_one_line_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EMENTOR_SERVER_PORT", "-1")
    assert main(["--config", str(ROOT / "config.yml"), "nlu", "parse", "hej"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["config error: server.port: must be between 1 and 65535 (got '-1' from EMENTOR_SERVER_PORT)"]


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nnlu:\n  data: data\ndatabase:\n  url: sqlite+aiosqlite:///var/x.db\n")
    settings = load_settings(path, environ={})
    assert settings.nlu.data == str(tmp_path / "data")
    assert settings.database.url == f"sqlite+aiosqlite:///{tmp_path / 'var' / 'x.db'}"
