"""The one redaction step against a hand-written corpus and generated CPR numbers.

Every positive's secret must vanish from the redacted text while the words around it stay; every must-survive
text (dates, times, prices, booking references, talk about a code) must come out unchanged. Generated CPR
numbers in any separator and digit form, inside random text, never reach the output.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.privacy import MARKERS, RedactingFilter, fold, redact

CORPUS = yaml.safe_load((Path(__file__).parent / "privacy_corpus.yml").read_text(encoding="utf-8"))
POSITIVES: list[tuple[str, str]] = [(str(t), str(s)) for t, s in CORPUS["positives"]]
SURVIVE: list[str] = [str(t) for t in CORPUS["survive"]]


def test_the_corpus_is_big_enough() -> None:
    assert len(POSITIVES) >= 150 and len(SURVIVE) >= 150, (len(POSITIVES), len(SURVIVE))


def test_every_positive_loses_its_secret_and_keeps_its_words() -> None:
    leaked = [(t, redact(t).text) for t, secret in POSITIVES if fold(secret) in fold(redact(t).text)]
    assert not leaked, f"{len(leaked)} of {len(POSITIVES)} secrets kept: {leaked[:10]}"
    for text, secret in POSITIVES:
        out = redact(text)
        assert out.kinds, text
        assert any(marker in out.text for marker in MARKERS.values()), text
        assert out.text.replace(secret, "") != "" or text == secret  # only the secret is masked, not the message


def test_every_must_survive_text_comes_out_unchanged() -> None:
    changed = [(t, redact(t).text) for t in SURVIVE if redact(t).text != t]
    assert not changed, f"{len(changed)} of {len(SURVIVE)} changed: {changed[:10]}"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("min kode til mitid er Hund1234", "min kode til mitid er [kode]"),
        (
            "mit cpr er 010190-1234 og jeg kan ikke logge på mitid",
            "mit cpr er [cpr-nummer] og jeg kan ikke logge på mitid",
        ),
        ("ring på +45 22 33 44 55 æøå", "ring på [telefon] æøå"),
        ("skriv til anne@kk.dk", "skriv til [e-mail]"),
    ],
)
def test_the_secret_is_masked_where_it_stands(text: str, kept: str) -> None:
    assert redact(text).text == kept


def test_secret_kinds_tell_cpr_and_codes_from_contact_details() -> None:
    assert redact("cpr 010190-1234").secret and redact("koden er Hest12").secret
    assert not redact("ring 22334455").secret and redact("ring 22334455").kinds == {"phone"}
    assert redact("mit cpr er 010190-1234").rest == "mit cpr er"


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
SEPARATORS = ["-", "", " ", "/", ".", " - ", "\u2011", "\u2013", "\u2014", "\u2212", "\uff0d", "\u00a0", "  "]
GROUP_SEPARATORS = ["", " ", ".", "/", "-"]
AROUND = st.text(alphabet="abcdefghijklmnopqrstuvwxyzæøå ,.!?:()ABCDEFGHIJ\n", max_size=40)


@st.composite
def cpr_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """(as written, its ten digits): a real birth date, any separators, ASCII, full-width or Arabic digits."""
    born = date(1900, 1, 1) + timedelta(days=draw(st.integers(0, 45000)))
    tail = f"{draw(st.integers(0, 9999)):04d}"
    day, month, year = f"{born.day:02d}", f"{born.month:02d}", f"{born.year % 100:02d}"
    inner = draw(st.sampled_from(GROUP_SEPARATORS))
    written = f"{day}{inner}{month}{inner}{year}{draw(st.sampled_from(SEPARATORS))}{tail}"
    digits = draw(st.sampled_from([None, FULL_WIDTH, ARABIC_INDIC]))
    if digits is not None:
        written = written.translate(digits)
    return written, f"{day}{month}{year}{tail}"


@settings(max_examples=400, deadline=None)
@given(before=AROUND, cpr=cpr_numbers(), after=AROUND)
def test_generated_cpr_numbers_never_reach_the_output(before: str, cpr: tuple[str, str], after: str) -> None:
    written, digits = cpr
    out = redact(f"{before} {written} {after}")
    kept_digits = "".join(ch for ch in fold(out.text) if ch.isdigit())
    assert digits not in kept_digits and kept_digits == "", (written, out.text)
    assert "cpr" in out.kinds


def test_the_log_filter_masks_messages_and_their_arguments() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "turn from %s: %s", ("abc", "cpr 010190-1234"), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "turn from abc: cpr [cpr-nummer]"


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def test_the_bots_own_words_hold_no_cpr_number_code_or_e_mail() -> None:
    """The outbox, notices and an eMentor's words are masked for CPR numbers and codes: the texts the bot says
    itself ("Del aldrig dine koder med nogen - heller ikke med os", "PIN code (MitID.dk)") must pass whole."""
    root = Path(__file__).parents[2]
    files = [*root.glob("flows/**/*.yml"), *root.glob("bot/**/*.yml")]
    texts = [s for f in files for s in _strings(yaml.safe_load(f.read_text(encoding="utf-8")))]
    masked = [t for t in texts if redact(t).kinds & {"cpr", "code", "email"}]
    assert len(texts) > 1000 and not masked, masked[:5]
