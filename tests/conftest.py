"""Shared fixtures: the project's trained model (trained once per test session, in about 2 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ClassifierSettings
from bot.nlu.classifier import IntentModel
from bot.nlu.trainer import train_from_files

ROOT = Path(__file__).resolve().parent.parent
NLU_DATA = ROOT / "nlu_data"
DEV_SET = ROOT / "nlu_eval" / "dev.yml"


@pytest.fixture(scope="session")
def project_model() -> IntentModel:
    return train_from_files([NLU_DATA], ClassifierSettings())
