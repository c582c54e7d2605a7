"""A family of the bot's phrases in Danish and English (`flows/ui/booking.yml`, `flows/ui/handover.yml`).

Each file maps a key to `{da: …, en: …}`; `{name}` placeholders are filled when the phrase is used. The
handlers that speak them check at start-up that every key they use is there (`require`), so a missing
phrase stops the bot with file and key, not a citizen's conversation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.core.text import Text
from bot.flows.loader import FlowError, read_mapping_file, read_text


@dataclass(frozen=True)
class Phrases:
    source: str
    phrases: dict[str, Text]

    def get(self, key: str, language: str, **values: object) -> str:
        return self.phrases[key].get(language).format(**values)

    def require(self, keys: Iterable[str]) -> Phrases:
        missing = sorted(set(keys) - set(self.phrases))
        if missing:
            raise FlowError(f"{self.source}: missing {', '.join(missing)}")
        return self


def load_phrases(path: str | Path) -> Phrases:
    source = str(path)
    reader, top = read_mapping_file(path, {"version", "phrases"})
    if "phrases" not in top:
        raise FlowError(f"{source}:1: missing `phrases`")
    items = reader.mapping(top["phrases"][1], "phrases")
    return Phrases(source, {key: read_text(value, reader, f"phrases.{key}") for key, (_, value) in items.items()})
