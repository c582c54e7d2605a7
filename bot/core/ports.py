"""What the core needs from the world, as small interfaces: storage, the intent model, the outbox.

The dialogue core, the handlers and the channels are written against these; `bot/storage/` and `bot/nlu/`
implement them, `bot/runtime.py` wires them, and `bot/core/memory.py` has in-memory ones for tests. A channel
sees only `Replier` and `Mailbox`: it translates, it does not persist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from bot.core.messages import Inbound, Outbound

T = TypeVar("T")
Row = dict[str, Any]


class StorageUnavailable(Exception):
    """The database did not answer after retries: the citizen is told to try again in a moment."""


class Tx(Protocol):
    """A transaction to run SQL in, the same on SQLite and PostgreSQL: `await tx.fetch(sql, **params)` with
    `:name` parameters. Timestamps go in aware and come out aware UTC."""

    dialect: str  # "sqlite" | "postgresql" | "memory"

    async def fetch(self, sql: str, **params: Any) -> list[Row]: ...

    async def execute(self, sql: str, **params: Any) -> int:
        """The number of rows changed."""
        ...

    async def durable(self) -> None:
        """Make this transaction's commit wait for the disk (bookings must survive a crash)."""
        ...


Work = Callable[[Tx], Awaitable[T]]


@dataclass(frozen=True)
class TurnRecord:
    """One line of the turn log: what the admin console and statistics read. `text` is already redacted."""

    text: str
    language: str
    intent: str
    confidence: float
    flow: str | None
    step: str | None
    outcome: str
    replies: int
    shown: str = "[]"  # what the bot replied (texts and button titles, redacted), JSON: for the eMentor
    # the reply itself (each message's Outbound.to_dict(), phone numbers masked), JSON: kept with the
    # message id, not in the turn log, and handed back when the same message id comes again
    reply: str | None = None


@dataclass(frozen=True)
class Replay:
    """A message id seen before: the reply given the first time (JSON, see `TurnRecord.reply`), or None
    when none was kept (the first delivery came from another sender, or before replies were kept)."""

    reply: str | None


@dataclass(frozen=True)
class Stored:
    state: Mapping[str, Any]
    updated_at: datetime | None  # None for a new conversation


TurnFunction = Callable[[Stored, Tx], Awaitable[tuple[Mapping[str, Any], TurnRecord, T]]]


class ConversationStore(Protocol):
    """Conversation state per (channel, sender), the turn log, and transactions for everything else.

    A turn holds the conversation: one sender's messages are handled one at a time, in every process;
    a repeated message id is handled once; what the turn function writes commits with the new state."""

    async def turn(
        self, channel: str, sender: str, message_id: str | None, fn: TurnFunction[T], now: datetime
    ) -> T | Replay:
        """Run `fn` on the stored state and save what it returns; a `Replay` for a message id seen before."""
        ...

    async def transaction(self, work: Work[T], *, read_only: bool = False) -> T:
        """`work(tx)` in a transaction of its own, retried while the database is briefly away."""
        ...

    async def first_delivery(self, channel: str, message_id: str, now: datetime) -> bool:
        """False when this message id was seen before (outside a turn: the eMentors' group)."""
        ...

    async def recent_turns(self, channel: str, sender: str, limit: int = 50) -> list[Row]:
        """The conversation's last turn log lines, oldest first."""
        ...

    async def close(self) -> None: ...


class PayloadTable(Protocol):
    """Where button payloads too long for a channel's button data are kept under a short key."""

    async def save_button_payloads(self, payloads: Mapping[str, str]) -> None: ...

    async def button_payload(self, key: str) -> str | None: ...


class Mailbox(Protocol):
    """Messages the bot has for a recipient on a pull channel (REST), handed out once."""

    async def take(self, channel: str, recipient: str) -> list[Outbound]: ...


class Replier(Protocol):
    """What a channel talks to: the bot's replies to one inbound message; for a repeated delivery the
    replies given the first time (None when none were kept)."""

    async def handle(self, inbound: Inbound) -> list[Outbound] | None: ...


class IntentParser(Protocol):
    """The intent model, whichever backend: Rasa `/model/parse` JSON for a text."""

    async def parse(self, text: str) -> dict[str, Any]: ...
