"""Times asked for in words, read by the small grammar in bot/booking/wish.py (now: Monday 1 Dec 2025, 08.00)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from bot.booking.wish import TimeWish, parse_wish
from bot.core.clock import COPENHAGEN

NOW = datetime(2025, 12, 1, 8, 0, tzinfo=COPENHAGEN)
FORENOON = (time(7, 0), time(12, 0))


@pytest.mark.parametrize(
    ("typed", "wish"),
    [
        ("tirsdag kl 10", TimeWish(date(2025, 12, 2), at=time(10))),
        ("kan jeg komme på tirsdag kl 10", TimeWish(date(2025, 12, 2), at=time(10))),
        ("i morgen formiddag", TimeWish(date(2025, 12, 2), part=FORENOON)),
        ("på fredag", TimeWish(date(2025, 12, 5))),
        ("d. 3/12 kl 9.30", TimeWish(date(2025, 12, 3), at=time(9, 30))),
        ("next monday at 13", TimeWish(date(2025, 12, 8), at=time(13))),
        ("can i get wednesday at 13", TimeWish(date(2025, 12, 3), at=time(13))),
        ("den tidligste", TimeWish(earliest=True)),
        ("tir 2. dec kl. 10.00", TimeWish(date(2025, 12, 2), at=time(10))),
        ("torsdag den 4. december kl. 10.30", TimeWish(date(2025, 12, 4), at=time(10, 30))),
        ("halv ti", TimeWish(at=time(9, 30))),
        ("kvart over 9", TimeWish(at=time(9, 15))),
        ("kl 2", TimeWish(at=time(14))),
        ("i dag", TimeWish(date(2025, 12, 1))),
        ("tirsdag 10", TimeWish(date(2025, 12, 2), at=time(10))),
        ("december 4th", TimeWish(date(2025, 12, 4))),
        ("14:30", TimeWish(at=time(14, 30))),
        ("mandag", TimeWish(date(2025, 12, 8))),  # "mandag" on a Monday is next week's
        ("man 30. nov kl. 9.30", TimeWish(date(2026, 11, 30), at=time(9, 30))),  # passed this year: next year's
    ],
)
def test_times_in_words(typed: str, wish: TimeWish) -> None:
    assert parse_wish(typed, NOW) == wish


@pytest.mark.parametrize("typed", ["hej", "kan man komme", "jeg vil gerne have en tid", "ja tak", "lærkevej"])
def test_words_that_name_no_time(typed: str) -> None:
    assert parse_wish(typed, NOW) is None


def test_a_wish_fits_slots_and_measures_the_nearest() -> None:
    wish = TimeWish(date(2025, 12, 2), at=time(10))
    ten = datetime(2025, 12, 2, 10, 0, tzinfo=COPENHAGEN)
    half_past = datetime(2025, 12, 2, 10, 30, tzinfo=COPENHAGEN)
    friday = datetime(2025, 12, 5, 10, 0, tzinfo=COPENHAGEN)
    assert wish.fits(ten) and not wish.fits(half_past)
    assert wish.distance(ten) < wish.distance(half_past) < wish.distance(friday)
