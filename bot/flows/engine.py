"""The dialogue engine: (state, what the citizen meant) → Result(new state, bot messages, outcome). No I/O.

One question at a time: every reply ends with the buttons for the next move. "ja"/"nej" answer the step the
citizen is on; another topic mid-flow switches to it and offers the old one back; two misunderstandings in
a row offer a human eMentor. The state is immutable: each function returns the state it leads to.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.messages import Button, Link, Outbound
from bot.core.payloads import format_payload
from bot.core.text import language_of
from bot.core.turn import DialogueState, Result, Understanding
from bot.flows.model import Flow, Step
from bot.flows.ui import UiTexts, command_key

SMALL_TALK = frozenset({"greet", "goodbye", "thanks", "affirm", "deny", "bot_capabilities", "change_language"})
COMMANDS = frozenset({"restart", "stop", "help", "resume"})
MAX_PAUSED = 3
MAX_TRIED = 20
LANGUAGE_WORDS = {"en": ("english", "engelsk", "englsk"), "da": ("dansk", "danish", "danske")}


class Engine:
    def __init__(self, flows: Mapping[str, Flow], ui: UiTexts) -> None:
        self.flows = flows
        self.ui = ui

    # ---- entry point -------------------------------------------------------------------------------
    def respond(self, state: DialogueState, u: Understanding) -> Result:
        if u.intent in COMMANDS:
            return self._command(state, u.intent)
        state = self._follow_button(state, u)
        if state.asked_more and u.intent in ("affirm", "deny"):
            state = state.but(asked_more=False)
            if u.intent == "affirm":
                return self.menu(state, "menu")
            return Result(state, [Outbound(self.ui.text("goodbye", state.language))], "goodbye")
        state = state.but(asked_more=False)
        current = self.current_step(state)
        if current is None and state.flow is not None:
            state = state.but(flow=None, step=None)  # a flow or step that no longer exists (the files changed)
        if current is not None:
            moved = self._answer_step(state, current, u)
            if moved is not None:
                return Result(moved.state.but(fallbacks=0), moved.messages, moved.outcome, moved.private)
        if current is not None and u.intent in SMALL_TALK:
            return self._small_talk_in_flow(state, current, u)
        if u.intent == "nlu_fallback" or u.intent not in self.flows:
            return self._fallback(state, u, current)
        state = state.but(fallbacks=0)
        if current is not None and u.intent not in SMALL_TALK and u.intent != state.flow:
            state = self._pause(state)
        return self.start(state, u.intent)

    # ---- building blocks (also used by handlers) ----------------------------------------------------
    def current_step(self, state: DialogueState) -> Step | None:
        """The step the citizen is on, or None (no flow, or one that no longer exists)."""
        flow = self.flows.get(state.flow or "")
        if flow is None or state.step not in flow.steps:
            return None
        return flow.steps[state.step]

    def start(self, state: DialogueState, intent: str) -> Result:
        flow = self.flows[intent]
        return self.go(state, flow, flow.start, "started")

    def go(self, state: DialogueState, flow: Flow, target: str, outcome: str) -> Result:
        if target in flow.steps:
            step = flow.steps[target]
            state = self._remember(state.but(flow=flow.intent, step=step.id), outcome)
            message = self.render_step(flow, step, state.language)
            if step.kind != "end":
                return Result(state, [message], outcome)
            ending = self.finish(state, step.end or "menu")
            return Result(ending.state, [message, *ending.messages], ending.outcome)
        return self.finish(state, target)

    def finish(self, state: DialogueState, ending: str) -> Result:
        lang = language_of(state.language)
        if state.flow:
            state = self._remember(state, ending)
        state = state.but(flow=None, step=None)
        if ending == "solved":
            state = self._drop_stale_pause(state).but(asked_more=True)
            buttons = [
                self._button("more_yes", lang, "affirm", ask="more"),
                self._button("more_no", lang, "deny", ask="more"),
            ]
            return Result(
                state, [Outbound(self.ui.text("anything_else", lang), tuple(buttons + self._resume(state)))], "solved"
            )
        if ending == "escalate":
            buttons = [
                self._button("book", lang, "book_ementor"),
                self._button("ementor", lang, "talk_to_human"),
                self._button("restart", lang, "restart"),
            ]
            return Result(state, [Outbound(self.ui.text("escalate", lang), tuple(buttons))], "escalated")
        return self.menu(state, "menu")

    def menu(self, state: DialogueState, outcome: str, intro: str = "menu") -> Result:
        lang = language_of(state.language)
        state = self._drop_stale_pause(state)
        buttons = [Button(self.flows[i].title.get(lang), format_payload(i)) for i in self.ui.menu if i in self.flows]
        other = "da" if lang == "en" else "en"
        buttons.append(Button(self.ui.button("language", lang), format_payload("change_language", language=other)))
        return Result(state, [Outbound(self.ui.text(intro, lang), tuple(self._resume(state) + buttons))], outcome)

    def render_step(self, flow: Flow, step: Step, language: str) -> Outbound:
        ref = f"{flow.intent}.{step.id}"
        lang = language
        buttons: list[Button] = []
        if step.kind == "choices":
            buttons = [Button(c.title.get(lang), format_payload("choose", step=ref, to=c.next)) for c in step.choices]
            buttons.append(self._button("ementor", lang, "talk_to_human"))
        elif step.kind == "check":
            buttons = [
                self._button("worked", lang, "affirm", step=ref),
                self._button("not_working", lang, "deny", step=ref),
                self._button("repeat", lang, "repeat", step=ref),
                self._button("ementor", lang, "talk_to_human"),
            ]
        elif step.kind == "next":
            buttons = [self._button("next", lang, "next", step=ref)]
        links = tuple(Link(link.title.get(lang), link.url) for link in step.links)
        return Outbound(step.text.get(lang), tuple(buttons), links)

    # ---- internals ---------------------------------------------------------------------------------
    def _button(self, key: str, lang: str, intent: str, **entities: str) -> Button:
        return Button(self.ui.button(key, lang), format_payload(intent, **entities))

    def _drop_stale_pause(self, state: DialogueState) -> DialogueState:
        """A paused topic whose flow no longer exists cannot be resumed: forget it."""
        if state.paused and state.paused[-1][0] not in self.flows:
            return state.but(paused=state.paused[:-1])
        return state

    def _resume(self, state: DialogueState) -> list[Button]:
        """The "Fortsæt: …" button for the newest paused topic, if it can be resumed."""
        if not state.paused or state.paused[-1][0] not in self.flows:
            return []
        flow = self.flows[state.paused[-1][0]]
        lang = language_of(state.language)
        return [Button(self.ui.button("resume", lang, title=flow.title.get(state.language)), format_payload("resume"))]

    def _pause(self, state: DialogueState) -> DialogueState:
        if state.flow and state.step:
            others = tuple(p for p in state.paused if p[0] != state.flow)[-(MAX_PAUSED - 1) :]
            return state.but(paused=(*others, (state.flow, state.step)))
        return state

    def _remember(self, state: DialogueState, outcome: str) -> DialogueState:
        entry = {"flow": state.flow or "", "step": state.step or "", "outcome": outcome}
        return state.but(tried=(*state.tried, entry)[-MAX_TRIED:])

    def _follow_button(self, state: DialogueState, u: Understanding) -> DialogueState:
        """A button names the step it belongs to: act on that step, even if the citizen scrolled back."""
        ref = u.entities.get("step", "")
        flow_name, _, step_id = ref.partition(".")
        flow = self.flows.get(flow_name)
        if flow is not None and step_id in flow.steps:
            if state.flow and state.flow != flow_name:
                state = self._pause(state)
            return state.but(flow=flow_name, step=step_id)
        return state

    def _answer_step(self, state: DialogueState, step: Step, u: Understanding) -> Result | None:
        flow = self.flows[state.flow or ""]
        if u.intent == "repeat":
            return Result(state, [self.render_step(flow, step, state.language)], "repeated")
        if step.kind == "check" and u.intent in ("affirm", "deny"):
            return self.go(
                state,
                flow,
                (step.ok if u.intent == "affirm" else step.fail) or "escalate",
                "worked" if u.intent == "affirm" else "failed",
            )
        if step.kind == "next" and u.intent in ("affirm", "next"):
            return self.go(state, flow, step.next or "solved", "advanced")
        if step.kind == "choices":
            target = self._choice(step, u)
            if target is not None:
                return self.go(state, flow, target, "chose")
        return None

    def _choice(self, step: Step, u: Understanding) -> str | None:
        targets = [c.next for c in step.choices]
        if u.intent == "choose":
            return u.entities.get("to") if u.entities.get("to") in targets else None
        typed = command_key(u.text)
        for choice in step.choices:
            titles = {command_key(choice.title.da), command_key(choice.title.en)}
            if typed and (
                typed in titles or any(t and (t.startswith(typed + " ") or typed.startswith(t)) for t in titles)
            ):
                return choice.next
        if u.intent in ("affirm", "deny"):
            words = ("ja", "yes") if u.intent == "affirm" else ("nej", "no")
            for choice in step.choices:
                first = command_key(choice.title.da).split(" ")[:1] + command_key(choice.title.en).split(" ")[:1]
                if any(w in words for w in first):
                    return choice.next
        return None

    def _small_talk_in_flow(self, state: DialogueState, current: Step, u: Understanding) -> Result:
        """ "tak", "hej" or an unclear "ja" mid-flow: answer briefly and keep the citizen where they are."""
        lang = language_of(state.language)
        flow = self.flows[state.flow or ""]
        messages: list[Outbound] = []
        if u.intent in self.flows and u.intent not in ("affirm", "deny"):
            small = self.flows[u.intent]
            messages.append(Outbound(small.steps[small.start].text.get(lang)))
        if u.intent == "goodbye":
            return Result(self._pause(state).but(flow=None, step=None), messages, "goodbye")
        return Result(state, [*messages, self.render_step(flow, current, lang)], "small_talk")

    def _fallback(self, state: DialogueState, u: Understanding, current: Step | None) -> Result:
        lang = language_of(state.language)
        if state.fallbacks + 1 >= 2:
            buttons = [
                self._button("book", lang, "book_ementor"),
                self._button("ementor", lang, "talk_to_human"),
                self._button("restart", lang, "restart"),
            ]
            offer = Outbound(self.ui.text("offer_ementor", lang), tuple(buttons))
            return Result(state.but(fallbacks=0), [offer], "offer_ementor")
        state = state.but(fallbacks=state.fallbacks + 1)
        candidates = [(n, c) for n, c in u.ranking if n in self.flows and n not in SMALL_TALK][:3]
        close = len(candidates) >= 2 and candidates[1][1] >= 0.5 * candidates[0][1]
        shown = candidates[:2] if close else candidates
        buttons = [Button(self.flows[n].title.get(lang), format_payload(n)) for n, _ in shown]
        if current is not None and state.flow:
            buttons.append(self._button("repeat", lang, "repeat", step=f"{state.flow}.{current.id}"))
        text = self.ui.text("did_you_mean" if close else "rephrase", lang)
        if close:
            text = self.ui.text("rephrase", lang) + " " + text
        return Result(state, [Outbound(text, tuple(buttons))], "fallback")

    def _command(self, state: DialogueState, command: str) -> Result:
        lang = language_of(state.language)
        if command == "resume" and state.paused:
            (flow_name, step_id), rest = state.paused[-1], state.paused[:-1]
            state = state.but(paused=rest)
            flow = self.flows.get(flow_name)
            if flow is not None and step_id in flow.steps:
                return self.go(state, flow, step_id, "resumed")
        if command == "restart":
            state = state.but(flow=None, step=None, paused=(), fallbacks=0)
            return self.menu(state, "restarted", intro="menu")
        if command == "stop":
            state = state.but(flow=None, step=None, paused=(), fallbacks=0)
            return Result(state, [Outbound(self.ui.text("stopped", lang))], "stopped")
        state = self._pause(state).but(flow=None, step=None)
        return self.menu(state, "menu")


def requested_language(u: Understanding, current: str) -> str:
    """The language a change_language message asks for; the other one when it does not say."""
    if u.entities.get("language") in ("da", "en"):
        return u.entities["language"]
    text = command_key(u.text)
    for language, words in LANGUAGE_WORDS.items():
        if any(w in text.split() for w in words):
            return language
    return "da" if current == "en" else "en"
