"""Live hand-over: a citizen waits in a queue, an eMentor takes the conversation, they talk, it ends.

The rules live here, over a `Tx`, so the citizen's turn (handlers/handover.py), the eMentor API, the consoles
and the eMentors' Telegram group all change a hand-over the same way, inside their own transaction. Whatever
one side says to the other goes through the outbox: the citizen hears the eMentor on the citizen's own
channel, the eMentor hears the citizen in the group (when taken there) and through the API's message list.

One open hand-over per conversation is the database's rule (the partial unique index handovers_one_open);
taking is one conditional UPDATE, so when two eMentors press "Tag samtalen" at once exactly one wins.
Secrets (CPR numbers, passwords) are never relayed, and the notices carry no citizen text.

What the waiting citizen is promised is kept: the wait told never goes past `handover.wait_limit_minutes`
(beyond it they hear that it may take longer, and that they can book a time); moving up to first in the
queue is told; when nobody is online any more, or the eMentors could not be told of them at all, they are
taken out of the queue and offered a booking rather than left waiting for nobody. A hand-over can be passed
to a colleague or back to the queue (at its old place), carries the eMentors' private notes and an outcome,
and remembers who or what ended it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict, cast

from bot.booking import audit
from bot.booking.texts import flows_of
from bot.config import Settings
from bot.core import words
from bot.core.clock import COPENHAGEN
from bot.core.messages import Button, Outbound
from bot.core.payloads import format_payload
from bot.core.ports import Row, Tx
from bot.core.privacy import EVERY_KIND, SECRETS, redact, redacted, redacted_values
from bot.core.statuses import OPEN_HANDOVER, HandoverStatus, OutboxStatus, sql_list
from bot.core.text import fold
from bot.delivery.notices import GROUP_CHANNEL, notify
from bot.delivery.outbox import enqueue
from bot.escalation import accounts
from bot.escalation.accounts import online_count
from bot.flows.content import shelf
from bot.flows.model import Flow
from bot.flows.phrases import Phrases
from bot.flows.topic import Topic, described, failed_step, step_text, steps_line

MAX_TEXT = 4000
MAX_NOTES = 4000
GROUP_LANGUAGE = "da"  # the eMentors' own language
OUTCOMES = ("solved", "booked", "borgerservice", "other")
CLOSED_HANDOVER = (HandoverStatus.ENDED, HandoverStatus.EXPIRED, HandoverStatus.LEFT)
KEYS = (
    "queued", "queued_long", "still_waiting", "still_waiting_long", "moved_up", "moved_up_long", "acknowledged",
    "not_relayed",
    "nobody_online", "closed_now", "nobody_left", "delivery_failed", "left", "not_in_queue", "taken",
    "transferred", "requeued", "ementor_says", "ended", "ended_by_you", "ended_idle", "expired", "end_words",
    "button_end_chat", "button_book_instead", "button_leave", "button_helped", "button_book", "button_menu",
    "group_request", "group_take", "group_end", "group_taken", "group_citizen", "group_ended", "group_left",
    "group_expired", "group_offline", "group_transferred", "group_requeued", "by_ementor", "by_citizen",
    "by_timeout", "by_offline", "by_delivery_failed", "nothing", "no_topic", "you_took", "already_taken",
    "not_open", "you_ended", "not_yours", "marked_attended", "marked_no_show", "marked_booked", "too_early",
    "too_late", "unknown_booking", "online", "offline", "not_linked", "not_linked_act", "reply_hint",
)  # fmt: skip


class HandoverRow(TypedDict):
    id: int
    channel: str
    sender: str
    language: str
    topic: str | None
    tried: str  # JSON list of {"step", "outcome", "answer"}
    status: HandoverStatus
    ementor_id: int | None
    ementor_name: str | None
    ementor_telegram_id: int | None  # taken in the eMentors' Telegram group, by this user
    created_at: datetime
    taken_at: datetime | None  # taken, handed to a colleague, or put back in the queue: the latest of these
    ended_at: datetime | None
    notes: str  # the eMentors' private notes: never shown to the citizen, never in a notice
    outcome: str | None  # one of OUTCOMES
    ended_by: str | None  # "ementor:<id>" | "citizen" | "timeout" | "offline" | "delivery_failed"


class MessageRow(TypedDict):
    id: int
    author: str  # citizen | ementor | bot
    text: str
    created_at: datetime


COLUMNS = ", ".join(HandoverRow.__annotations__)


def _handover(row: Row) -> HandoverRow:
    return cast(HandoverRow, {**row, "status": HandoverStatus(row["status"]), "notes": row["notes"] or ""})


def phrases(settings: Settings) -> Phrases:
    """flows/ui/handover.yml of the configured flows folder as this process serves it now (with the texts
    edited in the admin console). Every key is checked at start-up (`check`)."""
    return shelf(settings.conversation.flows).now().phrases["handover"]


def check(phrases: Phrases) -> Phrases:
    """Every key the hand-over speaks is there, or start-up (or a reload) stops naming it."""
    return phrases.require(KEYS)


def expected_wait(position: int, minutes_per_citizen: int, online: int) -> int:
    """Minutes a citizen at `position` in the queue can expect to wait, with `online` eMentors serving."""
    return max(1, position * minutes_per_citizen // max(1, online))


def local(moment: datetime | None) -> str | None:
    """A time as the eMentors read it: Copenhagen time with its offset (2026-12-01T09:30:00+01:00)."""
    return moment.astimezone(COPENHAGEN).isoformat() if moment is not None else None


def end_words(settings: Settings) -> frozenset[str]:
    """What a citizen types, as a whole message, to end a talk with an eMentor ("stop", "afslut samtalen",
    "end chat"), folded as typed messages are (no case, æøå optional)."""
    p = phrases(settings)
    listed = (p.get("end_words", "da") + "," + p.get("end_words", "en")).split(",")
    return frozenset(fold(w).strip() for w in listed if w.strip())


def says_end(settings: Settings, text: str) -> bool:
    return fold(text).strip(" .!?\t\n") in end_words(settings)


# ---- reading ------------------------------------------------------------------------------------------------
async def get(tx: Tx, handover_id: int) -> HandoverRow | None:
    rows = await tx.fetch(f"SELECT {COLUMNS} FROM handovers WHERE id = :id", id=handover_id)
    return _handover(rows[0]) if rows else None


async def open_for(tx: Tx, channel: str, sender: str) -> HandoverRow | None:
    """The conversation's waiting or active hand-over, if any."""
    rows = await tx.fetch(
        f"SELECT {COLUMNS} FROM handovers WHERE channel = :channel AND sender = :sender"
        f" AND status IN {sql_list(OPEN_HANDOVER)}",
        channel=channel,
        sender=sender,
    )
    return _handover(rows[0]) if rows else None


async def first_waiting(tx: Tx) -> HandoverRow | None:
    rows = await tx.fetch(
        f"SELECT {COLUMNS} FROM handovers WHERE status = :waiting ORDER BY id LIMIT 1", waiting=HandoverStatus.WAITING
    )
    return _handover(rows[0]) if rows else None


async def list_ended(
    tx: Tx, start: datetime | None, end: datetime | None, topic: str | None, limit: int = 100
) -> list[HandoverRow]:
    """Ended hand-overs (talks an eMentor had), newest first: ended in [start, end), of one topic if given."""
    where = ["status = :ended"]
    params: dict[str, Any] = {"ended": HandoverStatus.ENDED, "limit": limit}
    if start is not None:
        where.append("ended_at >= :start")
        params["start"] = start
    if end is not None:
        where.append("ended_at < :end")
        params["end"] = end
    if topic is not None:
        where.append("topic = :topic")
        params["topic"] = topic
    rows = await tx.fetch(
        f"SELECT {COLUMNS} FROM handovers WHERE {' AND '.join(where)} ORDER BY ended_at DESC, id DESC LIMIT :limit",
        **params,
    )
    return [_handover(r) for r in rows]


async def list_by_status(tx: Tx, status: HandoverStatus) -> list[HandoverRow]:
    rows = await tx.fetch(f"SELECT {COLUMNS} FROM handovers WHERE status = :status ORDER BY id", status=status)
    return [_handover(r) for r in rows]


def waiting_since(handover: HandoverRow) -> datetime:
    """When the citizen's present wait began: joining the queue, or being put back in it by an eMentor."""
    return handover["taken_at"] or handover["created_at"]


async def waiting_since_before(tx: Tx, moment: datetime) -> list[HandoverRow]:
    """Citizens still waiting whose present wait began before `moment`, first come first."""
    rows = await tx.fetch(
        f"SELECT {COLUMNS} FROM handovers WHERE status = :waiting AND COALESCE(taken_at, created_at) < :moment"
        " ORDER BY id",
        waiting=HandoverStatus.WAITING,
        moment=moment,
    )
    return [_handover(r) for r in rows]


async def queue_position(tx: Tx, handover: HandoverRow) -> int:
    rows = await tx.fetch(
        "SELECT COUNT(*) AS n FROM handovers WHERE status = :waiting AND id <= :id",
        waiting=HandoverStatus.WAITING,
        id=handover["id"],
    )
    return max(1, int(rows[0]["n"]))


async def wait_minutes(tx: Tx, settings: Settings, now: datetime, position: int) -> int:
    return expected_wait(position, settings.handover.minutes_per_citizen, await online_count(tx, now))


async def queue_line(tx: Tx, settings: Settings, now: datetime, handover: HandoverRow, key: str) -> str:
    """The citizen's place in the queue and an honest wait (phrase `key`: queued | still_waiting). A wait that
    would reach past the wait limit — when the citizen is offered a booking anyway — is never told as a
    number: they hear it may take longer than the limit, and that they can book a time."""
    position = await queue_position(tx, handover)
    minutes = await wait_minutes(tx, settings, now, position)
    limit = settings.handover.wait_limit_minutes
    left = limit - (now - waiting_since(handover)) / timedelta(minutes=1)
    if minutes >= left:
        return phrases(settings).get(f"{key}_long", handover["language"], position=position, limit=limit)
    return phrases(settings).get(key, handover["language"], position=position, minutes=minutes)


async def messages(tx: Tx, handover_id: int, after: int = 0) -> list[MessageRow]:
    rows = await tx.fetch(
        "SELECT id, author, text, created_at FROM handover_messages WHERE handover_id = :h AND id > :after ORDER BY id",
        h=handover_id,
        after=after,
    )
    return cast(list[MessageRow], rows)


async def note(tx: Tx, handover_id: int, author: str, text: str, now: datetime) -> None:
    """One line of the talk, kept redacted: a citizen's words wholly (CPR number, code, phone number, e-mail),
    an eMentor's or the bot's CPR numbers and codes (a support line's number they give stays)."""
    await tx.execute(
        "INSERT INTO handover_messages (handover_id, author, text, created_at) VALUES (:h, :author, :text, :now)",
        h=handover_id,
        author=author,
        text=redacted(text[:MAX_TEXT], EVERY_KIND if author == "citizen" else SECRETS),
        now=now,
    )


async def last_note_at(tx: Tx, handover_id: int, author: str) -> datetime | None:
    rows = await tx.fetch(
        "SELECT MAX(created_at) AS last_at FROM handover_messages WHERE handover_id = :h AND author = :author",
        h=handover_id,
        author=author,
    )
    last: datetime | None = rows[0]["last_at"]
    return last


# ---- what the eMentors are told ------------------------------------------------------------------------------
def topic_title(settings: Settings, topic: str | None, language: str = GROUP_LANGUAGE) -> str | None:
    """The topic's title as the citizen saw it ("MitID virker ikke"), or its id for a flow no longer there."""
    flow = flows_of(settings).get(topic or "")
    return flow.title.get(language) if flow is not None else topic


def steps_of(handover: HandoverRow) -> list[dict[str, str]]:
    """The steps as stored: [{"step", "outcome", "answer"}, …], oldest first (bot/flows/topic.py)."""
    steps: list[dict[str, str]] = json.loads(handover["tried"] or "[]")
    return steps


def steps_in_words(
    settings: Settings, topic: str | None, tried: str, language: str = GROUP_LANGUAGE
) -> list[dict[str, str]]:
    """The steps the citizen saw, each with its id, what the bot said and the answer given, in words."""
    flow = flows_of(settings).get(topic or "")
    return [
        {"id": d["step"], "text": d["text"], "answer": d["answer"], "outcome": d["outcome"]}
        for d in described(flow, json.loads(tried or "[]"), language)
    ]


def notice_body(
    settings: Settings, handover: HandoverRow, now: datetime, language: str = GROUP_LANGUAGE
) -> dict[str, Any]:
    """What the eMentor needs to help, and no more: no citizen text, no sender id, no private notes. Times in
    Copenhagen time, the topic and the steps in words beside their ids."""
    steps = json.loads(handover["tried"] or "[]")
    flow = flows_of(settings).get(handover["topic"] or "")
    failed = failed_step(steps)
    return {
        "handover": handover["id"],
        "status": handover["status"],
        "topic": handover["topic"],
        "topic_title": topic_title(settings, handover["topic"], language),
        "steps": steps_in_words(settings, handover["topic"], handover["tried"], language),
        "failed_at": failed,
        "failed_at_text": step_text(flow, failed, language) if failed else None,
        "language": handover["language"],
        "channel": handover["channel"],
        "waiting_since": local(
            waiting_since(handover) if handover["status"] == HandoverStatus.WAITING else handover["created_at"]
        ),
        "ementor": handover["ementor_name"],
        "ended_by": handover["ended_by"],
        "at": local(now),
    }


async def tell_group(
    tx: Tx,
    settings: Settings,
    now: datetime,
    kind: str,
    handover: HandoverRow,
    text: str,
    buttons: tuple[Button, ...] = (),
) -> None:
    body = notice_body(settings, handover, now)
    await notify(tx, settings, now, kind, body, text, buttons, handover_id=int(handover["id"]))


async def tell_citizen(tx: Tx, now: datetime, handover: HandoverRow, message: Outbound) -> None:
    await enqueue(
        tx, "handover", handover["channel"], handover["sender"], [message], now, now, handover_id=int(handover["id"])
    )


def _take_button(settings: Settings, handover_id: int) -> Button:
    return Button(phrases(settings).get("group_take", GROUP_LANGUAGE), format_payload("take", h=str(handover_id)))


def _end_button(settings: Settings, handover_id: int) -> Button:
    return Button(phrases(settings).get("group_end", GROUP_LANGUAGE), format_payload("end", h=str(handover_id)))


def _queue_buttons(settings: Settings, language: str) -> tuple[Button, ...]:
    p = phrases(settings)
    return (
        Button(p.get("button_book_instead", language), format_payload("book_ementor")),
        Button(p.get("button_leave", language), format_payload("leave_queue")),
    )


def _booking_buttons(settings: Settings, language: str) -> tuple[Button, ...]:
    p = phrases(settings)
    return (
        Button(p.get("button_book", language), format_payload("book_ementor")),
        Button(p.get("button_menu", language), format_payload("help")),
    )


# ---- the citizen's side --------------------------------------------------------------------------------------
async def request(
    tx: Tx, settings: Settings, now: datetime, channel: str, sender: str, language: str, topic: Topic, flow: Flow | None
) -> tuple[HandoverRow, bool]:
    """Queue the conversation (True) or return the hand-over it already has open (False)."""
    steps = json.dumps(list(topic.steps), ensure_ascii=False)
    created = await tx.fetch(
        "INSERT INTO handovers (channel, sender, language, topic, tried, status, created_at)"
        " VALUES (:channel, :sender, :language, :topic, :tried, :waiting, :now) ON CONFLICT DO NOTHING RETURNING id",
        waiting=HandoverStatus.WAITING,
        channel=channel,
        sender=sender,
        language=language,
        topic=topic.flow,
        tried=steps,
        now=now,
    )
    handover = await open_for(tx, channel, sender)
    assert handover is not None  # just inserted, or the one in the way
    if created:
        p = phrases(settings)
        g = GROUP_LANGUAGE
        text = p.get(
            "group_request",
            g,
            id=handover["id"],
            topic=flow.title.get(g) if flow is not None else (topic.flow or p.get("no_topic", g)),
            lang=language,
            channel=channel,
            tried=steps_line(flow, topic.steps) or p.get("nothing", g),
            failed=step_text(flow, topic.failed_at or "", g) or p.get("nothing", g),
            since=words.clock(now, GROUP_LANGUAGE),
        )
        await tell_group(tx, settings, now, "handover", handover, text, (_take_button(settings, handover["id"]),))
    return handover, bool(created)


async def citizen_says(tx: Tx, settings: Settings, now: datetime, handover: HandoverRow, text: str) -> bool:
    """Keep the citizen's words for the eMentor; relay them to the group when taken there. A CPR number, code,
    phone number or e-mail in them is masked first: the eMentor sees the question, never the secret. False
    when nothing is left to relay (only a CPR number or a code)."""
    kept = redact(text.strip()[:MAX_TEXT])
    if not kept.text or kept.only_secret:
        return False
    text = kept.text
    await note(tx, int(handover["id"]), "citizen", text, now)
    group = settings.handover.telegram_group_chat_id
    if handover["status"] == HandoverStatus.ACTIVE and handover["ementor_telegram_id"] is not None and group:
        line = phrases(settings).get("group_citizen", GROUP_LANGUAGE, id=handover["id"], text=text)
        await enqueue(
            tx, "handover", GROUP_CHANNEL, str(group), [Outbound(line)], now, now, handover_id=int(handover["id"])
        )
    return True


async def leave(tx: Tx, settings: Settings, now: datetime, handover: HandoverRow) -> bool:
    """The citizen leaves the queue, or ends a talk with the eMentor; False when it was already closed."""
    if handover["status"] == HandoverStatus.ACTIVE:
        return await end(tx, settings, now, int(handover["id"]), "citizen")
    first = await first_waiting(tx)
    changed = await tx.execute(
        "UPDATE handovers SET status = :left, ended_at = :now, ended_by = 'citizen'"
        " WHERE id = :id AND status = :waiting",
        left=HandoverStatus.LEFT,
        waiting=HandoverStatus.WAITING,
        now=now,
        id=handover["id"],
    )
    if changed:
        closed: HandoverRow = {**handover, "status": HandoverStatus.LEFT, "ended_by": "citizen"}
        text = phrases(settings).get("group_left", GROUP_LANGUAGE, id=handover["id"])
        await tell_group(tx, settings, now, "handover_left", closed, text)
        await tell_new_first(tx, settings, now, first)
    return changed > 0


async def tell_new_first(tx: Tx, settings: Settings, now: datetime, before: HandoverRow | None) -> None:
    """After someone ahead left the queue (taken, gone, timed out): the citizen now first, when that is news
    to them, hears it. Only the new first is told — a long queue is not sent a line each time it moves."""
    first = await first_waiting(tx)
    if first is None or (before is not None and first["id"] == before["id"]):
        return
    text = await queue_line(tx, settings, now, first, "moved_up")
    await note(tx, int(first["id"]), "bot", text, now)
    await tell_citizen(tx, now, first, Outbound(text, _queue_buttons(settings, first["language"])))


async def close_waiting(tx: Tx, settings: Settings, now: datetime, handover: HandoverRow, why: str) -> bool:
    """Take a waiting citizen out of the queue because nobody can answer (`why`: timeout | offline |
    delivery_failed), and offer a booking instead; False when they were no longer waiting."""
    changed = await tx.execute(
        "UPDATE handovers SET status = :expired, ended_at = :now, ended_by = :why WHERE id = :id AND status = :waiting",
        expired=HandoverStatus.EXPIRED,
        waiting=HandoverStatus.WAITING,
        now=now,
        why=why,
        id=handover["id"],
    )
    if not changed:
        return False
    p = phrases(settings)
    lang = handover["language"]
    told = {"timeout": "expired", "offline": "nobody_left", "delivery_failed": "delivery_failed"}[why]
    await tell_citizen(tx, now, handover, Outbound(p.get(told, lang), _booking_buttons(settings, lang)))
    closed: HandoverRow = {**handover, "status": HandoverStatus.EXPIRED, "ended_by": why, "ended_at": now}
    if why == "delivery_failed":  # the group is what failed: the console's feed only, never the citizen's words
        body = notice_body(settings, closed, now)
        await tx.fetch(
            "INSERT INTO notices (kind, body, created_at) VALUES ('delivery_failed', :body, :now) RETURNING id",
            body=json.dumps(redacted_values(body, SECRETS), ensure_ascii=False, default=str),
            now=now,
        )
    else:
        kind, key = ("handover_expired", "group_expired") if why == "timeout" else ("handover_offline", "group_offline")
        await tell_group(tx, settings, now, kind, closed, p.get(key, GROUP_LANGUAGE, id=handover["id"]))
    return True


async def close_queue_if_nobody_online(tx: Tx, settings: Settings, now: datetime) -> int:
    """When the last eMentor has gone offline (said so, was disabled, or their online time ran out), every
    waiting citizen is told that nobody can answer now and offered a booking; the number told. One cheap query
    when someone is online or nobody waits, so it can run on every tick of the delivery worker."""
    rows = await tx.fetch(
        f"SELECT {COLUMNS} FROM handovers WHERE status = :waiting AND NOT EXISTS (SELECT 1 FROM ementors"
        " WHERE active = 1 AND online_until IS NOT NULL AND online_until > :now) ORDER BY id",
        waiting=HandoverStatus.WAITING,
        now=now,
    )
    return sum([await close_waiting(tx, settings, now, _handover(r), "offline") for r in rows])


nobody_online_check = close_queue_if_nobody_online  # the name the console calls it by


async def close_unannounced(tx: Tx, settings: Settings, now: datetime) -> int:
    """Waiting citizens whose request never reached the eMentors' group (the notice failed for good, e.g.
    "Chat not found") are told and offered a booking, and the console's feed gets a `delivery_failed` notice;
    the number closed."""
    rows = await tx.fetch(
        f"SELECT {', '.join('h.' + c for c in HandoverRow.__annotations__)} FROM handovers h WHERE h.status = :waiting"
        " AND EXISTS (SELECT 1 FROM outbox o WHERE o.handover_id = h.id AND o.kind = 'notice'"
        " AND o.channel = :group_channel AND o.status = :failed) ORDER BY h.id",
        waiting=HandoverStatus.WAITING,
        group_channel=GROUP_CHANNEL,
        failed=OutboxStatus.FAILED,
    )
    if not rows:
        return 0
    first = await first_waiting(tx)
    closed = sum([await close_waiting(tx, settings, now, _handover(r), "delivery_failed") for r in rows])
    await tell_new_first(tx, settings, now, first)
    return closed


# ---- the eMentor's side --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Taken:
    outcome: str  # taken | already (by someone else; `handover` says who) | gone (unknown or closed)
    handover: HandoverRow | None


async def take(
    tx: Tx,
    settings: Settings,
    now: datetime,
    handover_id: int,
    ementor_id: int | None,
    name: str,
    telegram_user_id: int | None = None,
) -> Taken:
    """The eMentor takes a waiting citizen: exactly one of several at once wins."""
    first = await first_waiting(tx)
    changed = await tx.execute(
        "UPDATE handovers SET status = :active, ementor_id = :ementor, ementor_name = :name,"
        " ementor_telegram_id = :telegram, taken_at = :now WHERE id = :id AND status = :waiting",
        active=HandoverStatus.ACTIVE,
        waiting=HandoverStatus.WAITING,
        ementor=ementor_id,
        name=name[:80],
        telegram=telegram_user_id,
        now=now,
        id=handover_id,
    )
    handover = await get(tx, handover_id)
    if not changed:
        if handover is not None and handover["status"] == HandoverStatus.ACTIVE:
            return Taken("already", handover)
        return Taken("gone", handover)
    assert handover is not None
    p = phrases(settings)
    lang = handover["language"]
    leave = Button(p.get("button_end_chat", lang), format_payload("leave_queue"))
    await tell_citizen(tx, now, handover, Outbound(p.get("taken", lang, name=accounts.first_name(name)), (leave,)))
    g = GROUP_LANGUAGE
    text = p.get("group_taken", g, name=name, id=handover_id)
    said = [m["text"] for m in await messages(tx, handover_id) if m["author"] == "citizen"]
    if said and telegram_user_id is not None:
        text += "\n" + "\n".join(p.get("group_citizen", g, id=handover_id, text=t) for t in said)
    await tell_group(tx, settings, now, "handover_taken", handover, text, (_end_button(settings, handover_id),))
    await tell_new_first(tx, settings, now, first)
    return Taken("taken", handover)


def taken_by(handover: HandoverRow, ementor_id: int | None, telegram_user_id: int | None) -> bool:
    """Whether this eMentor (an account, or a Telegram user not linked to one) holds the hand-over."""
    if handover["status"] != HandoverStatus.ACTIVE:
        return False
    if ementor_id is not None and handover["ementor_id"] == ementor_id:
        return True
    return telegram_user_id is not None and handover["ementor_telegram_id"] == telegram_user_id


async def ementor_says(tx: Tx, settings: Settings, now: datetime, handover: HandoverRow, text: str) -> None:
    """The eMentor's words to the citizen, on the citizen's own channel: a CPR number or a code an eMentor
    writes is neither sent nor kept (a support line's number is)."""
    text = redacted(text.strip()[:MAX_TEXT], SECRETS)
    await note(tx, int(handover["id"]), "ementor", text, now)
    name = accounts.first_name(handover["ementor_name"] or "eMentor")
    line = phrases(settings).get("ementor_says", handover["language"], name=name, text=text)
    await tell_citizen(tx, now, handover, Outbound(line))


async def _ended_by_words(tx: Tx, settings: Settings, ended_by: str) -> str:
    """Who or what ended a hand-over, for the eMentors' line: "af Anna Hansen", "af borgeren", "automatisk …"."""
    p = phrases(settings)
    kind, _, number = ended_by.partition(":")
    if kind == "ementor":
        account = await accounts.by_id(tx, int(number)) if number.isdigit() else None
        return p.get("by_ementor", GROUP_LANGUAGE, name=account["name"] if account else "eMentor")
    key = {"citizen": "by_citizen", "timeout": "by_timeout", "offline": "by_offline"}.get(kind, "by_delivery_failed")
    return p.get(key, GROUP_LANGUAGE)


async def end(tx: Tx, settings: Settings, now: datetime, handover_id: int, ended_by: str, why: str = "ended") -> bool:
    """End an active hand-over: the bot is back, and says so (phrase `why`); False when it was not active.
    `ended_by` is kept and told to the eMentors: "ementor:<id>", "citizen", "timeout" or "offline"."""
    changed = await tx.execute(
        "UPDATE handovers SET status = :ended, ended_at = :now, ended_by = :by WHERE id = :id AND status = :active",
        ended=HandoverStatus.ENDED,
        active=HandoverStatus.ACTIVE,
        now=now,
        by=ended_by[:40],
        id=handover_id,
    )
    handover = await get(tx, handover_id)
    if not changed or handover is None:
        return False
    p = phrases(settings)
    lang = handover["language"]
    buttons = (
        Button(p.get("button_helped", lang), format_payload("thanks")),
        Button(p.get("button_book", lang), format_payload("book_ementor")),
        Button(p.get("button_menu", lang), format_payload("help")),
    )
    if ended_by != "citizen":  # a citizen who ended it is answered in their own turn
        await tell_citizen(tx, now, handover, Outbound(p.get(why, lang), buttons))
    by = await _ended_by_words(tx, settings, ended_by)
    await tell_group(
        tx, settings, now, "handover_ended", handover, p.get("group_ended", GROUP_LANGUAGE, id=handover_id, by=by)
    )
    return True


async def transfer(
    tx: Tx, settings: Settings, now: datetime, handover_id: int, from_ementor_id: int, to_ementor_id: int | None
) -> str:
    """Hand an active talk to a colleague (`to_ementor_id`), or back to the queue (None) at its old place.

    Outcomes: "transferred" | "queued" | "not_yours" (not active, or held by someone else) | "no_colleague"
    (unknown or disabled account, or oneself). The citizen is told who helps them now ("Du bliver nu hjulpet af
    Bo") or that they are back in the queue; the eMentors see it in the group and the feed. The time it changed
    hands restarts the idle clock (and, back in the queue, the wait limit)."""
    row = await get(tx, handover_id)
    if row is None or not taken_by(row, from_ementor_id, None):
        return "not_yours"
    p = phrases(settings)
    g, lang = GROUP_LANGUAGE, row["language"]
    giver = row["ementor_name"] or "eMentor"
    if to_ementor_id is None:
        changed = await tx.execute(
            "UPDATE handovers SET status = :waiting, ementor_id = NULL, ementor_name = NULL,"
            " ementor_telegram_id = NULL, taken_at = :now WHERE id = :id AND status = :active AND ementor_id = :me",
            waiting=HandoverStatus.WAITING,
            active=HandoverStatus.ACTIVE,
            now=now,
            id=handover_id,
            me=from_ementor_id,
        )
        queued = await get(tx, handover_id)
        if not changed or queued is None:
            return "not_yours"
        line = p.get("requeued", lang) + " " + await queue_line(tx, settings, now, queued, "still_waiting")
        await note(tx, handover_id, "bot", line, now)
        await tell_citizen(tx, now, queued, Outbound(line, _queue_buttons(settings, lang)))
        text = p.get("group_requeued", g, id=handover_id, name=giver)
        await tell_group(tx, settings, now, "handover_requeued", queued, text, (_take_button(settings, handover_id),))
        await audit.record(tx, now, from_ementor_id, "handover_transfer", f"handover:{handover_id}", {"to": None})
        return "queued"
    colleague = await accounts.by_id(tx, to_ementor_id)
    if colleague is None or not colleague["active"] or to_ementor_id == from_ementor_id:
        return "no_colleague"
    in_group = row["ementor_telegram_id"] is not None  # taken in the group: the colleague answers there too
    changed = await tx.execute(
        "UPDATE handovers SET ementor_id = :to, ementor_name = :name, ementor_telegram_id = :telegram,"
        " taken_at = :now WHERE id = :id AND status = :active AND ementor_id = :me",
        to=to_ementor_id,
        name=colleague["name"],
        telegram=colleague["telegram_user_id"] if in_group else None,
        active=HandoverStatus.ACTIVE,
        now=now,
        id=handover_id,
        me=from_ementor_id,
    )
    moved = await get(tx, handover_id)
    if not changed or moved is None:
        return "not_yours"
    line = p.get("transferred", lang, name=accounts.first_name(colleague["name"]))
    leave = Button(p.get("button_end_chat", lang), format_payload("leave_queue"))
    await note(tx, handover_id, "bot", line, now)
    await tell_citizen(tx, now, moved, Outbound(line, (leave,)))
    text = p.get("group_transferred", g, id=handover_id, giver=giver, name=colleague["name"])
    await tell_group(tx, settings, now, "handover_transferred", moved, text, (_end_button(settings, handover_id),))
    await audit.record(tx, now, from_ementor_id, "handover_transfer", f"handover:{handover_id}", {"to": to_ementor_id})
    return "transferred"


async def set_notes(tx: Tx, handover_id: int, notes: str) -> bool:
    """The eMentors' private notes on a hand-over (replacing the old ones; at most MAX_NOTES characters, else
    ValueError). Never sent to the citizen, never in a notice. False for an unknown hand-over. A CPR number or
    a code written in them is masked."""
    if len(notes) > MAX_NOTES:
        raise ValueError(f"notes are at most {MAX_NOTES} characters")
    kept = redacted(notes, SECRETS)
    return await tx.execute("UPDATE handovers SET notes = :notes WHERE id = :id", notes=kept, id=handover_id) > 0


async def set_outcome(tx: Tx, handover_id: int, outcome: str | None) -> bool:
    """What came of a hand-over, one of OUTCOMES (None: not said; anything else: ValueError); False for an
    unknown hand-over."""
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError(f"an outcome is one of {', '.join(OUTCOMES)}")
    return await tx.execute("UPDATE handovers SET outcome = :o WHERE id = :id", o=outcome, id=handover_id) > 0
