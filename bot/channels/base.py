"""What every channel shares: asking the bot for its replies, the apology when the database is away, and
links written into text for channels that can only show text.

A channel translates between its wire format and `bot.core.messages`; it never touches the database or the
intent model. It talks to a `Replier` (the dispatcher) handed in by the composition root, which also gives
it the apology, so the "try again in a moment" text is made once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core import metrics
from bot.core.edge import Refused
from bot.core.limits import TokenBuckets
from bot.core.messages import Inbound, Link, Outbound
from bot.core.ports import Replier, StorageUnavailable
from bot.core.senders import SenderIds


def with_links(text: str, links: Sequence[Link]) -> str:
    """`text` with each link as a "title: url" line, for channels that can only show text."""
    if not links:
        return text
    return text + "\n\n" + "\n".join(f"{link.title}: {link.url}" for link in links)


@dataclass(frozen=True)
class Answer:
    replies: list[Outbound] | None  # a repeated delivery: the first reply again; None when none was kept
    unavailable: bool = False  # the database is away: `replies` is the apology


@dataclass(frozen=True)
class Gate:
    """What the REST and socket.io channels check before a message reaches the bot, handed in by the
    composition root like the apology: the sender id (the server's own are signed: bot/core/senders.py) and
    the sender's pace (`limits.sender_*`), with the kind text, in both languages, for one going too fast.
    A refused message costs no database call, so one sender flooding does not slow the others."""

    senders: SenderIds
    rates: TokenBuckets
    slow_down: str

    async def admit(self, sender: str) -> str:
        """The key `sender`'s conversation is kept under, when this message may go on; else `Refused`: 403
        for a sender id the server does not accept, 429 (with the kind text) for one going too fast."""
        key = await self.senders.conversation_key(sender)
        if not self.rates.allows(key):
            raise Refused(self.slow_down, 429)
        return key


class Channel:
    """The receiving half every channel has: one inbound message in, the bot's answer out."""

    name = "channel"

    def __init__(self, bot: Replier, apology: str) -> None:
        self.bot = bot
        self.apology = apology

    async def answer(self, inbound: Inbound) -> Answer:
        """The bot's answer, counted and timed for /metrics; the apology when the database is away."""
        started = time.perf_counter()
        try:
            replies = await self.bot.handle(inbound)
        except StorageUnavailable:
            metrics.turn_done(self.name, "unavailable", started)
            return Answer([Outbound(self.apology)], unavailable=True)
        except Exception:
            metrics.turn_done(self.name, "failed", started)
            metrics.ERRORS.labels("turn").inc()
            raise
        metrics.turn_done(self.name, "answered", started)
        return Answer(replies)
