"""The bot's own phrases around the flows (`flows/ui/texts.yml`): buttons, fallbacks, menu, commands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.core.text import Text
from bot.flows.loader import FlowError, read_mapping_file, read_text
from bot.nlu.normalize import normalize, tokenize


@dataclass(frozen=True)
class UiTexts:
    buttons: dict[str, Text]
    texts: dict[str, Text]
    menu: tuple[str, ...]
    commands: dict[str, str]  # normalised words -> command

    def button(self, key: str, language: str, **values: str) -> str:
        return self.buttons[key].get(language).format(**values)

    def text(self, key: str, language: str) -> str:
        return self.texts[key].get(language)

    def command(self, text: str) -> str | None:
        return self.commands.get(command_key(text))


def command_key(text: str) -> str:
    return " ".join(tokenize(normalize(text[:100])))


REQUIRED_BUTTONS = (
    "worked",
    "not_working",
    "repeat",
    "ementor",
    "book",
    "next",
    "more_yes",
    "more_no",
    "restart",
    "resume",
    "language",
)
REQUIRED_TEXTS = (
    "anything_else",
    "escalate",
    "menu",
    "rephrase",
    "did_you_mean",
    "offer_ementor",
    "goodbye",
    "stopped",
    "restarted",
    "welcome_back",
    "language_set",
    "secret",
    "not_understood_media",
    "unavailable",
)


def load_ui(path: str | Path) -> UiTexts:
    source = str(path)
    reader, top = read_mapping_file(path, {"version", "buttons", "texts", "menu", "commands"})
    sections: dict[str, dict[str, Text]] = {}
    for section, required in (("buttons", REQUIRED_BUTTONS), ("texts", REQUIRED_TEXTS)):
        if section not in top:
            raise FlowError(f"{source}:1: missing `{section}`")
        items = reader.mapping(top[section][1], section)
        sections[section] = {key: read_text(value, reader, f"{section}.{key}") for key, (_, value) in items.items()}
        missing = [k for k in required if k not in sections[section]]
        if missing:
            raise reader.fail(top[section][1], f"{section} is missing {', '.join(missing)}")
    menu = (
        tuple(reader.scalar(n, "menu item") for n in reader.sequence(top["menu"][1], "menu")) if "menu" in top else ()
    )
    commands: dict[str, str] = {}
    if "commands" in top:
        for name, (_, words) in reader.mapping(top["commands"][1], "commands").items():
            for node in reader.sequence(words, f"commands.{name}"):
                commands[command_key(reader.scalar(node, "command word"))] = name
    return UiTexts(sections["buttons"], sections["texts"], menu, commands)
