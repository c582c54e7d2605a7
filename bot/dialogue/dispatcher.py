"""One citizen turn, end to end: clean the text, understand it, step the dialogue, save, reply.

Channels call `handle`; they never touch the NLU or the database themselves. What the dispatcher needs
comes in through the core's interfaces (an intent parser, a conversation store, a clock), so its tests run
on the in-memory store. Per turn: hooks first (a citizen in a hand-over, a booking waiting for typed input),
then the action registered for the intent, then the guided flows.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from typing import Any

from bot.core.clock import Clock, utc_now
from bot.core.messages import Inbound, Outbound
from bot.core.payloads import parse_payload
from bot.core.ports import ConversationStore, IntentParser, Stored, TurnRecord, Tx
from bot.core.privacy import find_secret, redact
from bot.core.text import language_of
from bot.core.turn import DialogueState, Handlers, Result, Turn, Understanding
from bot.flows.engine import Engine
from bot.nlu.language import language_scores

MAX_TEXT = 4000
MAX_LOGGED = 2000


def clean_text(text: str) -> str:
    """Printable text only: control characters, lone surrogates and NULs removed; capped in length."""
    text = text[: MAX_TEXT * 2].encode("utf-8", errors="ignore").decode("utf-8")
    kept = "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" or ch == "\u200d" else " " for ch in text)
    return kept.strip()[:MAX_TEXT]


def decisive_language(text: str, detected: str | None) -> str | None:
    """The detected language when the message's words say it; None when they don't (emoji, "ok", a name)."""
    scores = language_scores(text)
    return detected if scores["da"] != scores["en"] else None


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        nlu: IntentParser,
        store: ConversationStore,
        handlers: Handlers | None = None,
        *,
        session_timeout: timedelta = timedelta(minutes=30),
        clock: Clock = utc_now,
    ) -> None:
        self.engine = engine
        self.nlu = nlu
        self.store = store
        self.handlers = handlers or Handlers()
        self.session_timeout = session_timeout
        self.clock = clock

    async def respond(self, turn: Turn, state: DialogueState, u: Understanding) -> Result:
        for hook in self.handlers.hooks:
            hooked = await hook(turn, state, u)
            if isinstance(hooked, Result):
                return hooked
            state = hooked or state
        if u.language in ("da", "en") and u.intent != "change_language":
            state = state.but(language=u.language)
        action = self.handlers.actions.get(u.intent)
        if action is not None:
            acted = await action(turn, state, u)
            if acted is not None:
                return acted
        return self.engine.respond(state, u)

    async def understand(self, text: str) -> Understanding:
        if not text:
            return Understanding("empty", text)
        if find_secret(text):
            return Understanding("secret", text)
        payload = parse_payload(text)
        if payload is not None:
            return Understanding(payload[0], text, 1.0, (), payload[1])
        command = self.engine.ui.command(text)
        if command is not None:
            return Understanding(command, text)
        parsed: dict[str, Any] = await self.nlu.parse(text)
        ranking = tuple((r["name"], float(r["confidence"])) for r in parsed.get("intent_ranking", []))
        return Understanding(
            parsed["intent"]["name"],
            text,
            float(parsed["intent"]["confidence"] or 0.0),
            ranking,
            {},
            decisive_language(text, parsed.get("language")),
        )

    def _welcome_back(
        self, stored: Stored, state: DialogueState, now: datetime
    ) -> tuple[DialogueState, list[Outbound]]:
        """A conversation left mid-task longer than the session timeout starts afresh, with a word saying so."""
        if stored.updated_at and now - stored.updated_at > self.session_timeout and (state.flow or state.task):
            state = state.but(flow=None, step=None, paused=(), fallbacks=0, task=None)
            return state, [Outbound(self.engine.ui.text("welcome_back", state.language))]
        return state, []

    async def handle(self, inbound: Inbound) -> list[Outbound] | None:
        """The bot's replies, or None when this message id was already handled (a repeated delivery)."""
        text = clean_text(inbound.text)
        u = await self.understand(text)
        now = self.clock()

        async def turn(stored: Stored, tx: Tx) -> tuple[dict[str, Any], TurnRecord, list[Outbound]]:
            state, messages = self._welcome_back(stored, DialogueState.from_dict(stored.state), now)
            private = False
            if u.intent in ("empty", "secret"):
                if u.language:
                    state = state.but(language=u.language)
                key = "not_understood_media" if u.intent == "empty" else "secret"
                messages.append(Outbound(self.engine.ui.text(key, language_of(state.language))))
                outcome = u.intent
            else:
                result = await self.respond(Turn(inbound.channel, inbound.sender, now, tx), state, u)
                state, outcome, private = result.state, result.outcome, result.private
                messages += result.messages
            record = TurnRecord(
                "[removed: personal]" if private else redact(text)[:MAX_LOGGED],
                state.language,
                u.intent,
                round(u.confidence, 4),
                state.flow,
                state.step,
                outcome,
                len(messages),
            )
            return state.to_dict(), record, messages

        return await self.store.turn(inbound.channel, inbound.sender, inbound.message_id, turn, now)
