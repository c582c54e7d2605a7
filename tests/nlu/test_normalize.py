"""Normalisation makes the spellings citizens use for one word into one token."""

from __future__ import annotations

import pytest

from bot.nlu.normalize import MAX_CHARS, normalize, tokenize


@pytest.mark.parametrize(
    "variants",
    [
        ["kørekort", "koerekort", "korekort", "KØREKORT"],
        ["får", "faar", "far"],
        ["hjælp", "hjaelp", "hjelp"],
        ["ansøgning", "ansoegning", "ansogning"],
        ["café", "cafe"],
        ["hejjjjj", "hej"],
    ],
)
def test_spelling_variants_fold_to_one_form(variants: list[str]) -> None:
    assert len({normalize(v) for v in variants}) == 1


def test_emoji_are_tokens_and_skin_tones_are_dropped() -> None:
    assert tokenize(normalize("ok 👍🏽👍")) == ["ok", "👍", "👍"]


def test_control_characters_urls_and_long_numbers_are_neutralised() -> None:
    text = normalize("se\x00\u200b her https://www.jobnet.dk/cv og ring 12 34 56 78")
    assert tokenize(text) == ["se", "her", "urlx", "og", "ring", "numx"]


def test_long_input_is_cut() -> None:
    assert len(normalize("a b " * 100_000)) <= MAX_CHARS
