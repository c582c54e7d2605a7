"""Pure parts of booking: dates in words, the calendar file, reminder times, checking the booking settings."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from bot.booking.details import first_name, phone_number
from bot.booking.follow_up import reminder_times
from bot.booking.ics import Event, calendar, escape, fold
from bot.booking.places import location_of, parse_hours, validate
from bot.config import BookingSettings, ConfigError, WeekHours
from bot.core import words
from bot.core.clock import COPENHAGEN
from tests.booking.helpers import JOBNET, LAB, PHONE

SUMMER = datetime(2026, 7, 2, 10, 30, tzinfo=COPENHAGEN)
WINTER = datetime(2026, 12, 3, 10, 30, tzinfo=COPENHAGEN)


def test_dates_in_words() -> None:
    assert words.when(WINTER, "da") == "torsdag den 3. december kl. 10.30"
    assert words.when(WINTER, "en") == "Thursday 3 December at 10:30"
    assert words.short(WINTER, "da") == "tor 3. dec kl. 10.30"
    assert words.short(WINTER, "en") == "Thu 3 Dec 10:30"
    morning = datetime(2026, 12, 2, 8, 0, tzinfo=COPENHAGEN)
    assert words.when(WINTER, "da", morning) == "i morgen, torsdag den 3. december kl. 10.30"
    assert words.short(WINTER, "en", WINTER) == "today 10:30"


def test_words_use_copenhagen_time_across_daylight_saving() -> None:
    assert words.when(datetime(2026, 3, 29, 8, 0, tzinfo=UTC), "da") == "søndag den 29. marts kl. 10.00"
    assert words.when(datetime(2026, 10, 25, 9, 0, tzinfo=UTC), "da") == "søndag den 25. oktober kl. 10.00"


def _unfold(ics: str) -> dict[str, str]:
    lines = ics.replace("\r\n ", "").split("\r\n")
    return {line.split(":", 1)[0]: line.split(":", 1)[1] for line in lines if ":" in line}


@pytest.mark.parametrize(("start", "utc_hour"), [(SUMMER, 8), (WINTER, 9)])
def test_calendar_file_keeps_local_time(start: datetime, utc_hour: int) -> None:
    assert start.astimezone(UTC).hour == utc_hour
    event = Event(
        "ABC123@ementor-bot",
        start,
        start.replace(minute=59),
        "eMentor; Lærkevej",
        "Jobcenter, Lærkevej",
        "Ref: ABC123\nHusk, MitID " * 5,
    )
    ics = calendar(event, datetime(2026, 6, 1, tzinfo=UTC))
    assert ics.startswith("BEGIN:VCALENDAR\r\n") and ics.endswith("END:VCALENDAR\r\n")
    assert "\n" not in ics.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in ics.split("\r\n"))
    fields = _unfold(ics)
    assert fields["DTSTART;TZID=Europe/Copenhagen"] == start.strftime("%Y%m%dT103000")
    assert fields["UID"] == "ABC123@ementor-bot" and fields["DTSTAMP"] == "20260601T000000Z"
    assert fields["SUMMARY"] == "eMentor\\; Lærkevej" and fields["LOCATION"] == "Jobcenter\\, Lærkevej"
    assert fields["DESCRIPTION"].startswith("Ref: ABC123\\nHusk\\, MitID")
    assert "TZID:Europe/Copenhagen" in ics and "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU" in ics


def test_escape_and_fold() -> None:
    assert escape("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    folded = fold("X:" + "ø" * 60)
    assert (
        all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
        and folded.replace("\r\n ", "") == "X:" + "ø" * 60
    )


def test_reminders_the_day_before_at_17_and_two_hours_before_across_daylight_saving() -> None:
    settings = BookingSettings()
    after_spring = datetime(2026, 3, 30, 9, 0, tzinfo=COPENHAGEN)  # Monday after the change
    due = reminder_times(after_spring, settings, datetime(2026, 3, 1, tzinfo=UTC))
    assert due == [datetime(2026, 3, 29, 15, 0, tzinfo=UTC), datetime(2026, 3, 30, 5, 0, tzinfo=UTC)]
    late = reminder_times(after_spring, settings, datetime(2026, 3, 29, 18, 0, tzinfo=UTC))
    assert late == [datetime(2026, 3, 30, 5, 0, tzinfo=UTC)]  # a passed reminder is not written
    assert (
        reminder_times(
            after_spring, dataclasses.replace(settings, remind_day_before=False, remind_hours_before=0), late[0]
        )
        == []
    )


def test_hours_are_read_like_a_notice_board() -> None:
    assert [(a.hour, a.minute, b.hour) for a, b in parse_hours("13:30-15, 9.00 - 12.00", "x")] == [
        (9, 0, 12),
        (13, 30, 15),
    ]
    assert parse_hours("", "x") == []
    assert len(location_of(LAB).hours) == 5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hours": WeekHours(monday="9.00-25.00")}, "booking.locations[0].hours.monday: '25.00' is not a time of day"),
        ({"hours": WeekHours(tuesday="12-9")}, "booking.locations[0].hours.tuesday: '12-9' closes before it opens"),
        ({"hours": WeekHours(friday="9-12, 11-13")}, "booking.locations[0].hours.friday: opening hours overlap"),
        (
            {"hours": WeekHours(monday="morning")},
            "booking.locations[0].hours.monday: 'morning' should be like 9.00-12.00",
        ),
        ({"closed": ("24/12",)}, "booking.locations[0].closed: '24/12' is not a date"),
        ({"id": "Lab 1"}, "booking.locations[0].id: use lower-case"),
    ],
)
def test_wrong_locations_stop_start_up_naming_the_setting(change: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        validate(BookingSettings(locations=(dataclasses.replace(LAB, **change), PHONE)))  # type: ignore[arg-type]
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"location": "nowhere"}, "booking.workshops[0].location: no location 'nowhere'"),
        ({"weekday": "someday"}, "booking.workshops[0].weekday: 'someday' is not one of"),
        ({"weekday": "", "dates": ()}, "booking.workshops[0]: give a weekday or dates"),
        ({"starts": "1 pm"}, "booking.workshops[0].starts:"),
    ],
)
def test_wrong_workshops_stop_start_up(change: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        validate(BookingSettings(locations=(LAB,), workshops=(dataclasses.replace(JOBNET, **change),)))  # type: ignore[arg-type]
    assert str(raised.value).startswith(message)


def test_the_project_config_is_valid() -> None:
    from bot.config import load_settings
    from tests.conftest import ROOT

    settings = load_settings(ROOT / "config.yml", {})
    validate(settings.booking)
    assert [loc.kind for loc in settings.booking.locations][-1] == "phone"


@pytest.mark.parametrize(
    ("typed", "number"),
    [("20 30 40 50", "20304050"), ("+45 20304050", "20304050"), ("0045-20-30-40-50", "20304050"), ("1234", None),
     ("12345678", None), ("2030405", None), ("+46 20304050", None), ("ring mig", None)],
)  # fmt: skip
def test_danish_phone_numbers(typed: str, number: str | None) -> None:
    assert phone_number(typed) == number


def test_first_names() -> None:
    assert (
        first_name("anna") == "Anna"
        and first_name("Jeg hedder Ole") == "Ole"
        and first_name("Anne-Mette") == "Anne-Mette"
    )
    assert first_name("12345") is None and first_name("a" * 50) is None


@pytest.mark.parametrize(
    ("typed", "number"),
    [("mit nummer er 22 33 44 55", "22334455"), ("ring på 22-33-44-55 efter kl 10", "22334455"),
     ("0101901234", None), ("cpr 010190-1234", None)],
)  # fmt: skip
def test_phone_numbers_inside_a_sentence(typed: str, number: str | None) -> None:
    assert phone_number(typed) == number


@pytest.mark.parametrize(
    ("typed", "name"),
    [("jeg hedder Ida", "Ida"), ("Ida", "Ida"), ("mit navn er ida hansen", "Ida"), ("Hej jeg hedder Mohammed",
     "Mohammed"), ("ja ok", None), ("Ok", None), ("nej tak", None), ("hvorfor?", None), ("spring over", None)],
)  # fmt: skip
def test_first_name_from_a_sentence_never_from_a_yes(typed: str, name: str | None) -> None:
    assert first_name(typed) == name
