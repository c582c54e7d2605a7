"""Button payloads in Rasa's convention, and secrets spotted in what citizens write."""

from __future__ import annotations

import pytest

from bot.core.payloads import format_payload, parse_payload
from bot.core.privacy import redact


def test_payloads_round_trip_and_forgeries_are_text() -> None:
    payload = format_payload("choose", step="pdf_convert.where", to="iphone")
    assert parse_payload(payload) == ("choose", {"step": "pdf_convert.where", "to": "iphone"})
    assert parse_payload("/affirm") == ("affirm", {})
    for forged in ['/choose{"step": ["x"]}', "/choose{not json}", "/", "/" + "a" * 100, "hej /affirm"]:
        assert parse_payload(forged) is None


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("mit cpr er 010190-1234", {"cpr"}),
        ("0101901234", {"cpr"}),
        ("min kode er hemmelig123", {"code"}),
        ("my password is hunter22", {"code"}),
        ("jeg har glemt min kode", set()),
        ("ring 12345678", {"phone"}),
    ],
)
def test_secrets_are_spotted(text: str, kinds: set[str]) -> None:
    assert redact(text).kinds == kinds
