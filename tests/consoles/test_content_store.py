"""Saving an edited answer text (SQLite and PostgreSQL): refused in the checker's words and then nothing is
saved; saved, it is in the audit log with the text before and after and announced to every process in the
same transaction; reverting gives the file's text back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.booking import audit
from bot.consoles import content
from bot.core import live
from bot.core.text import Text
from bot.flows.content import Content, load_files
from bot.storage.store import Store
from tests.conftest import ROOT

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
STEP = "mitid_get.which_way"
GOOD = Text(
    "Du kan få MitID på to måder. Hvad passer bedst på dig?", "You can get MitID in two ways. Which fits you best?"
)


@pytest.fixture(scope="module")
def base() -> Content:
    return load_files(ROOT / "flows")


async def test_a_saved_edit_is_recorded_and_announced(store: Store, base: Content) -> None:
    changed = await store.transaction(
        lambda tx: content.save(tx, base, NOW, 7, "step", STEP, content.cleaned(GOOD.da + "\r\n", " " + GOOD.en))
    )
    assert changed
    saved = await store.transaction(lambda tx: content.one(tx, "step", STEP))
    assert saved is not None and (saved["da"], saved["en"], saved["updated_by"]) == (GOOD.da, GOOD.en, 7)
    assert await store.transaction(live.versions) == {live.CONTENT: 1}
    [line] = await store.transaction(lambda tx: audit.recent(tx, subject=f"step:{STEP}"))
    file = base.text_of("step", STEP)
    assert file is not None
    assert (line["actor_id"], line["action"]) == (7, content.EDITED)
    assert line["detail"]["before"] == {"da": file.da, "en": file.en}
    assert line["detail"]["after"] == {"da": GOOD.da, "en": GOOD.en}
    # the same text again changes nothing, records nothing and announces nothing
    assert not await store.transaction(lambda tx: content.save(tx, base, NOW, 7, "step", STEP, GOOD))
    assert await store.transaction(live.versions) == {live.CONTENT: 1}
    second = Text("Du kan få MitID på to måder. Hvad vil du helst?", "You can get MitID in two ways. What do you want?")
    await store.transaction(lambda tx: content.save(tx, base, NOW, 8, "step", STEP, second))
    newest = (await store.transaction(lambda tx: audit.recent(tx, subject=f"step:{STEP}")))[0]
    assert newest["detail"]["before"] == {"da": GOOD.da, "en": GOOD.en}  # before: the earlier edit
    assert await store.transaction(content.overrides) == [content.Override("step", STEP, second)]


@pytest.mark.parametrize(
    ("kind", "key", "text", "said"),
    [
        ("step", STEP, Text(GOOD.da, ""), f"{STEP}: text has no `en` translation"),
        ("step", STEP, Text(" ".join(["Tryk her nu."] * 21), GOOD.en), f"{STEP} (da): 63 words, at most 60"),
        ("step", STEP, Text("Arbejdsmarkedsydelsesberettigelsen dokumenteres kommunalt.", GOOD.en), "(da): LIX"),
        ("phrase", "booking.choose_time", Text("Vælg en tid:", "Choose a time – {place}:"), "placeholders"),
    ],
)
async def test_a_refused_edit_saves_records_and_announces_nothing(
    store: Store, base: Content, kind: str, key: str, text: Text, said: str
) -> None:
    with pytest.raises(content.Refused) as refused:
        await store.transaction(lambda tx: content.save(tx, base, NOW, 7, kind, key, text))
    assert any(said in line for line in refused.value.problems), refused.value.problems
    assert await store.transaction(content.overrides) == []
    assert await store.transaction(lambda tx: audit.recent(tx)) == []
    assert await store.transaction(live.versions) == {}


async def test_revert_gives_the_files_text_back(store: Store, base: Content) -> None:
    key = "booking.ask_name"
    edited = Text("Hvad er dit fornavn? Du må gerne springe over.", "What is your first name? You may skip this.")
    await store.transaction(lambda tx: content.save(tx, base, NOW, 7, "phrase", key, edited))
    assert await store.transaction(lambda tx: content.revert(tx, base, NOW, 7, "phrase", key))
    assert await store.transaction(content.overrides) == []
    assert not await store.transaction(lambda tx: content.revert(tx, base, NOW, 7, "phrase", key))  # nothing left
    lines = await store.transaction(lambda tx: audit.recent(tx, subject=f"phrase:{key}"))
    assert [line["action"] for line in lines] == [content.REVERTED, content.EDITED]
    file = base.text_of("phrase", key)
    assert file is not None and lines[0]["detail"]["after"] == {"da": file.da, "en": file.en}
    assert await store.transaction(live.versions) == {live.CONTENT: 2}
    # saving the file's own text is a revert too
    await store.transaction(lambda tx: content.save(tx, base, NOW, 7, "phrase", key, edited))
    assert await store.transaction(lambda tx: content.save(tx, base, NOW, 7, "phrase", key, file))
    assert await store.transaction(content.overrides) == []
