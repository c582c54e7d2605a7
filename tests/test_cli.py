"""The `ementor nlu` commands, run as a user would: files in, reports and models out."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.nlu.catalogue import catalogue
from bot.nlu.model_store import read_metadata
from bot.nlu.training_data import load_training_data
from tests.conftest import ROOT

TRAIN = """\
version: "3.1"
nlu:
- intent: criminal_record
  examples: |
    - hvordan bestiller jeg straffeattest
    - straffeattest politi
    - criminal record certificate
    - bestil straffe attest
- intent: rejseplanen
  examples: |
    - hvordan kommer jeg til roskilde med tog
    - rejseplanen app
    - which bus to the interview
    - hvilken bus skal jeg tage
- intent: out_of_scope
  examples: |
    - hvad bliver vejret
    - tell me a joke
    - hvem vandt kampen
"""

TEST = """\
version: "3.1"
nlu:
- intent: criminal_record
  examples: |
    - straffeattest bestilling
- intent: rejseplanen
  examples: |
    - tog til roskilde
- intent: nlu_fallback
  examples: |
    - vejret i morgen
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "nlu.yml").write_text(TRAIN, encoding="utf-8")
    (tmp_path / "test.yml").write_text(TEST, encoding="utf-8")
    (tmp_path / "config.yml").write_text("version: 1\nnlu:\n  data: data\n  model: models/m.npz\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("EMENTOR_")]:
        monkeypatch.delenv(name)
    return tmp_path


def test_train_writes_the_active_model_with_metadata(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nlu", "train"]) == 0
    assert "trained 2 intents on 11 examples (3 out of scope" in capsys.readouterr().out
    meta = read_metadata(project / "models" / "m.npz")
    assert meta["intents"] == ["criminal_record", "rejseplanen"]
    assert len(meta["data_hash"]) == 16 and meta["trained_at"]
    assert meta["metrics"]["train_accuracy"] == 1.0


def test_train_accepts_several_files_and_an_output(project: Path) -> None:
    extra = project / "extra.yml"
    extra.write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hej\n    - hello\n', "utf-8")
    assert main(["nlu", "train", "--nlu", "data", "--nlu", str(extra), "--out", "other.npz"]) == 0
    assert read_metadata(project / "other.npz")["intents"] == ["criminal_record", "greet", "rejseplanen"]


def test_test_writes_rasa_reports(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["nlu", "train"])
    assert main(["nlu", "test", "--nlu", "test.yml", "--out", "res"]) == 0
    out = capsys.readouterr().out
    assert "in-scope accuracy:" in out and "out-of-scope recall:" in out
    report = json.loads((project / "res" / "intent_report.json").read_text("utf-8"))
    assert {"accuracy", "macro avg", "weighted avg", "criminal_record", "nlu_fallback"} <= set(report)
    assert {"precision", "recall", "f1-score", "support", "confused_with"} <= set(report["rejseplanen"])
    assert isinstance(json.loads((project / "res" / "intent_errors.json").read_text("utf-8")), list)
    assert (project / "res" / "intent_confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"


def test_test_trains_the_active_model_when_missing(project: Path) -> None:
    assert main(["nlu", "test", "--nlu", "test.yml", "--out", "res"]) == 0
    assert (project / "models" / "m.npz").exists()


def test_parse_prints_rasa_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["nlu", "train"])
    capsys.readouterr()
    assert main(["nlu", "parse", "straffeattest"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["intent"]["name"] == "criminal_record"


def test_cross_validate(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nlu", "cross-validate", "--folds", "3", "--out", "cv"]) == 0
    assert "3-fold cross-validation" in capsys.readouterr().out
    assert (project / "cv" / "intent_report.json").exists()


def test_export_rasa_writes_a_project_rasa_can_train(project: Path) -> None:
    assert main(["nlu", "export-rasa", "rasa"]) == 0
    config = yaml.safe_load((project / "rasa" / "config.yml").read_text("utf-8"))
    domain = yaml.safe_load((project / "rasa" / "domain.yml").read_text("utf-8"))
    names = [step["name"] for step in config["pipeline"]]
    assert names[-1] == "FallbackClassifier" and "DIETClassifier" in names
    assert domain["intents"] == ["criminal_record", "out_of_scope", "rejseplanen"]
    exported = load_training_data([project / "rasa" / "data" / "nlu.yml"])  # our reader is Rasa's format
    original = load_training_data([project / "data"])
    assert sorted(e.text for e in exported.examples) == sorted(e.text for e in original.examples)


def test_bad_training_file_stops_with_file_and_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "data" / "broken.yml").write_text('version: "3.1"\nnlu:\n- intent: x\n  exmples: |\n', "utf-8")
    assert main(["nlu", "train"]) == 2
    assert "broken.yml:4: unknown key `exmples`" in capsys.readouterr().err


def test_project_data_exports(tmp_path: Path) -> None:
    assert (
        main(
            ["--config", str(ROOT / "config.yml"), "nlu", "export-rasa", str(tmp_path), "--nlu", str(ROOT / "nlu_data")]
        )
        == 0
    )
    assert len(yaml.safe_load((tmp_path / "domain.yml").read_text("utf-8"))["intents"]) == len(catalogue()) + 1
