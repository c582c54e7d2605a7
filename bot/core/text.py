"""A text in both of the bot's languages: the one bilingual type, for flows, phrases and settings."""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("da", "en")


def language_of(language: str) -> str:
    """ "en" or "da": anything that is not English is answered in Danish, the workshops' first language."""
    return "en" if language == "en" else "da"


@dataclass(frozen=True)
class Text:
    """Danish first, English always; an English text left empty falls back to the Danish one."""

    da: str
    en: str = ""

    def get(self, language: str) -> str:
        return self.en if language == "en" and self.en else self.da
