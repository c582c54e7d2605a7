"""The citizen's side of a live hand-over: asking for a person, waiting in the queue, talking, leaving.

`talk_to_human` queues the citizen when an eMentor is online and it is a working hour, and otherwise starts
the booking flow with one line saying why. The hook `in_handover` runs before anything else in a turn:
while a citizen waits, what they write is kept for the eMentor and acknowledged (with the queue position at
most once a minute, so a citizen writing several lines is not flooded) — never an empty reply; while an
eMentor has the conversation, everything goes to the eMentor and the bot says nothing at all, except to end
it when the citizen presses "Afslut samtalen" or types it ("stop", "afslut", "end chat": flows/ui/handover.yml),
and to say so when a message was not passed on because it looked like a CPR number or a password.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.messages import Button, Outbound
from bot.core.payloads import format_payload, parse_payload
from bot.core.statuses import HandoverStatus
from bot.core.turn import DialogueState, Result, Understanding
from bot.escalation import handover
from bot.escalation.availability import unavailable_because
from bot.escalation.handover import HandoverRow
from bot.flows.topic import topic_of
from handlers.booking import book_ementor
from handlers.context import Context, Handler

LEAVE = frozenset({"leave_queue", "book_ementor", "stop"})
QUIET = timedelta(minutes=1)  # the waiting citizen hears the queue position at most this often


def _queue_buttons(ctx: Context, language: str) -> tuple[Button, ...]:
    p = handover.phrases(ctx.settings)
    return (
        Button(p.get("button_book_instead", language), format_payload("book_ementor")),
        Button(p.get("button_leave", language), format_payload("leave_queue")),
    )


async def _booking(ctx: Context, state: DialogueState, u: Understanding, intro: Outbound) -> Result:
    """The booking flow, after `intro` saying why."""
    result = await book_ementor(ctx, state, Understanding("book_ementor", u.text, 1.0, (), {}, u.language))
    return Result(result.state, [intro, *result.messages], result.outcome, result.private)


async def _position(ctx: Context, state: DialogueState, row: HandoverRow, key: str, before: str = "") -> Outbound:
    """The queue position and an honest wait (phrase `key`), after `before` when given; kept in the transcript."""
    language = ctx.language(state)
    line = await handover.queue_line(ctx.tx, ctx.settings, ctx.now, {**row, "language": language}, key)
    text = f"{before} {line}" if before else line
    await handover.note(ctx.tx, int(row["id"]), "bot", text, ctx.now)
    return Outbound(text, _queue_buttons(ctx, language))


async def talk_to_human(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    language = ctx.language(state)
    why = await unavailable_because(ctx.tx, ctx.settings, ctx.now)
    if why is not None:
        return await _booking(ctx, state, u, Outbound(handover.phrases(ctx.settings).get(why, language)))
    topic = topic_of(state)
    flow = ctx.engine.flows.get(topic.flow or "")
    row, _ = await handover.request(ctx.tx, ctx.settings, ctx.now, ctx.channel, ctx.sender, language, topic, flow)
    state = state.but(handover=True, asked_more=False, fallbacks=0)
    return Result(state, [await _position(ctx, state, row, "queued")], "handover_queued")


async def leave_queue(ctx: Context, state: DialogueState, u: Understanding) -> Result:
    """Only reached outside a hand-over (the hook handles it inside one): nothing to leave."""
    note = Outbound(handover.phrases(ctx.settings).get("not_in_queue", ctx.language(state)))
    menu = ctx.engine.menu(state, "not_in_queue")
    return Result(menu.state, [note, *menu.messages], menu.outcome)


async def in_handover(ctx: Context, state: DialogueState, u: Understanding) -> Result | DialogueState | None:
    """Run first in every turn: None unless the conversation has a waiting or active hand-over.

    Only a citizen's own request starts a hand-over, so the database is asked only after one (state.handover):
    the turns of everyone else cost no extra query. The eMentor, the API or a timeout may end it meanwhile."""
    if not state.handover:
        return None
    row = await handover.open_for(ctx.tx, ctx.channel, ctx.sender)
    if row is None:
        return state.but(handover=False)
    p = handover.phrases(ctx.settings)
    language = ctx.language(state)
    typed = parse_payload(u.text) is None
    if row["status"] == HandoverStatus.ACTIVE:
        if u.intent == "leave_queue" or (typed and handover.says_end(ctx.settings, u.text)):  # "Afslut samtalen"
            await handover.leave(ctx.tx, ctx.settings, ctx.now, row)
            menu = ctx.engine.menu(state, "handover_ended")
            return Result(menu.state, [Outbound(p.get("ended_by_you", language)), *menu.messages], menu.outcome)
        if await handover.citizen_says(ctx.tx, ctx.settings, ctx.now, row, u.text) or not u.text.strip():
            return Result(state, [], "relayed", private=True)
        return Result(state, [Outbound(p.get("not_relayed", language))], "not_relayed", private=True)
    if u.intent in LEAVE or (typed and handover.says_end(ctx.settings, u.text)):  # "afslut" while waiting too
        await handover.leave(ctx.tx, ctx.settings, ctx.now, row)
        left = Outbound(p.get("left", language))
        if u.intent == "book_ementor":
            return await _booking(ctx, state, u, left)
        menu = ctx.engine.menu(state, "left_queue")
        return Result(menu.state, [left, *menu.messages], menu.outcome)
    said = ""
    if typed and u.text.strip():
        kept = await handover.citizen_says(ctx.tx, ctx.settings, ctx.now, row, u.text)
        said = p.get("acknowledged" if kept else "not_relayed", language)
    last = await handover.last_note_at(ctx.tx, int(row["id"]), "bot")
    if said and u.intent != "talk_to_human" and last is not None and ctx.now - last < QUIET:
        return Result(state, [Outbound(said, _queue_buttons(ctx, language))], "waiting", private=typed)
    return Result(state, [await _position(ctx, state, row, "still_waiting", said)], "waiting", private=typed)


ACTIONS: dict[str, Handler[Result | None]] = {"talk_to_human": talk_to_human, "leave_queue": leave_queue}
