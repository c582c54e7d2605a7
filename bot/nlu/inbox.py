"""The "not understood" inbox: citizens' messages the model did not get, kept (redacted) for an admin to teach.

What is kept, in the transaction of the turn itself (bot/dialogue/dispatcher.py decides when, here is how):

- a typed message the model fell back on (reason `fallback`), or answered with less than
  `nlu.inbox.low_confidence` (`low_confidence`);
- the typed message that started a flow, when the citizen's next turn is "Det virker ikke" on that flow's
  first step (`did_not_work`) or asks for a person (`to_person`): the model may have picked the wrong topic.
  That message is read back from the turn log, which holds it already redacted.

Never kept: button presses, typed answers that fit the question on screen, secrets, empty or emoji-only
messages, a message whose only content was personal data, and a duplicate of an item still open from the same
conversation. The text is redacted once more (bot/core/privacy.py) — no CPR number, code, phone number or e-mail
reaches this table — and keeps the model's three best guesses.

An item belongs to its conversation through the turn it was kept with: both rows carry the same `created_at`
(the turn's one clock reading), so no sender id is stored here. The inbox page shows open items in groups of
similar messages (cosine similarity over the served model's own feature vectors), newest first; resolving
adds messages to an intent as training phrases (bot/nlu/phrases.py, with its conflict checks), marks them out
of scope or dismisses them, and writes the audit log. Handled items leave the inbox and become labelled
examples for the evaluation gate (bot/nlu/jobs.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypedDict, cast

import numpy as np
from numpy.typing import NDArray

from bot.core.payloads import parse_payload
from bot.core.ports import Row, Tx
from bot.core.privacy import Redacted, is_removed, redacted
from bot.nlu import phrases
from bot.nlu.classifier import IntentModel
from bot.nlu.phrases import Checker, Conflict, PhraseConflict, PhraseError
from bot.nlu.training_data import FALLBACK_INTENT

REASONS = ("fallback", "low_confidence", "did_not_work", "to_person")
STATUSES = ("open", "added", "out_of_scope", "dismissed")
ACTIONS = {"add": "added", "out_of_scope": "out_of_scope", "dismiss": "dismissed"}
MAX_TEXT = 500
GUESSES = 3
MAX_OPEN = 2000  # the page groups at most this many of the newest open items
_COLUMNS = "id, created_at, channel, language, text, reason, guesses, status, resolved_intent, resolved_by, resolved_at"


class InboxItem(TypedDict):
    id: int
    created_at: datetime
    channel: str
    language: str
    text: str
    reason: str
    guesses: list[dict[str, Any]]
    status: str
    resolved_intent: str | None
    resolved_by: int | None
    resolved_at: datetime | None


class InboxError(ValueError):
    """A resolve that cannot be done; `code`: not_found, action, intent."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# ---- keeping ----------------------------------------------------------------------------------------------
def guesses_of(ranking: Iterable[tuple[str, float]], n: int = GUESSES) -> list[dict[str, Any]]:
    """The model's best `n` intents with their confidence (its own fallback label is no guess)."""
    out = [{"intent": name, "confidence": round(float(c), 4)} for name, c in ranking if name != FALLBACK_INTENT]
    return out[:n]


def worth_keeping(text: str) -> bool:
    """A message an admin could teach the model with: some letter or digit, not a button's payload, not a
    message replaced by a marker."""
    return any(ch.isalnum() for ch in Redacted(text).rest) and not is_removed(text) and parse_payload(text) is None


def reason_for(intent: str, confidence: float, low_confidence: float) -> str | None:
    """Why a typed message the model read is kept: it fell back, or the model was not sure enough."""
    if intent == FALLBACK_INTENT:
        return "fallback"
    if confidence < low_confidence:
        return "low_confidence"
    return None


async def capture(
    tx: Tx,
    now: datetime,
    channel: str,
    sender: str,
    text: str,
    language: str | None,
    reason: str,
    guesses: Sequence[Mapping[str, Any]],
) -> int | None:
    """Keep one message (`text` as the turn log keeps it; redacted here); its id, or None when it is not worth
    keeping or is already open from this conversation. `now` must be the turn's time (see the docstring)."""
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    shown = redacted(text)[:MAX_TEXT]
    if not worth_keeping(shown):
        return None
    duplicate = await tx.fetch(
        "SELECT i.id FROM inbox_items i JOIN turns t ON t.created_at = i.created_at AND t.channel = i.channel"
        " WHERE i.status = 'open' AND i.channel = :channel AND i.text = :text AND t.sender = :sender LIMIT 1",
        channel=channel,
        text=shown,
        sender=sender,
    )
    if duplicate:
        return None
    rows = await tx.fetch(
        "INSERT INTO inbox_items (created_at, channel, language, text, reason, guesses, status)"
        " VALUES (:now, :channel, :language, :text, :reason, :guesses, 'open') RETURNING id",
        now=now,
        channel=channel[:32],
        language=language if language in ("da", "en") else "da",
        text=shown,
        reason=reason,
        guesses=json.dumps([dict(g) for g in guesses][:GUESSES], ensure_ascii=False),
    )
    return int(rows[0]["id"])


async def previous_turn(tx: Tx, channel: str, sender: str) -> Row | None:
    """The conversation's last line in the turn log (the turn before the one being handled)."""
    rows = await tx.fetch(
        "SELECT created_at, text, language, intent, confidence, flow, step FROM turns"
        " WHERE channel = :channel AND sender = :sender ORDER BY id DESC LIMIT 1",
        channel=channel,
        sender=sender,
    )
    return rows[0] if rows else None


def typed_to_the_model(row: Row, now: datetime, within: timedelta) -> bool:
    """Whether a turn log line is a message the citizen typed and the model read: not a button's payload, not
    a marker, not a typed answer fitted to a button (those are logged with the button's confidence, 1.0), and
    recent enough to be the same visit."""
    text = str(row["text"])
    confidence = float(row["confidence"])
    return (
        worth_keeping(text)
        and 0.0 < confidence < 1.0
        and row["intent"] != FALLBACK_INTENT
        and now - row["created_at"] <= within
    )


# ---- reading ----------------------------------------------------------------------------------------------
def _item(row: Row) -> InboxItem:
    guesses = json.loads(row["guesses"] or "[]")
    return cast(InboxItem, {**row, "guesses": guesses if isinstance(guesses, list) else []})


async def open_items(tx: Tx, limit: int = MAX_OPEN) -> list[InboxItem]:
    """The open items, newest first."""
    rows = await tx.fetch(
        f"SELECT {_COLUMNS} FROM inbox_items WHERE status = 'open' ORDER BY created_at DESC, id DESC LIMIT :limit",
        limit=limit,
    )
    return [_item(r) for r in rows]


async def get(tx: Tx, item_id: int) -> InboxItem | None:
    rows = await tx.fetch(f"SELECT {_COLUMNS} FROM inbox_items WHERE id = :id", id=item_id)
    return _item(rows[0]) if rows else None


async def count_open(tx: Tx) -> int:
    return int((await tx.fetch("SELECT COUNT(*) AS n FROM inbox_items WHERE status = 'open'"))[0]["n"])


# ---- grouping -------------------------------------------------------------------------------------------
def vectors(model: IntentModel, texts: Sequence[str]) -> NDArray[np.float64]:
    """The model's own feature vectors of `texts` (its TF-IDF blocks and sentence vector), unit length: the
    space in which it decides, so messages close here are messages it treats alike."""
    if not texts:
        return np.zeros((0, 0))
    matrix = np.asarray(model.featurizer.transform(list(texts)).toarray(), dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit: NDArray[np.float64] = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return unit


def similarity_groups(unit_vectors: NDArray[np.float64], threshold: float) -> list[list[int]]:
    """Indices grouped by cosine similarity, in input order: each vector joins the first group whose first
    member (its leader) is at least `threshold` alike, else leads a new group. Deterministic for the same
    input; a zero vector (no known feature) stays alone."""
    groups: list[list[int]] = []
    leaders: list[int] = []
    for i in range(len(unit_vectors)):
        row = unit_vectors[i]
        home = None
        if np.any(row):
            for g, leader in enumerate(leaders):
                if float(row @ unit_vectors[leader]) >= threshold:
                    home = g
                    break
        if home is None:
            groups.append([i])
            leaders.append(i)
        else:
            groups[home].append(i)
    return groups


@dataclass
class Group:
    """Similar open messages, newest first, with what the model made of them (its guesses summed over the
    group, best first) and why they were kept."""

    items: list[InboxItem]
    guesses: list[dict[str, Any]] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def newest(self) -> datetime:
        return self.items[0]["created_at"]

    @property
    def ids(self) -> list[int]:
        return [item["id"] for item in self.items]

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "newest": self.newest,
            "guesses": self.guesses,
            "reasons": self.reasons,
            "items": self.items,
        }


def summarise(items: list[InboxItem]) -> Group:
    score: dict[str, float] = {}
    reasons: dict[str, int] = {}
    for item in items:
        reasons[item["reason"]] = reasons.get(item["reason"], 0) + 1
        for guess in item["guesses"]:
            score[guess["intent"]] = score.get(guess["intent"], 0.0) + float(guess["confidence"])
    best = sorted(score.items(), key=lambda kv: (-kv[1], kv[0]))[:GUESSES]
    guesses = [{"intent": name, "confidence": round(total / len(items), 4)} for name, total in best]
    return Group(items, guesses, reasons)


def group_items(items: list[InboxItem], model: IntentModel | None, threshold: float) -> list[Group]:
    """Open items (newest first) in groups of similar messages, the group with the newest message first.
    Without a model (a Rasa backend only) every message is its own group."""
    if model is None:
        return [summarise([item]) for item in items]
    indices = similarity_groups(vectors(model, [item["text"] for item in items]), threshold)
    return [summarise([items[i] for i in members]) for members in indices]


async def groups(tx: Tx, model: IntentModel | None, threshold: float) -> list[Group]:
    return group_items(await open_items(tx), model, threshold)


async def group_of(tx: Tx, item_id: int, model: IntentModel | None, threshold: float) -> list[int]:
    """The ids of the open group that holds `item_id` as the inbox shows it now ([] when it is not open)."""
    for group in await groups(tx, model, threshold):
        if item_id in group.ids:
            return group.ids
    return []


# ---- resolving ----------------------------------------------------------------------------------------------
@dataclass
class Resolved:
    """What a resolve did: the items handled, the phrases added, and the items not added (why)."""

    handled: list[int] = field(default_factory=list)
    added: list[int] = field(default_factory=list)  # phrase ids
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"handled": self.handled, "phrases": self.added, "skipped": self.skipped}


class InboxConflict(Exception):
    """Adding would contradict the training data or the served model for these items: nothing was done until
    the admin confirms (which moves another intent's phrase and accepts the model's warning)."""

    def __init__(self, intent: str, found: Mapping[int, Sequence[Conflict]]) -> None:
        super().__init__(f"{len(found)} message(s) conflict with {intent}")
        self.intent = intent
        self.found = {k: list(v) for k, v in found.items()}

    def to_dict(self) -> dict[str, Any]:
        items = [{"id": k, "conflicts": [c.to_dict() for c in v]} for k, v in self.found.items()]
        return {"intent": self.intent, "conflicts": items}


async def resolve(
    tx: Tx,
    now: datetime,
    actor_id: int | None,
    ids: Sequence[int],
    action: str,
    checker: Checker,
    *,
    intent: str | None = None,
    confirm: bool = False,
) -> Resolved:
    """Handle open items: "add" them to `intent` as training phrases (source inbox, in each item's language),
    "out_of_scope" or "dismiss". Items already handled are left as they are. For "add", every item is checked
    first and InboxConflict raised (nothing written) unless `confirm`; an item that cannot be a phrase (too
    long) is handled without one and reported."""
    if action not in ACTIONS:
        raise InboxError("action", 'The action must be "add", "out_of_scope" or "dismiss".')
    items = [item for item in [await get(tx, i) for i in dict.fromkeys(ids)] if item and item["status"] == "open"]
    if not items:
        raise InboxError("not_found", "No open message with that id.")
    done = Resolved()
    if action == "add":
        if not intent or intent not in phrases.known_intents():
            raise InboxError("intent", f"Unknown intent: {intent}.")
        if not confirm:
            found: dict[int, list[Conflict]] = {}
            for item in items:
                conflicts = await phrases.conflicts(tx, intent, phrases.clean(item["text"]), checker)
                if conflicts:
                    found[item["id"]] = conflicts
            if found:
                raise InboxConflict(intent, found)
        for item in items:
            try:
                row = await phrases.add(
                    tx, now, actor_id, intent, item["language"], item["text"], checker,
                    source="inbox", move=True, confirm=True,
                )  # fmt: skip
                done.added.append(row["id"])
            except PhraseError as exc:  # "exists": already taught, the message is handled all the same
                if exc.code != "exists":
                    done.skipped.append({"id": item["id"], "why": exc.code})
            except PhraseConflict:  # pragma: no cover - move and confirm accept every conflict
                raise
    status = ACTIONS[action]
    label = intent if action == "add" else ("out_of_scope" if action == "out_of_scope" else None)
    for item in items:
        await tx.execute(
            "UPDATE inbox_items SET status = :status, resolved_intent = :intent, resolved_by = :actor,"
            " resolved_at = :now WHERE id = :id AND status = 'open'",
            status=status,
            intent=label,
            actor=actor_id,
            now=now,
            id=item["id"],
        )
        done.handled.append(item["id"])
    detail = {"action": action, "intent": label, "items": done.handled, "phrases": done.added}
    await phrases.audit(tx, now, actor_id, "inbox_resolved", f"inbox:{done.handled[0]}", detail)
    return done
