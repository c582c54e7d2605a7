"""One citizen turn, end to end: clean the text, understand it, step the dialogue, save, reply.

Channels call `handle`; they never touch the NLU or the database themselves.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.messages import Inbound, Outbound
from bot.core.payloads import parse_payload
from bot.core.privacy import find_secret, redact
from bot.flows.engine import DialogueState, Engine, Understanding
from bot.nlu.backends import NluBackend
from bot.nlu.language import language_scores
from bot.storage.store import Store, Stored, TurnLog

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
    def __init__(self, engine: Engine, nlu: NluBackend, store: Store, session_timeout: timedelta) -> None:
        self.engine = engine
        self.nlu = nlu
        self.store = store
        self.session_timeout = session_timeout

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

        async def turn(stored: Stored) -> tuple[dict[str, Any], TurnLog, list[Outbound]]:
            state = DialogueState.from_dict(stored.state)
            messages: list[Outbound] = []
            if stored.updated_at and datetime.now(UTC) - stored.updated_at > self.session_timeout and state.flow:
                state.flow = state.step = None
                state.paused, state.fallbacks = [], 0
                messages.append(Outbound(self.engine.ui.text("welcome_back", state.language)))
            if u.intent in ("empty", "secret"):
                if u.language:
                    state.language = u.language
                key = "not_understood_media" if u.intent == "empty" else "secret"
                messages.append(Outbound(self.engine.ui.text(key, self.engine.ui_language(state))))
                outcome = u.intent
            else:
                result = self.engine.respond(state, u)
                state, outcome = result.state, result.outcome
                messages += result.messages
            record = TurnLog(
                redact(text)[:2000],
                state.language,
                u.intent,
                round(u.confidence, 4),
                state.flow,
                state.step,
                outcome,
                len(messages),
            )
            return state.to_dict(), record, messages

        return await self.store.turn(inbound.channel, inbound.sender, inbound.message_id, turn)
