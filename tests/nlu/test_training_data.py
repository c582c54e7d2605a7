"""The Rasa YAML reader: what Rasa accepts loads; mistakes are refused with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlu.training_data import TrainingDataError, load_training_data, parse_document

GOOD = """\
version: "3.1"
nlu:
- intent: mitid_get
  examples: |
    - hvordan faar jeg [mitid](app)
    - jeg har ikke noget mitid
- intent: nlu_fallback
  examples:
  - text: hvad bliver vejret
  - how tall is the eiffel tower
- synonym: mitid
  examples: |
    - mit id
- regex: phone
  examples: |
    - \\d{8}
- lookup: city
  examples: |
    - roskilde
"""


def test_reads_intents_synonyms_regexes_and_lookups_with_lines() -> None:
    data = parse_document(GOOD, "x.yml")
    assert [(e.text, e.intent, e.line) for e in data.examples] == [
        ("hvordan faar jeg mitid", "mitid_get", 5),
        ("jeg har ikke noget mitid", "mitid_get", 6),
        ("hvad bliver vejret", "nlu_fallback", 9),
        ("how tall is the eiffel tower", "nlu_fallback", 10),
    ]
    assert data.examples[2].out_of_scope
    assert data.synonyms == {"mit id": "mitid"}
    assert data.regexes == {"phone": [r"\d{8}"]}
    assert data.lookups == {"city": ["roskilde"]}


def test_brackets_without_entity_markup_stay_text() -> None:
    doc = 'version: "3.1"\nnlu:\n- intent: a\n  examples: |\n    - is there a travel alert for [country]\n'
    assert parse_document(doc, "x.yml").examples[0].text == "is there a travel alert for [country]"


def test_language_comes_from_the_folder(tmp_path: Path) -> None:
    for lang in ("da", "en"):
        (tmp_path / lang).mkdir()
        (tmp_path / lang / "a.yml").write_text(f'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - {lang}\n')
    data = load_training_data([tmp_path])
    assert {(e.text, e.language) for e in data.examples} == {("da", "da"), ("en", "en")}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ('version: "3.1"\nnlu:\n- intent: a\n  examples: |\n    - ok\n  - broken: [\n', "x.yml:6: YAML syntax error"),
        ('version: "3.1"\nnlu: []\nintents: []\n', "x.yml:3: unknown key `intents`"),
        ('version: "3.1"\nnlu:\n- intent: a\n  exampels: |\n    - hej\n', "x.yml:4: unknown key `exampels`"),
        ("nlu:\n- intent: a\n  examples: |\n    - hej\n", "x.yml:1: missing `version`"),
        ('version: "1.0"\nnlu: []\n', "x.yml:1: unsupported version"),
        ('version: "3.1"\nnlu:\n- intent: a\n  examples: |\n    - hej\n    hallo\n', "x.yml:6: an example line must"),
        ('version: "3.1"\nnlu:\n- regex: r\n  examples: |\n    - ([a-z\n', "x.yml:5: bad regex"),
        ('version: "3.1"\nnlu:\n- intent: a\n', "x.yml:3: intent `a` has no examples"),
        ('version: "3.1"\nnlu:\n- intent: a\n  intent: b\n  examples: |\n    - x\n', "x.yml:4: duplicate key"),
    ],
)
def test_mistakes_are_refused_with_file_and_line(document: str, expected: str) -> None:
    with pytest.raises(TrainingDataError) as caught:
        parse_document(document, "x.yml")
    assert str(caught.value).startswith(expected)


def test_invalid_utf8_file_is_refused_with_its_name(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_bytes(b'version: "3.1"\nnlu:\n- intent: a\n  examples: |\n    - \xff\xfe\n')
    with pytest.raises(TrainingDataError, match=r"bad\.yml: not UTF-8"):
        load_training_data([bad])


def test_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="no such file"):
        load_training_data([tmp_path / "nope"])
