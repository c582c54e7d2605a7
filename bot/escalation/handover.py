"""Live hand-over: a citizen waits in a queue, an eMentor takes the conversation, they talk, it ends.

The rules live here, over a `Tx`, so the citizen's turn (handlers/handover.py), the eMentor API and the
eMentors' Telegram group all change a hand-over the same way, inside their own transaction. Whatever one
side says to the other goes through the outbox: the citizen hears the eMentor on the citizen's own channel,
the eMentor hears the citizen in the group (when taken there) and through the API's message list.

One open hand-over per conversation is the database's rule (the partial unique index handovers_one_open);
taking is one conditional UPDATE, so when two eMentors press "Tag samtalen" at once exactly one wins.
Secrets (CPR numbers, passwords) are never relayed, and the notices carry no citizen text.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict, cast

from bot.config import Settings
from bot.core import words
from bot.core.messages import Button, Outbound
from bot.core.payloads import format_payload
from bot.core.ports import Row, Tx
from bot.core.privacy import find_secret
from bot.core.statuses import OPEN_HANDOVER, HandoverStatus, sql_list
from bot.delivery.notices import GROUP_CHANNEL, notify
from bot.delivery.outbox import enqueue
from bot.escalation.accounts import online_count
from bot.flows.model import Flow
from bot.flows.phrases import Phrases, load_phrases
from bot.flows.topic import Topic, failed_step, step_text, steps_line

MAX_TEXT = 4000
GROUP_LANGUAGE = "da"  # the eMentors' own language
KEYS = (
    "queued", "still_waiting", "nobody_online", "closed_now", "left", "not_in_queue", "taken", "ementor_says", "ended",
    "ended_by_you", "ended_idle", "expired", "button_end_chat",
    "button_book_instead", "button_leave", "button_helped", "button_book", "button_menu",
    "group_request", "group_take", "group_end", "group_taken", "group_citizen", "group_ended", "group_left",
    "group_expired", "nothing", "no_topic", "you_took", "already_taken", "not_open", "you_ended", "not_yours",
    "marked_attended", "marked_no_show", "unknown_booking", "online", "offline", "not_linked",
)  # fmt: skip


class HandoverRow(TypedDict):
    id: int
    channel: str
    sender: str
    language: str
    topic: str | None
    tried: str  # JSON list of {"flow", "step", "outcome"}
    status: HandoverStatus
    ementor_id: int | None
    ementor_name: str | None
    ementor_telegram_id: int | None  # taken in the eMentors' Telegram group, by this user
    created_at: datetime
    taken_at: datetime | None
    ended_at: datetime | None


class MessageRow(TypedDict):
    id: int
    author: str  # citizen | ementor | bot
    text: str
    created_at: datetime


COLUMNS = ", ".join(HandoverRow.__annotations__)


def _handover(row: Row) -> HandoverRow:
    return cast(HandoverRow, {**row, "status": HandoverStatus(row["status"])})


@functools.lru_cache(maxsize=4)
def _load(path: str) -> Phrases:
    return load_phrases(path).require(KEYS)


def phrases(settings: Settings) -> Phrases:
    """flows/ui/handover.yml of the configured flows folder (read once)."""
    return _load(str(Path(settings.conversation.flows) / "ui" / "handover.yml"))


def expected_wait(position: int, minutes_per_citizen: int, online: int) -> int:
    """Minutes a citizen at `position` in the queue can expect to wait, with `online` eMentors serving."""
    return max(1, position * minutes_per_citizen // max(1, online))


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


async def list_by_status(tx: Tx, status: HandoverStatus) -> list[HandoverRow]:
    rows = await tx.fetch(f"SELECT {COLUMNS} FROM handovers WHERE status = :status ORDER BY id", status=status)
    return [_handover(r) for r in rows]


async def waiting_since_before(tx: Tx, moment: datetime) -> list[HandoverRow]:
    """Citizens still waiting who joined the queue before `moment`, first come first."""
    rows = await tx.fetch(
        f"SELECT {COLUMNS} FROM handovers WHERE status = :waiting AND created_at < :moment ORDER BY id",
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


async def messages(tx: Tx, handover_id: int, after: int = 0) -> list[MessageRow]:
    rows = await tx.fetch(
        "SELECT id, author, text, created_at FROM handover_messages WHERE handover_id = :h AND id > :after ORDER BY id",
        h=handover_id,
        after=after,
    )
    return cast(list[MessageRow], rows)


async def note(tx: Tx, handover_id: int, author: str, text: str, now: datetime) -> None:
    await tx.execute(
        "INSERT INTO handover_messages (handover_id, author, text, created_at) VALUES (:h, :author, :text, :now)",
        h=handover_id,
        author=author,
        text=text[:MAX_TEXT],
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
def notice_body(handover: HandoverRow, now: datetime) -> dict[str, Any]:
    """What the eMentor needs to help, and no more: no citizen text, no sender id."""
    steps = json.loads(handover["tried"] or "[]")
    return {
        "handover": handover["id"],
        "status": handover["status"],
        "topic": handover["topic"],
        "steps": steps,
        "failed_at": failed_step(steps),
        "language": handover["language"],
        "channel": handover["channel"],
        "waiting_since": handover["created_at"].isoformat(),
        "ementor": handover["ementor_name"],
        "at": now.isoformat(),
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
    await notify(tx, settings, now, kind, notice_body(handover, now), text, buttons, handover_id=int(handover["id"]))


async def tell_citizen(tx: Tx, now: datetime, handover: HandoverRow, message: Outbound) -> None:
    await enqueue(
        tx, "handover", handover["channel"], handover["sender"], [message], now, now, handover_id=int(handover["id"])
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
        take = Button(p.get("group_take", g), format_payload("take", h=str(handover["id"])))
        await tell_group(tx, settings, now, "handover", handover, text, (take,))
    return handover, bool(created)


async def citizen_says(tx: Tx, settings: Settings, now: datetime, handover: HandoverRow, text: str) -> bool:
    """Keep the citizen's words for the eMentor; relay them to the group when taken there. Never a secret."""
    text = text.strip()[:MAX_TEXT]
    if not text or find_secret(text):
        return False
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
        return await end(tx, settings, now, int(handover["id"]), by_citizen=True)
    changed = await tx.execute(
        "UPDATE handovers SET status = :left, ended_at = :now WHERE id = :id AND status = :waiting",
        left=HandoverStatus.LEFT,
        waiting=HandoverStatus.WAITING,
        now=now,
        id=handover["id"],
    )
    if changed:
        closed: HandoverRow = {**handover, "status": HandoverStatus.LEFT}
        text = phrases(settings).get("group_left", GROUP_LANGUAGE, id=handover["id"])
        await tell_group(tx, settings, now, "handover_left", closed, text)
    return changed > 0


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
    citizen_name = name.split()[0] if name.split() else "eMentor"
    lang = handover["language"]
    leave = Button(p.get("button_end_chat", lang), format_payload("leave_queue"))
    await tell_citizen(tx, now, handover, Outbound(p.get("taken", lang, name=citizen_name), (leave,)))
    g = GROUP_LANGUAGE
    text = p.get("group_taken", g, name=name, id=handover_id)
    said = [m["text"] for m in await messages(tx, handover_id) if m["author"] == "citizen"]
    if said and telegram_user_id is not None:
        text += "\n" + "\n".join(p.get("group_citizen", g, id=handover_id, text=t) for t in said)
    end_button = Button(p.get("group_end", g), format_payload("end", h=str(handover_id)))
    await tell_group(tx, settings, now, "handover_taken", handover, text, (end_button,))
    return Taken("taken", handover)


def taken_by(handover: HandoverRow, ementor_id: int | None, telegram_user_id: int | None) -> bool:
    """Whether this eMentor (an account, or a Telegram user not linked to one) holds the hand-over."""
    if handover["status"] != HandoverStatus.ACTIVE:
        return False
    if ementor_id is not None and handover["ementor_id"] == ementor_id:
        return True
    return telegram_user_id is not None and handover["ementor_telegram_id"] == telegram_user_id


async def ementor_says(tx: Tx, settings: Settings, now: datetime, handover: HandoverRow, text: str) -> None:
    """The eMentor's words to the citizen, on the citizen's own channel."""
    text = text.strip()[:MAX_TEXT]
    await note(tx, int(handover["id"]), "ementor", text, now)
    name = (handover["ementor_name"] or "eMentor").split()[0]
    line = phrases(settings).get("ementor_says", handover["language"], name=name, text=text)
    await tell_citizen(tx, now, handover, Outbound(line))


async def end(
    tx: Tx, settings: Settings, now: datetime, handover_id: int, by_citizen: bool = False, why: str = "ended"
) -> bool:
    """End an active hand-over: the bot is back, and says so (phrase `why`); False when it was not active."""
    changed = await tx.execute(
        "UPDATE handovers SET status = :ended, ended_at = :now WHERE id = :id AND status = :active",
        ended=HandoverStatus.ENDED,
        active=HandoverStatus.ACTIVE,
        now=now,
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
    if not by_citizen:  # a citizen who ended it is answered in their own turn
        await tell_citizen(tx, now, handover, Outbound(p.get(why, lang), buttons))
    await tell_group(
        tx, settings, now, "handover_ended", handover, p.get("group_ended", GROUP_LANGUAGE, id=handover_id)
    )
    return True
