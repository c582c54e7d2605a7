"""The bot's own phrases around the flows (`flows/ui/texts.yml`): buttons, fallbacks, menu, commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from yaml.nodes import Node

from bot.core.text import Text
from bot.flows.answers import AnswerWords, load_answers
from bot.flows.edges import Edges, Referral, load_edges
from bot.flows.loader import FlowError, read_mapping_file, read_text
from bot.nlu.normalize import normalize, tokenize
from bot.yaml_nodes import NodeReader


@dataclass(frozen=True)
class UiTexts:
    buttons: dict[str, Text]
    texts: dict[str, Text]
    menu: tuple[str, ...]
    commands: dict[str, str]  # normalised words -> command
    answers: AnswerWords = field(default_factory=AnswerWords)
    edges: Edges = field(default_factory=Edges)
    more_menu: tuple[MenuGroup, ...] = ()
    command_cues: tuple[tuple[frozenset[str], str], ...] = ()  # (words that must all be there, command)

    def referral(self, text: str) -> Referral | None:
        return self.edges.referral(text)

    @property
    def foreign(self) -> dict[str, str]:
        return self.edges.foreign

    def button(self, key: str, language: str, **values: str) -> str:
        return self.buttons[key].get(language).format(**values)

    def text(self, key: str, language: str) -> str:
        return self.texts[key].get(language)

    def command(self, text: str) -> str | None:
        """The command a message is ("start forfra", "tilbage tak", "repeat please"), or None."""
        key = command_key(text)
        found = self.commands.get(key)
        words = key.split()
        if found is None and len(words) <= MAX_CUED:
            polite = " ".join(t for t in words if t not in _POLITE)
            found = self.commands.get(polite) if polite else None
            if found is None:
                found = next((command for cue, command in self.command_cues if cue <= set(words)), None)
        return found


MAX_CUED = 6
_POLITE = frozenset({"tak", "please", "pls", "plz", "lige", "gerne", "venligst", "kindly", "just", "nu", "now"})


def command_key(text: str) -> str:
    return " ".join(tokenize(normalize(text[:100])))


REQUIRED_BUTTONS = (
    "more_topics",
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
    "menu_prompt",
    "more_topics",
    "out_of_scope",
    "frustrated",
    "foreign",
    "offer_person",
    "first_step",
    "hint_yes_no",
    "hint_choice",
    "hint_again",
    "hint_topic",
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
    "personal",
    "not_understood_media",
    "unavailable",
    "slow_down",
)


def load_ui(path: str | Path) -> UiTexts:
    source = str(path)
    keys = {"version", "buttons", "texts", "menu", "more_menu", "commands", "command_cues"}
    reader, top = read_mapping_file(path, keys)
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
    more = (
        tuple(_group(node, reader) for node in reader.sequence(top["more_menu"][1], "more_menu"))
        if ("more_menu" in top)
        else ()
    )
    cues: list[tuple[frozenset[str], str]] = []
    if "command_cues" in top:
        for name, (_, node) in reader.mapping(top["command_cues"][1], "command_cues").items():
            for cue in reader.sequence(node, f"command_cues.{name}"):
                cue_words = [command_key(reader.scalar(w, "a word")) for w in reader.sequence(cue, "a cue")]
                cues.append((frozenset(cue_words), name))
    folder = Path(path).parent
    return UiTexts(
        sections["buttons"], sections["texts"], menu, commands, load_answers(folder / "answers.yml"),
        load_edges(folder / "edges.yml"), more, tuple(cues),
    )  # fmt: skip


@dataclass(frozen=True)
class MenuGroup:
    """A group of topics behind "Flere emner"."""

    title: Text
    topics: tuple[str, ...]


def _group(node: Node, reader: NodeReader) -> MenuGroup:
    fields = reader.mapping(node, "a group of topics")
    reader.only_keys(fields, {"title", "topics"}, "a group of topics")
    if set(fields) != {"title", "topics"}:
        raise reader.fail(node, "a group of topics needs `title` and `topics`")
    topics = tuple(reader.scalar(n, "a topic") for n in reader.sequence(fields["topics"][1], "topics"))
    return MenuGroup(read_text(fields["title"][1], reader, "title", 30), topics)
