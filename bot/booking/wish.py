"""A time asked for in the citizen's own words: "tirsdag kl 10", "i morgen formiddag", "d. 3/12 kl 9.30",
"next monday at 13", "den tidligste". Pure.

A small grammar rather than a general date parser (dateparser was considered): a citizen asking for a time
names *constraints* — a day, a part of the day, a clock time, "the earliest" — and the answer is the free
slots that fit them, or the nearest ones. A parser that returns one datetime cannot say "formiddag" or
"på fredag" (a whole span), guesses past weekdays by default, and knows no "halv ti" (9.30). The grammar
reads Danish and English, with or without æøå, and is tested case by case (tests/booking/test_wish.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.core.clock import COPENHAGEN
from bot.core.text import fold

WEEKDAYS = {
    0: ("mandag", "man", "monday", "mon"),
    1: ("tirsdag", "tir", "tirs", "tuesday", "tue", "tues"),
    2: ("onsdag", "ons", "wednesday", "wed"),
    3: ("torsdag", "tor", "tors", "thursday", "thu", "thur", "thurs"),
    4: ("fredag", "fre", "friday", "fri"),
    5: ("lordag", "lor", "saturday", "sat"),
    6: ("sondag", "son", "sunday", "sun"),
}
MONTHS = {
    1: ("januar", "jan", "january"),
    2: ("februar", "feb", "february"),
    3: ("marts", "mar", "march"),
    4: ("april", "apr"),
    5: ("maj", "may"),
    6: ("juni", "jun", "june"),
    7: ("juli", "jul", "july"),
    8: ("august", "aug"),
    9: ("september", "sep", "sept"),
    10: ("oktober", "okt", "october", "oct"),
    11: ("november", "nov"),
    12: ("december", "dec"),
}
# parts of a day, as spans of clock time
PARTS = {
    "morning": (time(7, 0), time(10, 0), ("morgen", "morgenen", "tidlig", "early", "morning")),
    "forenoon": (time(7, 0), time(12, 0), ("formiddag", "formiddagen", "forenoon", "am")),
    "midday": (time(11, 0), time(13, 30), ("middag", "frokost", "midday", "noon", "lunch")),
    "afternoon": (time(12, 0), time(17, 0), ("eftermiddag", "eftermiddagen", "afternoon", "pm")),
    "evening": (time(17, 0), time(23, 0), ("aften", "aftenen", "evening")),
}
EARLIEST = ("tidligste", "tidligst", "hurtigst", "hurtigste", "snarest", "snarligst", "forst mulige", "earliest",
            "soonest", "asap", "as soon as possible", "first possible", "first available", "nearest",
            "tidligt som muligt", "snart som muligt", "hurtigt som muligt", "forste ledige", "naste ledige",
            "neste ledige", "first free", "next free", "next available")  # fmt: skip
TODAY = ("i dag", "idag", "today")
TOMORROW = ("i morgen", "imorgen", "tomorrow", "tmrw")
DAY_AFTER = ("i overmorgen", "overmorgen", "day after tomorrow")
NEXT_WEEK = ("naste uge", "neste uge", "next week", "i naste uge", "i neste uge", "ugen efter")
NEXT = ("naste", "neste", "next", "kommende", "coming")

# "halv ti" = 9.30: half to ten
_HALF = re.compile(r"\bhalv\s+(?P<h>1[0-2]|[1-9]|et|to|tre|fire|fem|seks|syv|otte|ni|ti|elleve|tolv)\b")
# English: "half past nine", "quarter to ten", "twenty to two", "ten past eleven"
_PAST_TO = re.compile(
    r"\b(?P<m>half|quarter|twenty five|twenty|ten|five)\s+(?P<way>past|to|over)\s+"
    r"(?P<h>1[0-2]|[1-9]|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b"
)
_MINUTES = {"half": 30, "quarter": 15, "twenty five": 25, "twenty": 20, "ten": 10, "five": 5}
_QUARTER = re.compile(r"\bkvart\s+(?P<way>over|i)\s+(?P<h>1[0-2]|[1-9]|1[3-9]|2[0-3])\b")
_DATE = re.compile(r"\b(?:d\.?\s*|den\s+)?(?P<d>[0-3]?\d)\s*[./]\s*(?P<mo>[01]?\d)\b(?:[./]\s*(?P<y>\d{2,4}))?")
_DAY_MONTH = re.compile(r"\b(?:d\.?\s*|den\s+)?(?P<d>[0-3]?\d)\.?\s*(?:of\s+)?(?P<name>[a-z]{3,9})\b")
_MONTH_DAY = re.compile(r"\b(?P<name>[a-z]{3,9})\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\b")
_NUMBER_WORDS = {
    "et": 1, "to": 2, "tre": 3, "fire": 4, "fem": 5, "seks": 6, "syv": 7, "otte": 8, "ni": 9, "ti": 10,
    "elleve": 11, "tolv": 12, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip


@dataclass(frozen=True)
class TimeWish:
    """What the citizen asked for; any part may be missing. `days` is a span of dates (a week), `day` one."""

    day: date | None = None
    days: tuple[date, date] | None = None
    at: time | None = None
    part: tuple[time, time] | None = None
    earliest: bool = False

    def fits(self, start: datetime) -> bool:
        """A slot starting at `start` (aware) fits every constraint named."""
        local = start.astimezone(COPENHAGEN)
        if self.day is not None and local.date() != self.day:
            return False
        if self.days is not None and not self.days[0] <= local.date() <= self.days[1]:
            return False
        if self.at is not None and (local.hour, local.minute) != (self.at.hour, self.at.minute):
            return False
        return self.part is None or self.part[0] <= local.time() < self.part[1]

    def distance(self, start: datetime) -> float:
        """How far a slot is from the wish, for "the nearest free times": days first, then minutes."""
        local = start.astimezone(COPENHAGEN)
        score = 0.0
        target_day = self.day or (self.days[0] if self.days else None)
        if target_day is not None:
            score += abs((local.date() - target_day).days) * 24 * 60
        if self.at is not None:
            score += abs(local.hour * 60 + local.minute - (self.at.hour * 60 + self.at.minute))
        elif self.part is not None and not self.part[0] <= local.time() < self.part[1]:
            score += 120
        return score


_MARKED_CLOCK = re.compile(
    r"\b(?:kl|klokken|klokka|at|omkring|around|cirka|ca)\.?\s*(?P<h>[01]?\d|2[0-3])(?:[.:](?P<m>[0-5]\d))?"
    r"(?:\s*(?P<ampm>am|pm))?\b|\b(?P<h2>[01]?\d|2[0-3])(?:(?:[.:](?P<m2>[0-5]\d))(?:\s*(?P<ampm2>am|pm))?"
    r"|\s*(?P<ampm3>am|pm))\b"
)
_BARE_HOUR = re.compile(r"\b(?P<h>[01]?\d)\b")
_BEFORE_TIME = frozenset({"kl", "klokken", "at", "den", "d", "om", "formiddag", "eftermiddag", "morning", "afternoon"})
_DAY_OF_MONTH = re.compile(r"\b(?:den|d)\.?\s*(?P<d>[0-3]?\d)\.?(?!\s*[./]?\s*\d)(?!\s*[a-z])")
ABBREVIATIONS = frozenset({"man", "tir", "tirs", "ons", "tor", "tors", "fre", "lor", "son", "mon", "tue", "tues",
                           "wed", "thu", "thur", "thurs", "fri", "sat", "sun"})  # fmt: skip


def _has(text: str, phrases: tuple[str, ...]) -> bool:
    padded = f" {text} "
    return any(f" {p} " in padded for p in phrases)


def _weekday(words: list[str]) -> tuple[int, bool] | None:
    """(weekday, "next" said before it) for the first weekday named. A short form ("man", "tor") counts only
    before a number ("man 30. nov"): "kan man komme" is not a Monday."""
    for i, word in enumerate(words):
        for day, names in WEEKDAYS.items():
            if word not in names:
                continue
            following = words[i + 1] if i + 1 < len(words) else ""
            if word in ABBREVIATIONS and len(words) > 1 and not (following[:1].isdigit() or following in _BEFORE_TIME):
                continue
            return day, i > 0 and words[i - 1] in NEXT
    return None


def _month(name: str) -> int | None:
    return next((number for number, names in MONTHS.items() if name in names), None)


def _hour(hour: int, ampm: str | None) -> int:
    if ampm == "pm" and hour < 12:
        return hour + 12
    if ampm is None and 1 <= hour <= 6:
        return hour + 12  # "kl 2" at a job centre is 14.00
    return hour


def _clock(text: str, bare_allowed: bool) -> tuple[time | None, str]:
    """The clock time named, and the text without it (so "kl 10.12" is not read as 10 December)."""
    half = _HALF.search(text)
    if half:
        named = half.group("h")
        hour = _hour(int(named) if named.isdigit() else _NUMBER_WORDS[named], None) - 1
        return time(hour, 30), text[: half.start()] + text[half.end() :]
    spoken = _PAST_TO.search(text)
    if spoken:
        named = spoken.group("h")
        hour = _hour(int(named) if named.isdigit() else _NUMBER_WORDS[named], None)
        minutes = _MINUTES[spoken.group("m")]
        at = time(hour, minutes) if spoken.group("way") in ("past", "over") else time(hour - 1, 60 - minutes)
        return at, text[: spoken.start()] + text[spoken.end() :]
    quarter = _QUARTER.search(text)
    if quarter:
        hour = _hour(int(quarter.group("h")), None)
        at = time(hour, 15) if quarter.group("way") == "over" else time(hour - 1, 45)
        return at, text[: quarter.start()] + text[quarter.end() :]
    marked = _MARKED_CLOCK.search(text)
    if marked:
        hour_text = marked.group("h") or marked.group("h2")
        minute = marked.group("m") or marked.group("m2") or "0"
        ampm = marked.group("ampm") or marked.group("ampm2") or marked.group("ampm3")
        at = time(_hour(int(hour_text), ampm), int(minute))
        return at, text[: marked.start()] + " " + text[marked.end() :]
    words = text.split()
    for i, word in enumerate(words):
        if word in _NUMBER_WORDS and i > 0 and words[i - 1] in ("kl", "klokken", "at"):
            return time(_hour(_NUMBER_WORDS[word], None), 0), text
    if bare_allowed:
        for match in _BARE_HOUR.finditer(text):
            hour = int(match.group("h"))
            if 7 <= hour <= 18 or 1 <= hour <= 5:
                return time(_hour(hour, None), 0), text[: match.start()] + text[match.end() :]
    return None, text


def _part(text: str) -> tuple[time, time] | None:
    without = f" {text} ".replace(" i morgen ", " ").replace(" imorgen ", " ")  # tomorrow, not the morning
    return next(((lo, hi) for lo, hi, names in PARTS.values() if _has(without, names)), None)


def parse_wish(text: str, now: datetime) -> TimeWish | None:
    """The time the citizen asks for, or None when the text names no time at all."""
    folded = fold(text[:200])
    folded = re.sub(r"[,?!]", " ", folded)
    folded = re.sub(r"\s+", " ", folded).strip()
    today = now.astimezone(COPENHAGEN).date()
    words = folded.replace(".", " ").split()
    weekday = _weekday(words)
    relative = _has(folded, DAY_AFTER) or _has(folded, TOMORROW) or _has(folded, TODAY)
    at, rest = _clock(folded, bare_allowed=weekday is not None or relative or len(words) == 1)
    day: date | None = None
    days: tuple[date, date] | None = None
    if _has(folded, DAY_AFTER):
        day = today + timedelta(days=2)
    elif _has(folded, TOMORROW):
        day = today + timedelta(days=1)
    elif _has(folded, TODAY):
        day = today
    if day is None:
        numeric = _DATE.search(rest)
        if numeric:
            day = _resolve(int(numeric.group("d")), int(numeric.group("mo")), today)
    if day is None:
        for pattern in (_DAY_MONTH, _MONTH_DAY):
            for match in pattern.finditer(rest):
                month = _month(match.group("name"))
                if month is not None:
                    day = _resolve(int(match.group("d")), month, today)
                    break
            if day is not None:
                break
    if day is None:
        of_month = _DAY_OF_MONTH.search(rest)
        if of_month:  # "den 8." or "fredag den 12.": this month's, or next month's when it has passed
            day = _this_or_next_month(int(of_month.group("d")), today)
    if day is None and weekday is not None:
        number, _ = weekday
        ahead = (number - today.weekday()) % 7 or 7  # "på fredag" is the coming Friday, not today
        if _has(folded, NEXT_WEEK) and ahead < 7 and today.weekday() < number:
            ahead += 7
        day = today + timedelta(days=ahead)
    if day is None and _has(folded, NEXT_WEEK):
        monday = today + timedelta(days=7 - today.weekday())
        days = (monday, monday + timedelta(days=6))
    part = _part(folded)
    earliest = _has(folded, EARLIEST)
    if day is None and days is None and at is None and part is None and not earliest:
        return None
    return TimeWish(day, days, at, part, earliest)


def _this_or_next_month(day_number: int, today: date) -> date | None:
    month, year = today.month, today.year
    for _ in range(2):
        found = _resolve(day_number, month, today)
        if found is not None and found.month == month and (found - today).days < 40:
            return found
        month, year = (1, year + 1) if month == 12 else (month + 1, year)
    return None


def _resolve(day_number: int, month: int, today: date) -> date | None:
    """Day and month without a year: this year's, or next year's when this year's has passed."""
    for year in (today.year, today.year + 1):
        try:
            found = date(year, month, day_number)
        except ValueError:
            return None
        if found >= today:
            return found
    return None
