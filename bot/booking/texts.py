"""What the citizen reads about a booking: the confirmation, the reminder, the calendar file.

Pure message building from a bookings row and the settings; the words live in flows/ui/booking.yml so they
can be changed without code. Only the citizen's own reference, time and place: a reminder shown on a locked
phone screen says nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.booking.bookings import BookingRow
from bot.booking.ics import Event, calendar
from bot.booking.places import find_location, find_workshop
from bot.config import Settings
from bot.core import words
from bot.core.messages import Button, File, Link, Outbound
from bot.core.payloads import format_payload
from bot.flows.content import LiveFlows, shelf
from bot.flows.model import Flow
from bot.flows.phrases import Phrases

KEYS = (
    "choose_place", "choose_time", "choose_new_time", "times_fitting", "times_nearest", "no_times", "no_later",
    "ask_confirm", "taken", "taken_none",
    "bad_time", "already", "ask_name", "ask_phone", "ask_phone_required", "bad_name", "bad_phone", "hold_lapsed",
    "booked", "moved", "joined", "details", "phone_details", "bring", "calendar", "map", "reminder", "my_list",
    "my_none", "which_cancel", "ask_cancel", "cancelled", "left", "not_yours", "workshops_list", "workshop_line",
    "workshops_none", "workshop_full", "workshop_bad", "hours_intro", "hours_line", "closed_holidays", "danish",
    "english", "b_yes_book", "b_other_time", "b_later", "b_other_place", "b_skip", "b_my", "b_cancel_or_move",
    "b_cancel", "b_move", "b_yes_cancel", "b_keep", "b_move_instead", "b_book", "b_workshops", "b_join",
    "b_attended", "b_no_show", "notice_booking", "notice_cancelled", "notice_moved",
    "notice_name", "notice_phone", "nothing", "b_book_new", "b_talk", "cancelled_by_us", "ementor_note",
)  # fmt: skip


def phrases(settings: Settings) -> Phrases:
    """flows/ui/booking.yml as this process serves it now (with the texts edited in the admin console; the
    turn in progress keeps the version it started with). Every key is checked at start-up (`check`)."""
    return shelf(settings.conversation.flows).now().phrases["booking"]


def check(phrases: Phrases) -> Phrases:
    """Every key the booking conversation speaks is there, or start-up (or a reload) stops naming it."""
    return phrases.require(KEYS)


def flows_of(settings: Settings) -> Mapping[str, Flow]:
    """The configured flows as served now, for the topic's title and the steps' texts in what the eMentors
    are told outside the citizen's own turn (a cancellation, a hand-over taken, the API)."""
    return LiveFlows(shelf(settings.conversation.flows))


def place_of(settings: Settings, row: BookingRow, lang: str) -> str:
    """The location's name (a workshop: its title and location)."""
    location = find_location(settings.booking, row["location"])
    name = location.name.get(lang) if location else row["location"]
    workshop = find_workshop(settings.booking, row["workshop"] or "") if row["kind"] == "workshop" else None
    return f"{workshop.title.get(lang)}, {name}" if workshop else name


def is_phone(settings: Settings, row: BookingRow) -> bool:
    location = find_location(settings.booking, row["location"])
    return location is not None and location.kind == "phone"


def calendar_file(settings: Settings, row: BookingRow, lang: str, now: datetime) -> File:
    p = phrases(settings)
    location = find_location(settings.booking, row["location"])
    bring = location.bring.get(lang) if location else ""
    where = place_of(settings, row, lang) + (f", {location.address}" if location and location.address else "")
    description = f"Reference: {row['reference']}" + (f"\n{p.get('bring', lang, bring=bring)}" if bring else "")
    event = Event(
        f"{row['reference']}@ementor-bot", row["starts_at"], row["ends_at"], f"eMentor: {where}", where, description
    )
    return File(
        f"calendar/{row['calendar_key']}.ics", f"ementor-{row['reference']}.ics", "text/calendar", calendar(event, now)
    )


def manage_buttons(p: Phrases, lang: str) -> tuple[Button, ...]:
    return (
        Button(p.get("b_my", lang), format_payload("my_bookings")),
        Button(p.get("b_cancel_or_move", lang), format_payload("cancel_booking")),
    )


def confirmation(settings: Settings, row: BookingRow, lang: str, now: datetime, intro: str) -> list[Outbound]:
    """`intro` ("booked" | "moved" | "joined"), the time in words, place and address, map, what to bring, .ics."""
    p = phrases(settings)
    location = find_location(settings.booking, row["location"])
    when = words.when(row["starts_at"], lang, now)
    if is_phone(settings, row):
        body = p.get("phone_details", lang, when=when, phone=row["phone"] or "", ref=row["reference"])
    else:
        address = location.address if location else ""
        body = p.get(
            "details", lang, when=when, place=place_of(settings, row, lang), address=address, ref=row["reference"]
        )
    text = f"{p.get(intro, lang)}\n{body}".replace("\n\n", "\n")
    bring = location.bring.get(lang) if location else ""
    if bring:
        text += "\n\n" + p.get("bring", lang, bring=bring)
    links = (Link(p.get("map", lang), location.map_url),) if location and location.map_url else ()
    return [
        Outbound(text, (), links),
        Outbound(p.get("calendar", lang), manage_buttons(p, lang), file=calendar_file(settings, row, lang, now)),
    ]


def reminder(settings: Settings, row: BookingRow, lang: str) -> Outbound:
    p = phrases(settings)
    when = words.when(row["starts_at"], lang)
    text = p.get("reminder", lang, when=when, place=place_of(settings, row, lang), ref=row["reference"])
    return Outbound(text, manage_buttons(p, lang))
