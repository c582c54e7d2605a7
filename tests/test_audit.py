"""`make audit` (tools/audit.py) never fails a build over a network it cannot see: one line, exit 0."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import ROOT


def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit", ROOT / "tools" / "audit.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lock_file_pins_every_dependency() -> None:
    lines = [line for line in (ROOT / "requirements.lock").read_text().splitlines() if not line.startswith("#")]
    names = {line.split("==")[0].lower() for line in lines}
    assert all("==" in line for line in lines)
    assert {"aiohttp", "sqlalchemy", "python-socketio", "asyncpg"} <= names


def test_without_pip_audit_one_line_and_success(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    tool = audit()
    monkeypatch.setattr(tool.importlib.util, "find_spec", lambda name: None)
    assert tool.main() == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "pip-audit is not installed" in out


def test_without_the_advisory_service_one_line_and_success(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    tool = audit()
    monkeypatch.setattr(tool.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(tool, "SERVICE", "https://127.0.0.1:9/unreachable")
    ran: list[Any] = []
    monkeypatch.setattr(tool.subprocess, "run", lambda *a, **k: ran.append(a))
    assert tool.main() == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "cannot be reached" in out
    assert ran == []  # pip-audit was not started


def test_with_the_service_pip_audits_verdict_stands(monkeypatch: pytest.MonkeyPatch) -> None:
    tool = audit()
    monkeypatch.setattr(tool.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(tool, "reachable", lambda: True)
    calls: list[list[str]] = []

    class Done:
        returncode = 1  # a vulnerability found

    def run(command: list[str], check: bool) -> Done:
        calls.append(command)
        return Done()

    monkeypatch.setattr(tool.subprocess, "run", run)
    assert tool.main() == 1
    assert calls == [[sys.executable, "-m", "pip_audit", "--requirement", str(tool.LOCK), "--no-deps", "--disable-pip"]]
