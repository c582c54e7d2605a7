"""The answer flows as content: complete, readable, and mistakes refused with file and line."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from bot.flows.check import MAX_WORDS, text_problems
from bot.flows.loader import FlowError, read_flow_file
from bot.flows.readability import flesch, lix
from bot.nlu.catalogue import catalogue
from bot.runtime import build_engine
from tests.conftest import app_settings


def test_every_catalogue_intent_has_a_flow_in_both_languages() -> None:
    engine = build_engine(app_settings())
    assert set(catalogue()) <= set(engine.flows)
    for flow in engine.flows.values():
        for step in flow.steps.values():
            assert step.text.da.strip() and step.text.en.strip()


def test_every_step_is_short_and_readable() -> None:
    assert text_problems(build_engine(app_settings()).flows.values()) == []


def test_readability_formulas() -> None:
    easy = "Åbn appen. Tryk på knappen. Skriv din kode."
    hard = "Dokumentationsforpligtelsen vedrørende arbejdsmarkedsydelsesberettigelsen administreres kommunalt."
    assert lix(easy) < 40 < lix(hard)
    assert (
        flesch("Open the app. Tap the button.")
        > 60
        > flesch("Administrative documentation obligations concerning unemployment eligibility determinations.")
    )


# Sites whose pages were checked when the flows were written (the loader already refuses non-https links).
# A link to any other site fails here until someone has checked it and added it.
CHECKED_SITES = (
    "mitid.dk",
    "borger.dk",
    "jobnet.dk",
    "kk.dk",
    "politi.dk",
    "digst.dk",
    "rejseplanen.dk",
    "rejsekort.dk",
    "e-boks.com",
    "e-boks.dk",
    "mit.dk",
    "skat.dk",
    "jobindex.dk",
    "linkedin.com",
    "stepstone.dk",
    "gmail.com",
    "live.com",
    "nemkonto.dk",
    "star.dk",
)


def test_links_go_only_to_checked_sites() -> None:
    for flow in build_engine(app_settings()).flows.values():
        for step in flow.steps.values():
            for link in step.links:
                host = urlparse(link.url).hostname or ""
                assert any(host == site or host.endswith("." + site) for site in CHECKED_SITES), link.url


def test_no_flow_asks_for_a_code_or_cpr_number() -> None:
    risky = ("skriv din kode her", "send din kode", "send dit cpr", "type your code here", "send your cpr")
    for flow in build_engine(app_settings()).flows.values():
        for step in flow.steps.values():
            text = (step.text.da + " " + step.text.en).lower()
            assert not any(r in text for r in risky), f"{flow.intent}.{step.id}"


GOOD_STEP = '        text: {da: "Hej", en: "Hi"}\n'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("      a:\n" + GOOD_STEP + "        next: b\n", "x.yml:7: step `a` leads to unknown step `b`"),
        ('      a:\n        text: {da: "Hej"}\n        end: menu\n', "x.yml:8: text has no `en` translation"),
        (
            "      a:\n" + GOOD_STEP + "        end: menu\n      b:\n" + GOOD_STEP + "        end: menu\n",
            "x.yml:10: step `b` of flow `greet` is never reached",
        ),
        ("      a:\n" + GOOD_STEP + "        end: done\n", "x.yml:9: `end` must be one of"),
        ("      a:\n" + GOOD_STEP + "        next: a\n        end: menu\n", "x.yml:7: step `a` needs exactly one of"),
        ("      a:\n" + GOOD_STEP + "        choices: []\n", "x.yml:9: step `a` has an empty list of choices"),
        ("      a:\n" + GOOD_STEP + "        buttons: []\n", "x.yml:9: unknown key `buttons`"),
    ],
)
def test_mistakes_are_refused_with_file_and_line(body: str, expected: str) -> None:
    document = 'version: 1\nflows:\n  greet:\n    title: {da: "Hej", en: "Hi"}\n    start: a\n    steps:\n' + body
    with pytest.raises(FlowError) as caught:
        read_flow_file(document, "x.yml")
    assert str(caught.value).startswith(expected)


def test_long_step_is_reported() -> None:
    long_text = " ".join(["ord"] * (MAX_WORDS + 5))
    document = (
        'version: 1\nflows:\n  greet:\n    title: {da: "Hej", en: "Hi"}\n    start: a\n    steps:\n'
        f'      a:\n        text: {{da: "{long_text}", en: "Hi"}}\n        end: menu\n'
    )
    assert any("words, at most" in p for p in text_problems(read_flow_file(document, "x.yml")))


def test_every_topic_names_itself_when_typed() -> None:
    """A flow reached by a typed question says what it understood first ("Lad os lave en PDF.")."""
    from bot.flows.engine import SMALL_TALK

    missing = [
        f.intent for f in build_engine(app_settings()).flows.values() if f.intent not in SMALL_TALK and not f.intro
    ]
    assert missing == []


def test_a_choice_is_found_by_its_own_words_and_never_by_another_choices() -> None:
    """Each word an author listed for a choice, and each title, picks that choice — not another one."""
    from bot.flows.matcher import match_answer

    engine = build_engine(app_settings())
    wrong: list[str] = []
    for flow in engine.flows.values():
        for step in flow.steps.values():
            if step.kind != "choices":
                continue
            for language in ("da", "en"):
                buttons = engine.render_step(flow, step, language).buttons
                for index, choice in enumerate(step.choices):
                    for typed in (choice.title.da, choice.title.en, *choice.words.all()):
                        found = match_answer(typed, buttons, engine.ui.answers)
                        if found is None or found.index != index:
                            wrong.append(f"{flow.intent}.{step.id} ({language}): {typed!r}")
    assert wrong == []
