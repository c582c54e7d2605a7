"""How citizens answer a question on screen and how they sound (`flows/ui/answers.yml`), as data.

Every entry is folded like the intent model's input (lower case, æ→e, ø→o, å→a), once, at load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.core.text import fold
from bot.flows.loader import read_mapping_file
from bot.nlu.normalize import tokenize

LISTS = ("yes", "no", "filler", "ordinal_filler", "stopwords", "frustrated", "clause_breaks")


def folded(text: str) -> str:
    return " ".join(tokenize(fold(text)))


@dataclass(frozen=True)
class AnswerWords:
    yes: frozenset[str] = frozenset()
    no: frozenset[str] = frozenset()
    filler: frozenset[str] = frozenset()
    ordinals: dict[str, str] = field(default_factory=dict)  # "den anden" -> "2", "sidste" -> "last"
    ordinal_filler: frozenset[str] = frozenset()
    stopwords: frozenset[str] = frozenset()
    frustrated: frozenset[str] = frozenset()  # words and phrases of an outburst ("lort", "virker stadig ikke")
    buttons: dict[str, tuple[str, ...]] = field(default_factory=dict)  # the bot's own buttons: typed words
    clause_breaks: frozenset[str] = frozenset()  # "så", "men", "hellere": what follows is what they want


def load_answers(path: Path) -> AnswerWords:
    """flows/ui/answers.yml; without the file, typed answers are understood by their button titles only."""
    if not path.exists():
        return AnswerWords()
    reader, top = read_mapping_file(path, {"version", "ordinals", "buttons", *LISTS})

    def words(key: str) -> frozenset[str]:
        if key not in top:
            return frozenset()
        return frozenset(folded(reader.scalar(n, key)) for n in reader.sequence(top[key][1], key))

    ordinals: dict[str, str] = {}
    if "ordinals" in top:
        for place, (_, node) in reader.mapping(top["ordinals"][1], "ordinals").items():
            for item in reader.sequence(node, f"ordinals.{place}"):
                ordinals[folded(reader.scalar(item, "an ordinal"))] = place
    buttons: dict[str, tuple[str, ...]] = {}
    if "buttons" in top:
        for key, (_, node) in reader.mapping(top["buttons"][1], "buttons").items():
            buttons[key] = tuple(reader.scalar(n, f"buttons.{key}") for n in reader.sequence(node, f"buttons.{key}"))
    lists = {key: words(key) for key in LISTS}
    return AnswerWords(
        lists["yes"], lists["no"], lists["filler"], ordinals, lists["ordinal_filler"], lists["stopwords"],
        lists["frustrated"], buttons, lists["clause_breaks"],
    )  # fmt: skip
