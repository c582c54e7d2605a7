"""The intent catalogue: the intents the bot promises to recognise (`catalogue.yml`)."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml


@cache
def catalogue() -> dict[str, str]:
    """Intent name -> what the citizen wants, in catalogue order."""
    raw = yaml.safe_load(resources.files("bot.nlu").joinpath("catalogue.yml").read_text("utf-8"))
    return {str(name): str(text) for name, text in raw["intents"].items()}
