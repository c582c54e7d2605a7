"""Concept features from the built-in lexicon (`lexicon.yml`): shared meaning across words and languages.

A linear model on n-grams only knows words it has seen. Mapping "annullér", "aflys" and "cancel" to one
concept feature lets what was learned from one carry to the others, the cheap part of what word
embeddings would give, with no model download and in microseconds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources

import yaml

from bot.nlu.normalize import normalize, tokenize

CONCEPT_PREFIX = "~"


@dataclass(frozen=True)
class Lexicon:
    """Word → concepts tables; `phrase_starts` and `longest_prefix` keep a lookup to a few dict probes."""

    exact: dict[str, frozenset[str]]
    prefixes: dict[str, frozenset[str]]
    phrases: dict[tuple[str, ...], frozenset[str]]
    fingerprint: str

    def concepts(self, tokens: Sequence[str]) -> list[str]:
        found: set[str] = set()
        empty: frozenset[str] = frozenset()
        for i, token in enumerate(tokens):
            found |= self.exact.get(token, empty)
            for end in range(2, min(len(token), self.longest_prefix) + 1):
                found |= self.prefixes.get(token[:end], empty)
            for phrase in self.phrase_starts.get(token, ()):
                if tuple(tokens[i : i + len(phrase)]) == phrase:
                    found |= self.phrases[phrase]
        return sorted(CONCEPT_PREFIX + name for name in found)

    @cached_property
    def phrase_starts(self) -> dict[str, list[tuple[str, ...]]]:
        starts: dict[str, list[tuple[str, ...]]] = {}
        for phrase in self.phrases:
            starts.setdefault(phrase[0], []).append(phrase)
        return starts

    @cached_property
    def longest_prefix(self) -> int:
        return max((len(p) for p in self.prefixes), default=0)


@cache
def builtin_lexicon() -> Lexicon:
    text = resources.files("bot.nlu").joinpath("lexicon.yml").read_text("utf-8")
    raw = yaml.safe_load(text)
    exact: dict[str, set[str]] = {}
    prefixes: dict[str, set[str]] = {}
    phrases: dict[tuple[str, ...], set[str]] = {}
    for concept, entries in raw["concepts"].items():
        concept = str(concept)
        for entry in entries:
            words = tuple(tokenize(normalize(str(entry).rstrip("*"))))
            if not words:
                continue
            if len(words) > 1:
                phrases.setdefault(words, set()).add(concept)
            elif str(entry).endswith("*"):
                prefixes.setdefault(words[0], set()).add(concept)
            else:
                exact.setdefault(words[0], set()).add(concept)

    def freeze(table: dict[str, set[str]]) -> dict[str, frozenset[str]]:
        return {k: frozenset(v) for k, v in table.items()}

    return Lexicon(
        exact=freeze(exact),
        prefixes=freeze(prefixes),
        phrases={k: frozenset(v) for k, v in phrases.items()},
        fingerprint=hashlib.sha256(text.encode()).hexdigest()[:12],
    )
