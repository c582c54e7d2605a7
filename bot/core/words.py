"""Dates and times in words, the way people say them: "torsdag den 3. december kl. 10.30".

Always in Copenhagen time, whatever the server's zone; pure, so it is tested on daylight-saving dates.
"""

from __future__ import annotations

from datetime import datetime, time

from bot.core.clock import COPENHAGEN
from bot.core.text import language_of

DAYS = {
    "da": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS = {
    "da": (
        "januar", "februar", "marts", "april", "maj", "juni",
        "juli", "august", "september", "oktober", "november", "december",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip
RELATIVE = {"da": ("i dag", "i morgen"), "en": ("today", "tomorrow")}


def clock(moment: datetime | time, language: str) -> str:
    """ "10.30" in Danish, "10:30" in English; a datetime is read in Copenhagen time."""
    local = moment.astimezone(COPENHAGEN) if isinstance(moment, datetime) else moment
    return f"{local.hour}.{local.minute:02d}" if language_of(language) == "da" else f"{local.hour}:{local.minute:02d}"


def _relative(moment: datetime, now: datetime | None, language: str) -> str | None:
    if now is None:
        return None
    days = (moment.astimezone(COPENHAGEN).date() - now.astimezone(COPENHAGEN).date()).days
    return RELATIVE[language_of(language)][days] if days in (0, 1) else None


def when(moment: datetime, language: str, now: datetime | None = None) -> str:
    """ "torsdag den 3. december kl. 10.30" / "Thursday 3 December at 10:30" (with "i dag, " when `now` says so)."""
    lang = language_of(language)
    local = moment.astimezone(COPENHAGEN)
    day, month = DAYS[lang][local.weekday()], MONTHS[lang][local.month - 1]
    if lang == "da":
        text = f"{day} den {local.day}. {month} kl. {clock(local, lang)}"
    else:
        text = f"{day} {local.day} {month} at {clock(local, lang)}"
    relative = _relative(moment, now, lang)
    return f"{relative}, {text}" if relative else text


def short(moment: datetime, language: str, now: datetime | None = None) -> str:
    """A button: "tor 3. dec kl. 10.30" / "Thu 3 Dec 10:30"; "i dag kl. 10.30" / "today 10:30" when near."""
    lang = language_of(language)
    local = moment.astimezone(COPENHAGEN)
    relative = _relative(moment, now, lang)
    if lang == "da":
        head = relative or f"{DAYS['da'][local.weekday()][:3]} {local.day}. {MONTHS['da'][local.month - 1][:3]}"
        return f"{head} kl. {clock(local, lang)}"
    head = relative or f"{DAYS['en'][local.weekday()][:3]} {local.day} {MONTHS['en'][local.month - 1][:3]}"
    return f"{head} {clock(local, lang)}"
