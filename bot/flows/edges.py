"""What the bot says to messages that are not a question it can answer (`flows/ui/edges.yml`): where to
turn for a common neighbour of its topics, and one line in the citizen's own language."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.core.text import Text
from bot.flows.answers import folded
from bot.flows.loader import FlowError, read_mapping_file, read_text
from bot.flows.model import Link


@dataclass(frozen=True)
class Referral:
    words: tuple[str, ...]  # folded; a word ending in * matches the beginning of a word
    text: Text
    links: tuple[Link, ...] = ()

    def fits(self, tokens: list[str]) -> bool:
        joined = " " + " ".join(tokens) + " "
        for word in self.words:
            if word.endswith("*"):
                stem = word[:-1]
                if any(t.startswith(stem) for t in tokens) or f" {stem}" in joined:
                    return True
            elif f" {word} " in joined:
                return True
        return False


@dataclass(frozen=True)
class Edges:
    referrals: tuple[Referral, ...] = ()
    foreign: dict[str, str] = field(default_factory=dict)  # ISO 639-1 code -> one line in that language

    def referral(self, text: str) -> Referral | None:
        tokens = folded(text).split()
        return next((r for r in self.referrals if r.fits(tokens)), None)


def load_edges(path: Path) -> Edges:
    if not path.exists():
        return Edges()
    source = str(path)
    reader, top = read_mapping_file(path, {"version", "referrals", "foreign"})
    referrals: list[Referral] = []
    for node in reader.sequence(top["referrals"][1], "referrals") if "referrals" in top else []:
        fields = reader.mapping(node, "a referral")
        reader.only_keys(fields, {"words", "text", "links"}, "a referral")
        if "words" not in fields or "text" not in fields:
            raise FlowError(f"{reader.at(node)}: a referral needs `words` and `text`")
        words = tuple(
            folded(w) + ("*" if w.endswith("*") else "")
            for w in (reader.scalar(n, "a word") for n in reader.sequence(fields["words"][1], "words"))
        )
        links = tuple(
            Link(read_text(reader.mapping(item, "a link")["title"][1], reader, "link title"),
                 reader.scalar(reader.mapping(item, "a link")["url"][1], "url"))
            for item in (reader.sequence(fields["links"][1], "links") if "links" in fields else [])
        )  # fmt: skip
        referrals.append(Referral(words, read_text(fields["text"][1], reader, "text"), links))
    foreign: dict[str, str] = {}
    if "foreign" in top:
        for code, (_, node) in reader.mapping(top["foreign"][1], "foreign").items():
            foreign[code] = reader.scalar(node, f"foreign.{code}")
    if not referrals and not foreign:
        raise FlowError(f"{source}:1: nothing in the file")
    return Edges(tuple(referrals), foreign)
