"""`ementor nlu export` and `ementor nlu import FILE`, run as an admin would at a shell (SQLite)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.nlu.training_data import read_file
from tests.conftest import NLU_DATA

NEW = """\
version: "3.1"
nlu:
- intent: mitid_get
  examples: |
    - hvordan opretter jeg et helt nyt mitid
    - hvordan faar jeg et mitid
- intent: thanks
  examples: |
    - jeg kan ikke logge ind på jobnet med mitid
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(NLU_DATA, tmp_path / "nlu_data")
    (tmp_path / "config.yml").write_text(
        "version: 1\nnlu:\n  data: nlu_data\n  model: models/m.npz\n"
        f"database:\n  url: sqlite+aiosqlite:///{tmp_path / 'bot.db'}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("EMENTOR_")]:
        monkeypatch.delenv(name)
    return tmp_path


def test_export_of_an_unchanged_working_copy_changes_no_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nlu", "export"]) == 0
    assert "wrote 14 files" in capsys.readouterr().out
    for original in NLU_DATA.rglob("*.yml"):
        assert (project / "nlu_data" / original.relative_to(NLU_DATA)).read_bytes() == original.read_bytes()


def test_import_reports_and_export_writes_the_new_phrase(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "da").mkdir()
    (project / "da" / "new.yml").write_text(NEW, encoding="utf-8")
    assert main(["nlu", "import", "da/new.yml"]) == 0
    out = capsys.readouterr().out
    assert "added 1, skipped 1, conflicts 1" in out and "exists" in out and "model" in out
    assert main(["nlu", "export"]) == 0
    exported = read_file(project / "nlu_data" / "da" / "mitid_post.yml").examples
    assert ("hvordan opretter jeg et helt nyt mitid", "mitid_get") in {(e.text, e.intent) for e in exported}
    assert all(e.text != "jeg kan ikke logge ind på jobnet med mitid" or e.intent != "thanks" for e in exported)


def test_import_of_a_broken_file_names_the_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "bad.yml").write_text('version: "3.1"\nnlu:\n- intent: x\n  exampels: |\n', encoding="utf-8")
    assert main(["nlu", "import", "bad.yml"]) == 2
    assert "bad.yml:4" in capsys.readouterr().err
    assert main(["nlu", "import", "missing.yml"]) == 2
