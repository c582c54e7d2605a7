"""One citizen turn, end to end: clean the text, understand it, step the dialogue, save, reply.

Channels call `handle`; they never touch the NLU or the database themselves.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config import Settings
from bot.core.actions import Action, Context
from bot.core.messages import Inbound, Outbound
from bot.core.payloads import parse_payload
from bot.core.privacy import find_secret, redact
from bot.flows.engine import DialogueState, Engine, Result, Understanding
from bot.nlu.backends import NluBackend
from bot.nlu.language import language_scores
from bot.storage.store import Store, Stored, TurnLog
from bot.storage.tx import Tx

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


MAX_TEXT = 4000


def clean_text(text: str) -> str:
    """Printable text only: control characters, lone surrogates and NULs removed; capped in length."""
    text = text[: MAX_TEXT * 2].encode("utf-8", errors="ignore").decode("utf-8")
    kept = "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" or ch == "\u200d" else " " for ch in text)
    return kept.strip()[:MAX_TEXT]


def decisive_language(text: str, detected: str | None) -> str | None:
    scores = language_scores(text)
    return detected if scores["da"] != scores["en"] else None


class Dispatcher:
    """`hooks` run first, in order (hand-over, a booking waiting for typed input); then the `actions` of
    their intents; everything else goes to the flow engine."""

    def __init__(
        self,
        engine: Engine,
        nlu: NluBackend,
        store: Store,
        settings: Settings,
        *,
        actions: Mapping[str, Action] | None = None,
        hooks: Sequence[Action] = (),
        clock: Clock = utc_now,
    ) -> None:
        self.engine = engine
        self.nlu = nlu
        self.store = store
        self.settings = settings
        self.session_timeout = timedelta(minutes=settings.conversation.session_timeout_minutes)
        self.actions = dict(actions or {})
        self.hooks = tuple(hooks)
        self.clock = clock

    async def respond(self, context: Context, state: DialogueState, u: Understanding) -> Result:
        for hook in self.hooks:
            hooked = await hook(context, state, u)
            if hooked is not None:
                return hooked
        action = self.actions.get(u.intent)
        if action is not None:
            if u.language in ("da", "en"):
                state.language = u.language
            acted = await action(context, state, u)
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

    async def handle(self, inbound: Inbound) -> list[Outbound] | None:
        """The bot's replies, or None when this message id was already handled (a repeated delivery)."""
        text = clean_text(inbound.text)
        u = await self.understand(text)

        now = self.clock()

        async def turn(stored: Stored, tx: Tx) -> tuple[dict[str, Any], TurnLog, list[Outbound]]:
            state = DialogueState.from_dict(stored.state)
            messages: list[Outbound] = []
            private = False
            if stored.updated_at and now - stored.updated_at > self.session_timeout and (state.flow or state.task):
                state.flow = state.step = None
                state.paused, state.fallbacks, state.task = [], 0, None
                messages.append(Outbound(self.engine.ui.text("welcome_back", state.language)))
            if u.intent in ("empty", "secret"):
                if u.language:
                    state.language = u.language
                key = "not_understood_media" if u.intent == "empty" else "secret"
                messages.append(Outbound(self.engine.ui.text(key, self.engine.ui_language(state))))
                outcome = u.intent
            else:
                context = Context(self.engine, self.settings, tx, inbound.channel, inbound.sender, now)
                result = await self.respond(context, state, u)
                state, outcome, private = result.state, result.outcome, result.private
                messages += result.messages
            record = TurnLog(
                "[removed: personal]" if private else redact(text)[:2000],
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
