"""Answer texts edited in the console: judged exactly like the files, applied over them, swapped whole, and
written back into the files changing only those texts."""

from __future__ import annotations

import asyncio
import difflib
import shutil
from pathlib import Path

import pytest

from bot.core.text import Text
from bot.flows.content import Content, Override, Shelf, apply, load_files, problems
from bot.flows.export import export, scalar
from bot.flows.loader import FlowError
from tests.conftest import ROOT

STEP = "mitid_get.which_way"  # "Du kan få MitID på to måder. … Hvad passer på dig?"
GOOD = Text(
    "Du kan få MitID på to måder. Hvad passer bedst på dig?", "You can get MitID in two ways. Which fits you best?"
)


@pytest.fixture(scope="module")
def base() -> Content:
    return load_files(ROOT / "flows")


def test_a_plain_short_edit_passes(base: Content) -> None:
    assert problems(base, "step", STEP, GOOD) == []


def test_a_step_must_have_both_languages(base: Content) -> None:
    assert problems(base, "step", STEP, Text(GOOD.da, "")) == [f"{STEP}: text has no `en` translation"]
    assert problems(base, "step", STEP, Text("", GOOD.en)) == [f"{STEP}: text has no `da` translation"]


def test_a_hard_danish_text_is_refused_with_its_lix(base: Content) -> None:
    hard = "Dokumentationsforpligtelsen vedrørende arbejdsmarkedsydelsesberettigelsen administreres kommunalt."
    found = problems(base, "step", STEP, Text(hard, GOOD.en))
    assert len(found) == 1 and found[0].startswith(f"{STEP} (da): LIX ") and found[0].endswith(", at most 40")


def test_a_hard_english_text_is_refused_with_its_flesch_score(base: Content) -> None:
    hard = "Administrative documentation obligations concerning unemployment eligibility determinations."
    found = problems(base, "step", STEP, Text(GOOD.da, hard))
    assert len(found) == 1 and found[0].startswith(f"{STEP} (en): Flesch ") and found[0].endswith(", at least 60")


def test_a_long_step_is_refused_as_the_checker_says(base: Content) -> None:
    long_da = " ".join(["Tryk her."] * 31)
    found = problems(base, "step", STEP, Text(long_da, GOOD.en))
    assert f"{STEP} (da): 62 words, at most 60" in found
    assert f"{STEP} (da): 31 sentences, at most 4" in found
    assert f"{STEP} (da): 31 actions, at most 2: split the step" in found


def test_a_step_never_asks_for_a_code(base: Content) -> None:
    found = problems(base, "step", STEP, Text("Send din kode til os.", GOOD.en))
    assert found == [f"{STEP} (da): asks for a code or a CPR number, which the bot never does"]


def test_a_phrase_keeps_exactly_its_placeholders(base: Content) -> None:
    key = "booking.choose_time"  # "Vælg en tid – {place}:"
    assert problems(base, "phrase", key, Text("Vælg en tid hos {place}:", "Pick a time at {place}:")) == []
    assert problems(base, "phrase", key, Text("Vælg en tid:", "Pick a time at {place}:")) == [
        f"{key} (da): the placeholders must stay exactly {{place}}"
    ]
    assert problems(base, "phrase", key, Text("Vælg en tid hos {sted}:", "Pick a time at {place}:")) == [
        f"{key} (da): the placeholders must stay exactly {{place}}"
    ]
    assert problems(base, "phrase", key, Text("Vælg {place} en tid {", "Pick a time at {place}:")) == [
        f"{key} (da): a lone {{ or }}; placeholders are written {{name}}"
    ]


def test_a_button_stays_button_sized_and_a_short_phrase_can_still_be_edited(base: Content) -> None:
    assert problems(base, "phrase", "texts.buttons.worked", Text("Det lykkedes", "It worked")) == []
    long = "Det virkede fint, tak for hjælpen"
    assert problems(base, "phrase", "texts.buttons.worked", Text(long, "It worked")) == [
        "texts.buttons.worked (da) is longer than 30 characters"
    ]
    # "Fremmødt" has a LIX no step may have: an edit is held to the file's own text, not made impossible
    assert problems(base, "phrase", "booking.b_attended", Text("Mødt op", "Came")) == []


def test_unknown_keys_and_the_apology_are_not_edited_here(base: Content) -> None:
    assert problems(base, "step", "mitid_get.nope", GOOD) == ["mitid_get.nope: no such step in the files"]
    assert problems(base, "phrase", "booking.nope", GOOD) == ["booking.nope: no such phrase in the files"]
    said = problems(base, "phrase", "texts.texts.unavailable", GOOD)
    assert said and "changed in its file" in said[0]
    assert "texts.texts.unavailable" not in base.phrase_keys()
    assert {"texts.buttons.worked", "texts.texts.menu", "booking.ask_name", "handover.queued"} <= set(
        base.phrase_keys()
    )


def test_links_in_a_text_stay(base: Content) -> None:
    found = problems(base, "step", STEP, Text(GOOD.da + " Se https://example.com", GOOD.en))
    assert found == [f"{STEP} (da): the links must stay as they are (none)"]


def test_edits_apply_over_the_files_and_leave_the_files_texts_alone(base: Content) -> None:
    edits = [
        Override("step", STEP, GOOD),
        Override("phrase", "booking.ask_name", Text("Hvad er dit fornavn?", "What is your first name?")),
        Override("phrase", "texts.buttons.worked", Text("Det lykkedes", "It worked")),
        Override("step", "gone.step", GOOD),  # its step was renamed in the files: left out
    ]
    served = apply(base, edits)
    assert served.text_of("step", STEP) == GOOD
    assert served.phrases["booking"].get("ask_name", "en") == "What is your first name?"
    assert served.ui.button("worked", "da") == "Det lykkedes"
    assert served.edited == {("step", STEP), ("phrase", "booking.ask_name"), ("phrase", "texts.buttons.worked")}
    assert base.text_of("step", STEP) != GOOD and base.ui.button("worked", "da") == "Det virkede"
    untouched = [k for k in base.flows["mitid_get"].steps if k != "which_way"]
    assert untouched and all(
        served.text_of("step", f"mitid_get.{k}") == base.text_of("step", f"mitid_get.{k}") for k in untouched
    )


async def test_a_turn_keeps_the_texts_it_started_with(base: Content) -> None:
    shelf = Shelf(ROOT / "flows", base)
    edited = apply(base, [Override("step", STEP, GOOD)])
    seen: list[Text | None] = []
    started = asyncio.Event()
    swapped = asyncio.Event()

    async def turn() -> None:
        with shelf.pin():
            seen.append(shelf.now().text_of("step", STEP))
            started.set()
            await swapped.wait()
            seen.append(shelf.now().text_of("step", STEP))

    running = asyncio.create_task(turn())
    await started.wait()
    shelf.swap(edited)
    swapped.set()
    await running
    assert seen == [base.text_of("step", STEP)] * 2  # the whole turn: the old text
    assert shelf.now().text_of("step", STEP) == GOOD  # the next one: the new


# ---- export ---------------------------------------------------------------------------------------------------


def _diff(before: Path, after: Path) -> list[str]:
    lines = difflib.unified_diff(
        before.read_text("utf-8").splitlines(), after.read_text("utf-8").splitlines(), lineterm="", n=0
    )
    return [line for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_export_changes_exactly_the_edited_texts(tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", folder)
    edits = [
        Override("step", STEP, Text('Du kan få MitID på to måder. Tryk på "Ja", hvis du har et pas.', "It's two ways.\nWhich one fits you?")),  # noqa: E501
        Override("phrase", "booking.ask_name", Text("Hvad er dit fornavn? Du må gerne springe over.", "What is your first name? You may skip this.")),  # noqa: E501
        Override("phrase", "texts.buttons.worked", Text("Det lykkedes", "It worked")),
    ]  # fmt: skip
    done = export(folder, edits)
    assert sorted(p.name for p in done.files) == ["booking.yml", "mitid_post.yml", "texts.yml"]
    assert _diff(ROOT / "flows" / "mitid_post.yml", folder / "mitid_post.yml") == [
        '-          da: "Du kan få MitID på to måder. Med et pas og en nyere smartphone kan du selv gøre det i MitID-appen. Ellers får du det i Borgerservice. Hvad passer på dig?"',  # noqa: E501
        '-          en: "You can get MitID in two ways. With a passport and a newer smartphone, you can do it yourself in the MitID app. If not, you get it at Borgerservice. Which fits you?"',  # noqa: E501
        "+          da: 'Du kan få MitID på to måder. Tryk på \"Ja\", hvis du har et pas.'",
        '+          en: "It\'s two ways.\\nWhich one fits you?"',
    ]  # fmt: skip
    assert _diff(ROOT / "flows" / "ui" / "booking.yml", folder / "ui" / "booking.yml") == [
        '-  ask_name: {da: "Tiden er holdt til dig i 15 minutter. Hvad er dit fornavn? Du må gerne springe over.", en: "The time is held for you for 15 minutes. What is your first name? You may skip this."}',  # noqa: E501
        '+  ask_name: {da: "Hvad er dit fornavn? Du må gerne springe over.", en: "What is your first name? You may skip this."}',  # noqa: E501
    ]  # fmt: skip
    assert _diff(ROOT / "flows" / "ui" / "texts.yml", folder / "ui" / "texts.yml") == [
        '-  worked: {da: "Det virkede", en: "It worked"}',
        '+  worked: {da: "Det lykkedes", en: "It worked"}',
    ]
    untouched = [p.name for p in (ROOT / "flows").glob("*.yml") if p.name != "mitid_post.yml"]
    assert all((folder / name).read_bytes() == (ROOT / "flows" / name).read_bytes() for name in untouched)
    again = load_files(folder)  # the files load, and say the edited texts
    assert [again.text_of(e.kind, e.key) for e in edits] == [e.text for e in edits]


def test_export_refuses_what_the_files_no_longer_allow_and_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", folder)
    before = (folder / "ui" / "booking.yml").read_bytes()
    stale = Override("phrase", "booking.choose_time", Text("Vælg en tid:", "Choose a time:"))  # {place} lost
    with pytest.raises(FlowError, match="placeholders must stay exactly"):
        export(folder, [Override("phrase", "booking.ask_name", Text("Hvad er dit navn?", "What is your name?")), stale])
    assert (folder / "ui" / "booking.yml").read_bytes() == before


@pytest.mark.parametrize(
    ("value", "style", "written"),
    [
        ("Tryk på Næste.", '"', '"Tryk på Næste."'),
        ('Tryk på "Log på".', '"', "'Tryk på \"Log på\".'"),
        ("the firm's site", "'", "'the firm''s site'"),
        ('Two\nlines "quoted" \\ here', "'", '"Two\\nlines \\"quoted\\" \\\\ here"'),
        ("tab\there", None, '"tab\\there"'),
    ],
)
def test_scalars_are_quoted_so_they_read_back_the_same(value: str, style: str | None, written: str) -> None:
    import yaml

    assert scalar(value, style) == written
    assert yaml.safe_load(f"k: {written}") == {"k": value}
