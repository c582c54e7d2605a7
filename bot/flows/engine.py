"""The dialogue engine: (state, what the citizen meant) → Result(new state, bot messages, outcome). No I/O.

One question at a time: every reply ends with the buttons for the next move, and says which question it
asks (`Asked`), so the dispatcher can understand a typed answer against it. "ja"/"nej" answer the step the
citizen is on; another topic mid-flow switches to it and offers the old one back; two misunderstandings in
a row offer a human eMentor. The state is immutable: each function returns the state it leads to.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bot.core.messages import Button, Link, Outbound
from bot.core.payloads import format_payload
from bot.core.text import language_of
from bot.core.turn import Asked, DialogueState, Result, Understanding
from bot.flows.content import Content, LiveFlows, Shelf
from bot.flows.model import Flow, Step
from bot.flows.ui import UiTexts, command_key

SMALL_TALK = frozenset({"greet", "goodbye", "thanks", "affirm", "deny", "bot_capabilities", "change_language"})
COMMANDS = frozenset({"restart", "stop", "help", "resume", "repeat", "back", "continue"})
MAX_PAUSED = 3
MAX_TRIED = 20
MAX_TRAIL = 30
OUT_OF_SCOPE_BELOW = 0.3  # "out of scope" beats every intent clearly: the question is not one of ours
LANGUAGE_WORDS = {"en": ("english", "engelsk", "englsk", "engelst"), "da": ("dansk", "danish", "danske")}
_ROLE_WORDS = {"ja": "yes", "yes": "yes", "nej": "no", "no": "no"}


def other(language: str) -> str:
    return "da" if language_of(language) == "en" else "en"


def role_of(title: str) -> str | None:
    """ "Ja, noget andet" answers yes; "Nej, den er væk" answers no; other titles neither."""
    first = command_key(title).split(" ")[:1]
    return _ROLE_WORDS.get(first[0]) if first else None


class Engine:
    def __init__(self, flows: Mapping[str, Flow], ui: UiTexts, shelf: Shelf | None = None) -> None:
        """Fixed flows and texts; or, with `shelf`, whatever that shelf serves now (texts edited in the
        console swap in while the bot runs, bot/flows/content.py), `flows` and `ui` being ignored."""
        self.shelf = shelf or Shelf(Path("."), Content(flows, ui, {}))
        self.flows: Mapping[str, Flow] = LiveFlows(self.shelf)

    @classmethod
    def serving(cls, shelf: Shelf) -> Engine:
        return cls(shelf.base.flows, shelf.base.ui, shelf)

    @property
    def ui(self) -> UiTexts:
        return self.shelf.now().ui

    # ---- entry point -------------------------------------------------------------------------------
    def respond(self, state: DialogueState, u: Understanding) -> Result:
        if u.intent in COMMANDS:
            return self._command(state, u)
        edge = self._edge(state, u)
        if edge is not None:
            return edge
        state = self._follow_button(state, u)
        if state.asked_more and u.intent in ("affirm", "deny"):
            state = state.but(asked_more=False)
            if u.intent == "affirm":
                return self.menu(state, "menu")
            return Result(state, [Outbound(self.ui.text("goodbye", state.language))], "goodbye")
        state = state.but(asked_more=False)
        current = self.current_step(state)
        if current is None and state.flow is not None:
            state = state.but(flow=None, step=None, trail=())  # a flow or step that no longer exists
        if current is not None:
            moved = self._answer_step(state, current, u)
            if moved is not None:
                return Result(moved.state.but(fallbacks=0), moved.messages, moved.outcome, moved.private, moved.asked)
        if current is not None and u.intent in SMALL_TALK:
            return self._small_talk_in_flow(state, current, u)
        if u.intent == "nlu_fallback" or u.intent not in self.flows:
            return self._fallback(state, u, current)
        state = state.but(fallbacks=0)
        if current is not None and u.intent not in SMALL_TALK and u.intent != state.flow:
            state = self._pause(state)
        return self.start(state, u.intent, typed=u.source == "typed")

    # ---- building blocks (also used by handlers) ----------------------------------------------------
    def current_step(self, state: DialogueState) -> Step | None:
        """The step the citizen is on, or None (no flow, or one that no longer exists)."""
        flow = self.flows.get(state.flow or "")
        if flow is None or state.step not in flow.steps:
            return None
        return flow.steps[state.step]

    def start(self, state: DialogueState, intent: str, typed: bool = False) -> Result:
        """The flow's first step; reached by a typed question, it names the topic first ("Lad os …")."""
        flow = self.flows[intent]
        result = self.go(state.but(trail=()), flow, flow.start, "started")
        if not typed or flow.intro is None or intent in SMALL_TALK or not result.messages:
            return result
        first, *rest = result.messages
        named = Outbound(f"{flow.intro.get(state.language)} {first.text}", first.buttons, first.links, first.image)
        asked = result.asked
        if asked is not None and asked.message.get("text") == first.text:
            asked = Asked(asked.kind, named.to_dict(), asked.key, asked.repeats, asked.context)
        return Result(result.state, [named, *rest], result.outcome, result.private, asked)

    def go(
        self, state: DialogueState, flow: Flow, target: str, outcome: str, *, back: bool = False, answer: str = ""
    ) -> Result:
        """To step `target` of `flow` (or an ending). `outcome` and `answer` say how the citizen answered the
        step they were on ("chose", "choice:2"; "failed", "failed"), which is remembered on that step."""
        if state.flow == flow.intent and state.step:
            state = self._answered(state, outcome, answer)
        if target not in flow.steps:
            return self.finish(state, target)
        step = flow.steps[target]
        trail = state.trail if back or state.flow == flow.intent else ()
        if not back:
            trail = (*trail, step.id)[-MAX_TRAIL:]
        state = self._shown(state.but(flow=flow.intent, step=step.id, trail=trail), step.end or "shown")
        message = self.render_step(flow, step, state.language)
        if step.kind != "end":
            return Result(state, [message], outcome, asked=self.step_asked(flow, step, message))
        if step.end == "menu":  # one message: what the step says, with the topics under it
            menu = self.menu(self.finish_state(state), "menu")
            merged = Outbound(message.text, menu.messages[-1].buttons, message.links)
            return Result(menu.state, [merged], menu.outcome)
        ending = self.finish(state, step.end or "menu")
        return Result(ending.state, [message, *ending.messages], ending.outcome, asked=ending.asked)

    def step_asked(self, flow: Flow, step: Step, message: Outbound) -> Asked:
        return Asked("step", message.to_dict(), f"step:{flow.intent}.{step.id}", context={"flow": flow.intent})

    def finish_state(self, state: DialogueState) -> DialogueState:
        return state.but(flow=None, step=None, trail=())

    def finish(self, state: DialogueState, ending: str) -> Result:
        lang = language_of(state.language)
        state = state.but(flow=None, step=None, trail=())
        if ending == "solved":
            state = self._drop_stale_pause(state).but(asked_more=True)
            buttons = [
                self._button("more_yes", lang, "affirm", role="yes", ask="more"),
                self._button("more_no", lang, "deny", role="no", ask="more"),
            ]
            return Result(
                state, [Outbound(self.ui.text("anything_else", lang), tuple(buttons + self._resume(state)))], "solved"
            )
        if ending == "escalate":
            return Result(state, [self.ementor_offer(lang, "escalate")], "escalated")
        return self.menu(state, "menu")

    def ementor_offer(self, lang: str, text_key: str = "offer_ementor", before: str = "") -> Outbound:
        """ "Vil du have hjælp af en eMentor?" with Book / Talk (yes) / Start forfra (no)."""
        buttons = (
            self._button("book", lang, "book_ementor"),
            self._button("ementor", lang, "talk_to_human", role="yes"),
            self._button("restart", lang, "restart", role="no"),
        )
        text = self.ui.text(text_key, lang)
        return Outbound(f"{before} {text}".strip(), buttons)

    def menu(self, state: DialogueState, outcome: str, intro: str = "menu") -> Result:
        lang = language_of(state.language)
        state = self._drop_stale_pause(state)
        buttons = [self._topic(i, lang) for i in self.ui.menu if i in self.flows]
        if self.ui.more_menu:
            buttons.append(self._button("more_topics", lang, "more_topics"))
        buttons.append(
            Button(
                self.ui.button("language", lang),
                format_payload("change_language", language=other(lang)),
                words=(self.ui.button("language", other(lang)),),
            )
        )
        return Result(state, [Outbound(self.ui.text(intro, lang), tuple(self._resume(state) + buttons))], outcome)

    def more_topics(self, state: DialogueState, group: str = "") -> Result:
        """The topics beyond the first page of the menu: first their groups, then a group's topics."""
        lang = language_of(state.language)
        groups = self.ui.more_menu
        if group.isdigit() and int(group) < len(groups):
            buttons = [self._topic(i, lang) for i in groups[int(group)].topics if i in self.flows]
            buttons.append(self._button("more_topics", lang, "more_topics"))
        else:
            buttons = [
                Button(
                    g.title.get(lang), format_payload("more_topics", group=str(n)), words=(g.title.get(other(lang)),)
                )
                for n, g in enumerate(groups)
            ]
        buttons.append(self._button("restart", lang, "help"))
        return Result(state, [Outbound(self.ui.text("more_topics", lang), tuple(buttons))], "more_topics")

    def _topic(self, intent: str, lang: str) -> Button:
        flow = self.flows[intent]
        return Button(flow.title.get(lang), format_payload(intent), words=(flow.title.get(other(lang)),))

    def render_step(self, flow: Flow, step: Step, language: str) -> Outbound:
        ref = f"{flow.intent}.{step.id}"
        lang = language_of(language)
        buttons: list[Button] = []
        if step.kind == "choices":
            buttons = [
                Button(
                    c.title.get(lang),
                    format_payload("choose", step=ref, to=c.next, c=str(i)),
                    role_of(c.title.da) or role_of(c.title.en),
                    (c.title.get(other(lang)), *c.words.all()),
                )
                for i, c in enumerate(step.choices)
            ]
            buttons.append(self._button("ementor", lang, "talk_to_human", role="nav"))
        elif step.kind == "check":
            buttons = [
                self._button("worked", lang, "affirm", role="yes", step=ref),
                self._button("not_working", lang, "deny", role="no", step=ref),
                self._button("repeat", lang, "repeat", role="nav", step=ref),
                self._button("ementor", lang, "talk_to_human", role="nav"),
            ]
        elif step.kind == "next":
            buttons = [self._button("next", lang, "next", role="yes", step=ref)]
        links = tuple(Link(link.title.get(lang), link.url) for link in step.links)
        return Outbound(step.text.get(lang), tuple(buttons), links)

    # ---- internals ---------------------------------------------------------------------------------
    def _button(self, key: str, lang: str, intent: str, role: str | None = None, **entities: str) -> Button:
        words = (self.ui.button(key, other(lang)), *self.ui.answers.buttons.get(key, ()))
        return Button(self.ui.button(key, lang), format_payload(intent, **entities), role, words)

    def _drop_stale_pause(self, state: DialogueState) -> DialogueState:
        """A paused topic whose flow no longer exists cannot be resumed: forget it."""
        if state.paused and state.paused[-1][0] not in self.flows:
            return state.but(paused=state.paused[:-1])
        return state

    def _resume(self, state: DialogueState) -> list[Button]:
        """The "Fortsæt: …" button for the newest paused topic; it names that topic, so an old button
        still resumes the topic it showed."""
        if not state.paused or state.paused[-1][0] not in self.flows:
            return []
        name = state.paused[-1][0]
        flow = self.flows[name]
        lang = language_of(state.language)
        title = self.ui.button("resume", lang, title=flow.title.get(lang))
        return [Button(title, format_payload("resume", flow=name), words=(flow.title.get(lang),))]

    def _pause(self, state: DialogueState) -> DialogueState:
        if state.flow and state.step:
            others = tuple(p for p in state.paused if p[0] != state.flow)[-(MAX_PAUSED - 1) :]
            return state.but(paused=(*others, (state.flow, state.step)))
        return state

    def _shown(self, state: DialogueState, outcome: str) -> DialogueState:
        """Remember a step shown to the citizen (for the eMentor who may take over); `outcome` is "shown", or
        the ending an end step leads to."""
        entry = {"flow": state.flow or "", "step": state.step or "", "outcome": outcome, "answer": ""}
        return state.but(tried=(*state.tried, entry)[-MAX_TRIED:])

    def _answered(self, state: DialogueState, outcome: str, answer: str) -> DialogueState:
        """The citizen's answer to the step on screen, kept on that step's entry."""
        for index in range(len(state.tried) - 1, -1, -1):
            entry = state.tried[index]
            if entry.get("flow") == state.flow and entry.get("step") == state.step:
                answered = {**entry, "outcome": outcome, "answer": answer or outcome}
                return state.but(tried=(*state.tried[:index], answered, *state.tried[index + 1 :]))
        return state

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
            message = self.render_step(flow, step, state.language)
            return Result(state, [message], "repeated", asked=self.step_asked(flow, step, message))
        if step.kind == "check" and u.intent in ("affirm", "deny"):
            outcome = "worked" if u.intent == "affirm" else "failed"
            return self.go(state, flow, (step.ok if u.intent == "affirm" else step.fail) or "escalate", outcome)
        if step.kind == "next" and u.intent in ("affirm", "next"):
            return self.go(state, flow, step.next or "solved", "advanced", answer="next")
        if step.kind == "choices" and u.intent == "choose":
            index = _chosen(step, u.entities.get("c", ""), u.entities.get("to", ""))
            if index is not None:
                return self.go(state, flow, step.choices[index].next, "chose", answer=f"choice:{index}")
        if step.kind == "choices" and u.intent in ("affirm", "deny"):  # a yes or no the model heard
            wanted = "yes" if u.intent == "affirm" else "no"
            fitting = [i for i, c in enumerate(step.choices) if (role_of(c.title.da) or role_of(c.title.en)) == wanted]
            if len(fitting) == 1:
                index = fitting[0]
                return self.go(state, flow, step.choices[index].next, "chose", answer=f"choice:{index}")
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
            return Result(self._pause(state).but(flow=None, step=None, trail=()), messages, "goodbye")
        step = self.render_step(flow, current, lang)
        return Result(state, [*messages, step], "small_talk", asked=self.step_asked(flow, current, step))

    def _fallback(self, state: DialogueState, u: Understanding, current: Step | None) -> Result:
        lang = language_of(state.language)
        if state.fallbacks + 1 >= 2:
            return Result(state.but(fallbacks=0), [self.ementor_offer(lang)], "offer_ementor")
        state = state.but(fallbacks=state.fallbacks + 1)
        top = u.ranking[0][1] if u.ranking else 0.0
        not_ours = (u.ranking and top < OUT_OF_SCOPE_BELOW) or self.ui.referral(u.text) is not None
        if u.intent == "nlu_fallback" and not_ours and current is None:
            return self.out_of_scope(state, u)
        candidates = [(n, c) for n, c in u.ranking if n in self.flows and n not in SMALL_TALK][:3]
        close = len(candidates) >= 2 and candidates[1][1] >= 0.5 * candidates[0][1]
        shown = candidates[:2] if close else candidates
        buttons = [self._topic(n, lang) for n, _ in shown]
        if current is not None and state.flow:
            buttons.append(self._button("repeat", lang, "repeat", step=f"{state.flow}.{current.id}"))
        text = self.ui.text("did_you_mean" if close else "rephrase", lang)
        if close:
            text = self.ui.text("rephrase", lang) + " " + text
        return Result(state, [Outbound(text, tuple(buttons))], "fallback")

    def out_of_scope(self, state: DialogueState, u: Understanding) -> Result:
        """A question the bot understood is not its own: say so plainly, and where to turn when known."""
        lang = language_of(state.language)
        referral = self.ui.referral(u.text)
        text = self.ui.text("out_of_scope", lang)
        links: tuple[Link, ...] = ()
        if referral is not None:
            text = referral.text.get(lang)
            links = tuple(Link(link.title.get(lang), link.url) for link in referral.links)
        menu = self.menu(state, "out_of_scope")
        return Result(menu.state, [Outbound(text, menu.messages[-1].buttons, links)], "out_of_scope")

    def _edge(self, state: DialogueState, u: Understanding) -> Result | None:
        """Messages that are not a question: only symbols, a frustrated outburst, another language."""
        lang = language_of(state.language)
        if u.intent == "unclear":
            return self.menu(state, "unclear", intro="menu_prompt")
        if u.intent == "frustrated":
            offer = self.ementor_offer(lang, before=self.ui.text("frustrated", lang))
            return Result(state.but(fallbacks=0), [offer], "frustrated")
        if u.intent == "foreign":
            line = self.ui.foreign.get(u.entities.get("language", ""))
            text = f"{line} {self.ui.text('foreign', lang)}".strip() if line else self.ui.text("foreign", lang)
            return Result(state, [self.ementor_offer(lang, "offer_person", before=text)], "foreign")
        if u.intent == "more_topics":
            return self.more_topics(state, u.entities.get("group", ""))
        return None

    def _command(self, state: DialogueState, u: Understanding) -> Result:
        command = u.intent
        if command == "continue" and state.paused:
            command = "resume"  # "fortsæt" after another topic: back to the one that was paused
        lang = language_of(state.language)
        if command == "resume" and state.paused:
            wanted = u.entities.get("flow") or state.paused[-1][0]
            found = [p for p in state.paused if p[0] == wanted] or [state.paused[-1]]
            flow_name, step_id = found[-1]
            state = state.but(paused=tuple(p for p in state.paused if p != found[-1]))
            flow = self.flows.get(flow_name)
            if flow is not None and step_id in flow.steps:
                if state.flow and state.flow != flow_name:
                    state = self._pause(state)
                return self.go(state.but(trail=()), flow, step_id, "resumed")
        current = self.current_step(state)
        flow = self.flows.get(state.flow or "")
        if command in ("repeat", "continue", "back", "resume") and current is not None and flow is not None:
            if command == "continue" and current.kind == "next":
                return self.go(state, flow, current.next or "solved", "advanced")
            if command == "back" and len(state.trail) >= 2:
                return self.go(state.but(trail=state.trail[:-1]), flow, state.trail[-2], "back", back=True)
            message = self.render_step(flow, current, lang)
            if command == "back":
                message = Outbound(
                    self.ui.text("first_step", lang) + " " + message.text, message.buttons, message.links
                )
            return Result(state, [message], "repeated", asked=self.step_asked(flow, current, message))
        if command == "restart":
            state = state.but(flow=None, step=None, paused=(), fallbacks=0, trail=())
            return self.menu(state, "restarted", intro="menu")
        if command == "stop":
            state = state.but(flow=None, step=None, paused=(), fallbacks=0, trail=())
            return Result(state, [Outbound(self.ui.text("stopped", lang))], "stopped")
        state = self._pause(state).but(flow=None, step=None, trail=())
        return self.menu(state, "menu")


def _chosen(step: Step, index: str, target: str) -> int | None:
    """Which choice a pressed button means: its number (two choices may lead to the same step), else the
    first choice leading to `target` (a button from before choices were numbered)."""
    if index.isdigit() and int(index) < len(step.choices) and step.choices[int(index)].next == target:
        return int(index)
    return next((i for i, c in enumerate(step.choices) if c.next == target), None)


def requested_language(u: Understanding, current: str) -> str | None:
    """The language a change_language message asks for; the other one when a button or a bare request
    ("another language") does not say; None when it names the language already spoken ("det er på dansk")."""
    if u.entities.get("language") in ("da", "en"):
        return u.entities["language"]
    text = command_key(u.text).split()
    named = [language for language, words in LANGUAGE_WORDS.items() if any(w in text for w in words)]
    if len(named) == 1:
        return None if named[0] == current else named[0]
    return "da" if current == "en" else "en"
