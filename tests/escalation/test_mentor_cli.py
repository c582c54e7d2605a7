"""`ementor mentor …` run as an administrator would (the functions behind it are tested on both databases)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.booking import bookings
from bot.booking.bookings import Request, resource_of
from bot.cli import main
from bot.core.clock import COPENHAGEN, utc_now
from bot.core.statuses import BookingStatus
from bot.escalation import accounts
from bot.storage.store import Store
from tests.conftest import ROOT

CONFIG = """\
version: 1
database:
  url: sqlite+aiosqlite:///bot.db
booking:
  locations:
    - id: vaerkstedet
      name: {da: "Det digitale værksted"}
      hours: {monday: "9.00-12.00"}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), "mentor", *args])


def test_add_prints_a_working_token_once(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "add", "Anna  Hansen", "--telegram-user-id", "9001") == 0
    out = capsys.readouterr().out
    token = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("API token:"))
    assert "shown only now" in out

    async def check() -> None:
        store = Store(f"sqlite+aiosqlite:///{config.parent / 'bot.db'}")
        try:
            me = await store.transaction(lambda tx: accounts.authenticate(tx, token))
            assert me is not None and me["name"] == "Anna Hansen" and me["telegram_user_id"] == 9001
        finally:
            await store.close()

    asyncio.run(check())
    assert run(config, "list") == 0
    listed = capsys.readouterr().out
    assert "#1  Anna Hansen  (telegram 9001, offline)" in listed and token not in listed


def test_block_and_unblock(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "block", "vaerkstedet", "2099-12-07 09:00", "2099-12-07 10:00", "--reason", "kursus") == 0
    assert "block #1: vaerkstedet 2099-12-07 09:00 – 2099-12-07 10:00, all places" in capsys.readouterr().out
    assert run(config, "unblock", "1") == 0
    assert run(config, "unblock", "1") == 1


@pytest.mark.parametrize(
    "args",
    [
        ("block", "nowhere", "2026-12-07 09:00", "2026-12-07 10:00"),
        ("block", "vaerkstedet", "7/12 9:00", "2026-12-07 10:00"),
        ("block", "vaerkstedet", "2026-12-07 10:00", "2026-12-07 09:00"),
        ("block", "vaerkstedet", "2026-12-07 09:00", "2026-12-07 10:00", "--places", "0"),
    ],
)
def test_mistakes_are_explained(config: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]) -> None:
    assert run(config, *args) == 2
    assert capsys.readouterr().err.startswith("config error:")


def token_of(out: str) -> str:
    return out.strip().splitlines()[0].rsplit(": ", 1)[1]


def authenticated(config: Path, token: str) -> str | None:
    """The name of the active account holding `token`, or None."""

    async def check() -> str | None:
        store = Store(f"sqlite+aiosqlite:///{config.parent / 'bot.db'}")
        try:
            me = await store.transaction(lambda tx: accounts.authenticate(tx, token))
            return me["name"] if me else None
        finally:
            await store.close()

    return asyncio.run(check())


def test_a_duplicate_name_is_refused_clearly(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "add", "Anna Hansen") == 0
    capsys.readouterr()
    assert run(config, "add", "anna  hansen") == 1
    err = capsys.readouterr().err
    assert err.startswith("error: there is already an eMentor called 'anna hansen'")
    assert run(config, "add", " ") == 1 and capsys.readouterr().err.startswith("error: an eMentor's name is")
    assert run(config, "list") == 0 and capsys.readouterr().out.count("Hansen") == 1


def test_a_new_token_replaces_the_old_and_an_account_can_be_disabled(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "add", "Bo Berg") == 0
    old = next(line.split(": ", 1)[1] for line in capsys.readouterr().out.splitlines() if line.startswith("API"))
    assert run(config, "token", "bo berg") == 0
    new = token_of(capsys.readouterr().out)
    assert new != old and authenticated(config, old) is None and authenticated(config, new) == "Bo Berg"
    assert run(config, "disable", "Bo Berg") == 0
    assert "disabled" in capsys.readouterr().out and authenticated(config, new) is None
    assert run(config, "list") == 0 and "#1  Bo Berg  (no telegram, disabled)" in capsys.readouterr().out
    assert run(config, "enable", "Bo Berg") == 0
    assert authenticated(config, new) == "Bo Berg"
    assert run(config, "token", "Nobody") == 1 and "no eMentor called 'Nobody'" in capsys.readouterr().err
    assert run(config, "disable", "Nobody") == 1


def test_a_block_in_the_past_is_refused(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "block", "vaerkstedet", "2020-01-06 09:00", "2020-01-06 10:00") == 2
    assert "in the past" in capsys.readouterr().err


def test_a_block_over_a_booking_lists_it_and_cancels_only_when_told(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows = f"conversation:\n  flows: {ROOT / 'flows'}\n"  # the citizen is told in the shipped words
    config.write_text(config.read_text(encoding="utf-8") + flows, encoding="utf-8")
    assert run(config, "list") == 0  # makes the database
    start = datetime(2099, 12, 7, 10, 0, tzinfo=COPENHAGEN)
    request = Request(
        "slot", resource_of("slot", "vaerkstedet", start), 1, "vaerkstedet", start, start + timedelta(minutes=30),
        "rest", "ida", "da", name="Ida",
    )  # fmt: skip

    async def reserve() -> str:
        store = Store(f"sqlite+aiosqlite:///{config.parent / 'bot.db'}")
        try:
            row = await store.transaction(lambda tx: bookings.reserve(tx, request, BookingStatus.BOOKED, utc_now()))
            assert row is not None
            return row["reference"]
        finally:
            await store.close()

    ref = asyncio.run(reserve())
    capsys.readouterr()
    assert run(config, "block", "vaerkstedet", "2099-12-07 09:00", "2099-12-07 12:00") == 1
    err = capsys.readouterr().err
    assert "would cancel 1 booking(s)" in err and ref in err and "mandag den 7. december kl. 10.00  Ida" in err
    assert run(config, "unblock", "1") == 1  # nothing was made
    assert run(config, "block", "vaerkstedet", "2099-12-07 09:00", "2099-12-07 12:00", "--cancel-bookings") == 0
    assert f"cancelled, citizens told: {ref}" in capsys.readouterr().out
