"""Slot arithmetic: opening hours, Danish holidays, daylight-saving changes, blocked time, capacity."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from bot.booking.holidays import danish_holidays, easter_sunday
from bot.booking.schedule import COPENHAGEN, Block, Location, OpeningHours, free_places, slots

MON_TO_THU = tuple(OpeningHours(d, time(9, 0), time(12, 0)) for d in range(4))
WORKSHOP = Location("lærkevej", MON_TO_THU, slot_minutes=30, capacity=2)


def test_easter_and_holidays() -> None:
    assert [easter_sunday(y) for y in (2024, 2025, 2026, 2027)] == [
        date(2024, 3, 31),
        date(2025, 4, 20),
        date(2026, 4, 5),
        date(2027, 3, 28),
    ]
    names = danish_holidays(2026)
    assert names[date(2026, 5, 14)] == "Kristi himmelfartsdag"
    assert "Store bededag" not in names.values()
    assert "Store bededag" in danish_holidays(2023).values()


def test_opening_hours_make_slots_on_open_days_only() -> None:
    week = slots(WORKSHOP, date(2026, 11, 30), 7)  # Monday 30 November 2026
    assert len(week) == 4 * 6
    assert {s.start.weekday() for s in week} == {0, 1, 2, 3}
    assert week[0].start == datetime(2026, 11, 30, 9, 0, tzinfo=COPENHAGEN)
    assert week[0].end - week[0].start == timedelta(minutes=30)


def test_holidays_and_closed_dates_have_no_slots() -> None:
    easter_week = slots(WORKSHOP, date(2026, 3, 30), 7)  # skærtorsdag 2 April
    assert date(2026, 4, 2) not in {s.start.date() for s in easter_week}
    closed = Location("x", MON_TO_THU, closed=frozenset({date(2026, 12, 1)}))
    assert date(2026, 12, 1) not in {s.start.date() for s in slots(closed, date(2026, 11, 30), 7)}


def test_daylight_saving_change_keeps_wall_clock_times() -> None:
    before = slots(WORKSHOP, date(2026, 3, 26), 1)[0]  # Thursday before the change (29 March)
    after = slots(WORKSHOP, date(2026, 3, 30), 1)[0]  # Monday after
    assert before.start.hour == after.start.hour == 9
    assert before.start.astimezone(UTC).hour == 8 and after.start.astimezone(UTC).hour == 7
    autumn = slots(WORKSHOP, date(2026, 10, 26), 1)[0]  # Monday after the October change
    assert autumn.start.astimezone(UTC).hour == 8


def test_blocked_time_full_slots_and_the_past_are_not_free() -> None:
    day = slots(WORKSHOP, date(2026, 11, 30), 1)
    now = datetime(2026, 11, 30, 9, 10, tzinfo=COPENHAGEN)  # the 9.00 slot has started
    blocked = [(datetime(2026, 11, 30, 10, 15, tzinfo=COPENHAGEN), datetime(2026, 11, 30, 10, 45, tzinfo=COPENHAGEN))]
    booked = {
        ("lærkevej", datetime(2026, 11, 30, 9, 30, tzinfo=COPENHAGEN)): 1,
        ("lærkevej", datetime(2026, 11, 30, 11, 0, tzinfo=COPENHAGEN)): 2,
    }
    free = {s.start.strftime("%H:%M"): n for s, n in free_places(day, blocked, booked, now)}
    assert free == {"09:30": 1, "11:30": 2}


def test_a_block_of_some_places_leaves_the_others() -> None:
    two = Location("gkl", WORKSHOP.hours, capacity=3)
    day = slots(two, date(2026, 11, 30), 1)
    now = datetime(2026, 11, 30, 8, 0, tzinfo=COPENHAGEN)
    ten = datetime(2026, 11, 30, 10, 0, tzinfo=COPENHAGEN)
    blocked = [Block(ten, ten + timedelta(minutes=45), places=2)]  # overlaps 10.00 and 10.30
    booked = {("gkl", ten): 1}
    free = {s.start.strftime("%H:%M"): n for s, n in free_places(day, blocked, booked, now)}
    assert "10:00" not in free  # 3 - 2 blocked - 1 booked
    assert free["10:30"] == 1 and free["09:00"] == 3
