"""One citizen turn, end to end: clean the text, understand it in context, step the dialogue, save, reply.

Channels call `handle`; they never touch the NLU or the database themselves. What the dispatcher needs
comes in through the core's interfaces (an intent parser, a conversation store, a clock), so its tests run
on the in-memory store. Per turn:

1. hooks (a citizen in a hand-over, a booking waiting for a typed name or phone number);
2. a typed answer is understood against the question on screen first (matcher.py): "ja", "2", "android"
   do what pressing the button does;
3. an answer that fits nothing, while a question waits, is asked again with a hint (then the eMentor is
   offered) — unless it is clearly something else: a command, a request for a person, or another topic
   the model is sure of (`switch_threshold`);
4. the action registered for the intent, else the guided flows.

The reply says which question it asks (`Asked`), and that is kept with the conversation for the next turn.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from bot.core.clock import Clock, utc_now
from bot.core.messages import Button, Inbound, Outbound
from bot.core.payloads import format_payload, parse_payload
from bot.core.ports import ConversationStore, IntentParser, Replay, Stored, TurnRecord, Tx
from bot.core.privacy import CODE, CPR, EMAIL, PHONE, redact, redacted
from bot.core.text import language_of
from bot.core.turn import Asked, DialogueState, Handlers, Result, Turn, Understanding
from bot.dialogue.understanding import clean_text, decisive_language, edge_intent
from bot.flows.engine import COMMANDS, SMALL_TALK, Engine, requested_language
from bot.flows.matcher import match_answer
from bot.nlu import inbox

MAX_LOGGED = 2000
MAX_REPROMPTS = 2  # the same question asked again twice with a hint; the third time an eMentor is offered
PERSON_THRESHOLD = 0.8  # asking for a person is never held back by a question on screen
EDGES = frozenset({"frustrated", "foreign"})
CHAT_IN_A_STEP = frozenset({"thanks", "greet", "goodbye", "bot_capabilities"})
NOT_READ_BY_THE_MODEL = COMMANDS | {"empty", "secret", "unclear", "foreign", "frustrated"}
WARNED_OF = frozenset({CPR, CODE, PHONE, EMAIL})  # the citizen is told once per conversation not to send them

__all__ = ["Dispatcher", "clean_text"]


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        nlu: IntentParser,
        store: ConversationStore,
        handlers: Handlers | None = None,
        *,
        session_timeout: timedelta = timedelta(minutes=30),
        switch_threshold: float = 0.95,
        clock: Clock = utc_now,
        low_confidence: float = 0.9,
    ) -> None:
        self.engine = engine
        self.nlu = nlu
        self.store = store
        self.handlers = handlers or Handlers()
        self.session_timeout = session_timeout
        self.switch_threshold = switch_threshold
        self.clock = clock
        self.low_confidence = low_confidence  # below it, a typed message goes to the admins' inbox too

    # ---- understanding -----------------------------------------------------------------------------
    async def understand(self, text: str) -> Understanding:
        """What the message says on its own, before the question on screen is asked of it."""
        if not text:
            return Understanding("empty", text)
        kept = redact(text)
        if kept.only_secret:  # a CPR number or a code and nothing else to answer: only the warning
            return Understanding("secret", text)
        payload = parse_payload(text)
        if payload is not None:
            return Understanding(payload[0], text, 1.0, (), payload[1], source="pressed")
        command = self.engine.ui.command(text)
        if command is not None:
            return Understanding(command, text)
        edge = edge_intent(text, self.engine.ui.answers)
        if edge is not None and edge[0] != "frustrated":
            return Understanding(edge[0], text, 1.0, (), edge[1])
        parsed: dict[str, Any] = await self.nlu.parse(kept.text)  # the model reads it as the turn log keeps it
        ranking = tuple((r["name"], float(r["confidence"])) for r in parsed.get("intent_ranking", []))
        language = decisive_language(text, parsed.get("language"))
        if edge is not None:  # an outburst: what the model made of it is kept for the log
            return Understanding("frustrated", text, 1.0, ranking, {}, language)
        confidence = float(parsed["intent"]["confidence"] or 0.0)
        return Understanding(parsed["intent"]["name"], text, confidence, ranking, {}, language)

    def in_context(self, asked: Asked | None, u: Understanding, only_positions: bool = False) -> Understanding:
        """A typed answer as the button on screen it means, when it fits one. A sentence that names one
        button among other words fits it only when it is not clearly about something else.
        `only_positions`: only a yes/no or a place in the list ("2", "den første"), not the label's words."""
        if asked is None or u.source != "typed" or u.intent in COMMANDS or u.intent in ("secret", "empty"):
            return u
        buttons = asked.buttons()
        match = match_answer(u.text, buttons, self.engine.ui.answers)
        if match is None or (match.how == "weak" and self.leaves(asked, u)):
            return u
        if only_positions and match.how in ("label", "weak"):
            return u
        parsed = parse_payload(buttons[match.index].payload)
        if parsed is None:
            return u
        return Understanding(parsed[0], u.text, 1.0, (), parsed[1], u.language, "matched")

    def leaves(self, asked: Asked, u: Understanding) -> bool:
        """Whether a typed message that answers nothing on screen is clearly something else."""
        if u.intent in COMMANDS or u.intent in EDGES or u.intent == "change_language":
            return True
        if u.intent == "talk_to_human":  # while booking, "ring til mig" is an answer, not a new request
            return u.confidence >= PERSON_THRESHOLD and asked.context.get("topic") != "book_ementor"
        if asked.kind == "step" and u.intent in CHAT_IN_A_STEP:
            return True
        if u.intent in SMALL_TALK or u.intent not in self._topics():
            return False
        if u.intent in (asked.context.get("topic"), asked.context.get("flow")):
            return False  # the topic on screen asked for again: the question on screen is the answer
        runner_up = u.ranking[1][1] if len(u.ranking) > 1 else 0.0
        return u.confidence >= self.switch_threshold and u.confidence - runner_up >= 0.05

    def _topics(self) -> set[str]:
        return set(self.engine.flows) | set(self.handlers.actions)

    # ---- responding --------------------------------------------------------------------------------
    async def respond(self, turn: Turn, state: DialogueState, u: Understanding) -> tuple[Result, Understanding]:
        for hook in self.handlers.hooks:
            hooked = await hook(turn, state, u)
            if isinstance(hooked, Result):
                return hooked, u
            state = hooked or state
        asked = state.asked
        typed = self.handlers.actions.get(asked.context.get("typed", "")) if asked is not None else None
        if asked is not None and typed is not None and u.source == "typed" and u.intent not in COMMANDS:
            # a value typed in words ("onsdag kl 13.20") before button words ("kl 13.20" on today's button)
            unordered = self.in_context(asked, u, only_positions=True)
            if unordered is u:
                answer = Understanding(asked.context["typed"], u.text, 1.0, (), dict(asked.context), u.language)
                result = await typed(turn, state.but(started=True, asked=None), answer)
                if result is not None:
                    return result, answer
        u = self.in_context(asked, u)
        if not state.started and u.language in ("da", "en") and u.intent != "change_language":
            state = state.but(language=u.language)  # the first words set the language; later, only a request
        state = state.but(started=True, asked=None)
        if u.intent == "change_language" and u.source == "typed" and requested_language(u, state.language) is None:
            u = Understanding("nlu_fallback", u.text, u.confidence, u.ranking, {}, u.language)
        if asked is not None and asked.kind != "open" and u.source == "typed" and not self.leaves(asked, u):
            return self.reprompt(state, asked, u), u
        action = self.handlers.actions.get(u.intent)
        if action is not None:
            acted = await action(turn, state, u)
            if acted is not None:
                return acted, u
        return self.engine.respond(state, u), u

    def reprompt(self, state: DialogueState, asked: Asked, u: Understanding) -> Result:
        """The question again, with a hint that changes each time; the third time, a person is offered."""
        lang = language_of(state.language)
        ui = self.engine.ui
        repeats = asked.repeats + 1
        if repeats > MAX_REPROMPTS:
            return Result(state, [self.engine.ementor_offer(lang)], "offer_ementor")
        question = Outbound.from_dict({"text": "", **asked.message})
        buttons = list(question.buttons)
        guess = u.intent if u.intent in self.engine.flows and u.intent not in SMALL_TALK else None
        if repeats == MAX_REPROMPTS:
            hint = ui.text("hint_again", lang)
        elif guess is not None and guess != asked.context.get("flow") and u.confidence >= 0.5:
            hint = ui.text("hint_topic", lang)
            title = self.engine.flows[guess].title
            buttons.insert(0, Button(title.get(lang), format_payload(guess), words=(title.da, title.en)))
        elif any(b.role in ("yes", "no") for b in buttons):  # a yes/no question (not "Næste" alone)
            hint = ui.text("hint_yes_no", lang)
        else:
            hint = ui.text("hint_choice", lang)
        again = Outbound(f"{hint}\n\n{question.text}", tuple(buttons), question.links)
        kept = Asked(asked.kind, asked.message, asked.key, repeats, asked.context)
        return Result(state, [again], "reprompt", asked=kept)

    def _welcome_back(
        self, stored: Stored, state: DialogueState, now: datetime
    ) -> tuple[DialogueState, list[Outbound]]:
        """A conversation left mid-task longer than the session timeout starts afresh, with a word saying so."""
        if stored.updated_at and now - stored.updated_at > self.session_timeout and (state.flow or state.task):
            state = state.but(flow=None, step=None, paused=(), fallbacks=0, task=None, asked=None, trail=())
            return state, [Outbound(self.engine.ui.text("welcome_back", state.language))]
        return state, []

    async def handle(self, inbound: Inbound) -> list[Outbound] | None:
        """The bot's replies; for a message id already handled (a retry after a lost answer) the replies given
        the first time, or None when none were kept. The whole turn reads one version of the texts: edited
        texts swapped in meanwhile answer the next turn."""
        with self.engine.shelf.pin():
            return await self._handle(inbound)

    async def _handle(self, inbound: Inbound) -> list[Outbound] | None:
        text = clean_text(inbound.text)
        kept = redact(text)  # what is stored and logged; hooks read `text` (a call-back's phone number)
        first = await self.understand(text)
        now = self.clock()

        async def turn(stored: Stored, tx: Tx) -> tuple[dict[str, Any], TurnRecord, list[Outbound]]:
            state, messages = self._welcome_back(stored, DialogueState.from_dict(stored.state), now)
            before = state
            private = False
            u = first
            if u.intent in ("empty", "secret"):
                if u.language and not state.started:
                    state = state.but(language=u.language)
                key = "not_understood_media" if u.intent == "empty" else "secret"
                messages.append(Outbound(self.engine.ui.text(key, language_of(state.language))))
                if state.asked is not None:  # the question on screen again with its buttons: no dead end
                    messages.append(Outbound.from_dict({"text": "", **state.asked.message}))
                outcome = u.intent
                state = state.but(warned=state.warned or u.intent == "secret")
            else:
                result, u = await self.respond(Turn(inbound.channel, inbound.sender, now, tx), state, u)
                state, outcome, private = result.state, result.outcome, result.private
                warn = kept.kinds & WARNED_OF and (kept.secret or not private)  # not a call-back's own number
                if warn and not state.warned:  # once per conversation, before the answer
                    key = "secret" if kept.secret else "personal"
                    messages.append(Outbound(self.engine.ui.text(key, language_of(state.language))))
                    state = state.but(warned=True)
                messages += result.messages
                state = state.but(asked=asked_by(result))
            record = TurnRecord(
                "[removed: personal]" if private else kept.text[:MAX_LOGGED],
                state.language,
                u.intent,
                round(u.confidence, 4),
                state.flow,
                state.step,
                outcome,
                len(messages),
                shown_text(messages),
                kept_reply(messages),
            )
            if not private and first.intent not in ("empty", "secret"):
                await self.keep_not_understood(tx, inbound, before, first, u, record.text, now)
            return state.to_dict(), record, messages

        done = await self.store.turn(inbound.channel, inbound.sender, inbound.message_id, turn, now)
        return replayed(done) if isinstance(done, Replay) else done

    async def keep_not_understood(
        self, tx: Tx, inbound: Inbound, before: DialogueState, first: Understanding, u: Understanding,
        logged: str, now: datetime,
    ) -> None:  # fmt: skip
        """The admins' "not understood" inbox (bot/nlu/inbox.py), in the turn's own transaction: this typed
        message when the model fell back or was unsure — not when it answered the question on screen (a
        button it fits, or a question wanting a time, a place, a yes) — and the typed message before it when
        this turn says its topic was wrong ("Det virker ikke" on the flow's first step, or asking for a
        person). The in-memory store keeps no inbox."""
        if tx.dialect == "memory":
            return
        channel, sender = inbound.channel, inbound.sender
        asked = before.asked
        answering = asked is not None and asked.kind not in ("open", "step")
        if first.intent not in NOT_READ_BY_THE_MODEL and u.source == "typed" and not answering:
            reason = inbox.reason_for(u.intent, u.confidence, self.low_confidence)
            if reason is not None:
                language = u.language or before.language
                await inbox.capture(tx, now, channel, sender, logged, language, reason, inbox.guesses_of(u.ranking))
        reason = self._wrong_topic(before, u)
        if reason is None:
            return
        earlier = await inbox.previous_turn(tx, channel, sender)
        if earlier is None or not inbox.typed_to_the_model(earlier, now, self.session_timeout):
            return
        led_here = (earlier["intent"], earlier["flow"], earlier["step"]) == (before.flow, before.flow, before.step)
        if reason == "did_not_work" and not led_here:
            return  # "Det virker ikke" on a step the typed message did not lead to
        if reason == "to_person" and earlier["intent"] in SMALL_TALK | COMMANDS | {"talk_to_human"}:
            return
        parsed = await self.nlu.parse(str(earlier["text"]))
        ranking = [(str(r["name"]), float(r["confidence"])) for r in parsed.get("intent_ranking", [])]
        text, language = str(earlier["text"]), str(earlier["language"])
        await inbox.capture(tx, now, channel, sender, text, language, reason, inbox.guesses_of(ranking))

    def _wrong_topic(self, before: DialogueState, u: Understanding) -> str | None:
        """ "did_not_work": "Det virker ikke" (pressed, or typed and fitted) on the first step of the flow on
        screen; "to_person": the citizen asks for a person. Else None."""
        if u.intent == "talk_to_human":
            return "to_person"
        if u.intent != "deny" or u.source == "typed" or not before.flow:
            return None
        flow_name, _, step = (u.entities.get("step") or f"{before.flow}.{before.step}").partition(".")
        flow = self.engine.flows.get(flow_name)
        if flow is None or flow_name != before.flow or step != before.step or step != flow.start:
            return None
        return "did_not_work"


def shown_text(messages: list[Outbound]) -> str:
    """What the bot replied, for the eMentor who takes over: each message's text and button titles (redacted:
    a call-back confirmation names the phone number), and the buttons' payloads, so a button pressed next can
    be shown by its title."""
    shown = [
        {
            "text": redacted(m.text),
            "buttons": [b.title for b in m.buttons],
            "payloads": [b.payload for b in m.buttons],
        }
        for m in messages
    ]
    return json.dumps(shown, ensure_ascii=False)


def kept_reply(messages: list[Outbound]) -> str:
    """The reply as it is kept for a repeated message id: whole (buttons, links, files' addresses), with a
    phone number the bot repeated masked and a file's content left out (its address still serves it)."""
    kept = []
    for message in messages:
        raw = message.to_dict()
        raw["text"] = redacted(message.text)
        if raw["file"] is not None:
            raw["file"] = {**raw["file"], "content": None}
        kept.append(raw)
    return json.dumps(kept, ensure_ascii=False)


def replayed(replay: Replay) -> list[Outbound] | None:
    """The replies kept for a repeated message id, as messages again (None when none were kept)."""
    if replay.reply is None:
        return None
    return [Outbound.from_dict(raw) for raw in json.loads(replay.reply)]


def asked_by(result: Result) -> Asked | None:
    """The question a reply asks: the one it names, or else its last message with buttons (an open one: a
    typed answer that fits none of them is a new question)."""
    if result.asked is not None:
        return result.asked
    with_buttons = [m for m in result.messages if m.buttons]
    if not with_buttons:
        return None
    message = with_buttons[-1].to_dict()
    key = hashlib.sha1(repr((message["text"], message["buttons"])).encode("utf-8")).hexdigest()[:12]
    return Asked("open", message, f"msg:{key}")
