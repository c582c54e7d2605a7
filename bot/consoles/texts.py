"""The consoles' words (bot/consoles/words/*.yml, one file per part of the consoles, merged) and the eMentors'
saved replies (flows/ui/saved_replies.yml).

Both are data, read once and checked at start-up: a template asking for a key that is not there stops the
app with the file and key when the first page is built in the tests, not in front of an eMentor.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from bot.core.text import Text
from bot.flows.loader import FlowError, read_mapping_file, read_text
from bot.flows.phrases import Phrases, load_phrases

LANGUAGES = ("da", "en")
MAX_REPLY = 1000


@functools.lru_cache(maxsize=1)
def console_words() -> Phrases:
    """Every words file merged; a key in two files stops start-up naming both."""
    folder = Path(str(resources.files("bot.consoles").joinpath("words")))
    merged: dict[str, Text] = {}
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.yml")):
        for key, text in load_phrases(path).phrases.items():
            if key in merged:
                raise FlowError(f"{path}: `{key}` is also in {seen[key]}")
            merged[key], seen[key] = text, path.name
    return Phrases(str(folder), merged)


@dataclass(frozen=True)
class SavedReply:
    title: Text
    text: Text


@functools.lru_cache(maxsize=4)
def saved_replies(flows_folder: str) -> tuple[SavedReply, ...]:
    """The saved replies of the configured flows folder; none when the file is missing."""
    path = Path(flows_folder) / "ui" / "saved_replies.yml"
    if not path.exists():
        return ()
    reader, top = read_mapping_file(path, {"version", "replies"})
    if "replies" not in top:
        raise FlowError(f"{path}:1: missing `replies`")
    out: list[SavedReply] = []
    for item in reader.sequence(top["replies"][1], "replies"):
        fields = reader.mapping(item, "a saved reply")
        reader.only_keys(fields, {"title", "text"}, "a saved reply")
        if "title" not in fields or "text" not in fields:
            raise reader.fail(item, "a saved reply has a `title` and a `text`")
        out.append(
            SavedReply(
                read_text(fields["title"][1], reader, "title", 40),
                read_text(fields["text"][1], reader, "text", MAX_REPLY),
            )
        )
    return tuple(out)
