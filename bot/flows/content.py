"""What the bot says, as one value a running process can swap: the flows, the UI texts and the phrase files of
a flows folder, with the texts admins edited in the console (content overrides) applied.

Why: an admin changes a step's text and every bot process must say it within seconds, without a restart,
while citizens' turns go on. Each process keeps one `Shelf` per flows folder with the `Content` it serves. A
reload builds the new `Content` beside the old one (the files are parsed once and kept; applying the edits
to them is cheap) and swaps one reference. A turn pins the content it started with (`Shelf.pin`), so it
ends with the texts it began with, whatever is swapped meanwhile; everything that reads texts (the engine,
the booking and hand-over phrases, the consoles' topic titles) reads them through the shelf.

Keys: a step is "intent.step"; a phrase is "file.key" ("booking.ask_name", "handover.queued") or, in
flows/ui/texts.yml with its two sections, "texts.buttons.worked" / "texts.texts.menu".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bot.core.text import Text
from bot.flows.check import edit_problems
from bot.flows.loader import load_flows
from bot.flows.model import Flow
from bot.flows.phrases import Phrases, load_phrases
from bot.flows.ui import UiTexts, load_ui

Kind = Literal["step", "phrase"]
KINDS: tuple[Kind, ...] = ("step", "phrase")
PHRASE_FILES = ("booking", "handover")  # flows/ui/<name>.yml: phrases: key -> {da, en}
UI_SECTIONS = ("buttons", "texts")  # flows/ui/texts.yml
# Said when the database is away: the channels are handed it once at start-up, and a console edit lives in
# the database, which is exactly what is away then. It is changed in its file.
FILE_ONLY = frozenset({"texts.texts.unavailable"})


@dataclass(frozen=True)
class Override:
    """A text edited in the console, in place of the file's."""

    kind: Kind
    key: str
    text: Text


@dataclass(frozen=True)
class Content:
    """Everything the bot says, from one flows folder (and the edits applied to it)."""

    flows: Mapping[str, Flow]
    ui: UiTexts
    phrases: Mapping[str, Phrases]  # "booking", "handover"
    edited: frozenset[tuple[str, str]] = frozenset()  # (kind, key) of the edits applied

    def text_of(self, kind: str, key: str) -> Text | None:
        """The text under a key, or None when there is no such step or phrase."""
        if kind == "step":
            intent, _, step_id = key.partition(".")
            flow = self.flows.get(intent)
            step = flow.steps.get(step_id) if flow is not None else None
            return step.text if step is not None else None
        if kind != "phrase":
            return None
        file, _, rest = key.partition(".")
        if file == "texts":
            section, _, name = rest.partition(".")
            table = {"buttons": self.ui.buttons, "texts": self.ui.texts}.get(section, {})
            return table.get(name)
        phrases = self.phrases.get(file)
        return phrases.phrases.get(rest) if phrases is not None else None

    def phrase_keys(self) -> list[str]:
        """Every phrase an admin may edit, file by file in the files' own order."""
        keys = [f"texts.{section}.{name}" for section in UI_SECTIONS for name in getattr(self.ui, section)]
        keys += [f"{file}.{name}" for file in PHRASE_FILES for name in self.phrases[file].phrases]
        return [key for key in keys if key not in FILE_ONLY]


def is_button(key: str) -> bool:
    """A phrase shown on a button (at most 30 characters there): the UI's buttons, booking's `b_…`, the
    hand-over's `button_…` and the eMentors' group buttons."""
    file, _, name = key.partition(".")
    return (
        (file == "texts" and name.startswith("buttons."))
        or (file == "booking" and name.startswith("b_"))
        or (file == "handover" and (name.startswith("button_") or name in ("group_take", "group_end")))
    )


def problems(base: Content, kind: str, key: str, text: Text) -> list[str]:
    """Why `text` may not replace the text under `key` in `base` (in the checker's words); [] when it may."""
    if kind not in KINDS:
        return [f"{kind}: not a kind of text (step or phrase)"]
    file = base.text_of(kind, key)
    if file is None:
        return [f"{key}: no such {kind} in the files"]
    if key in FILE_ONLY:
        return [f"{key}: said when the database is away, so it is changed in its file"]
    return edit_problems(kind, key, text, file, button=kind == "phrase" and is_button(key))


def load_files(folder: str | Path) -> Content:
    """The folder's files as they are (parsed once per change of the files: 0.3 s for the shipped flows)."""
    root = Path(folder)
    return Content(
        load_flows([root]),
        load_ui(root / "ui" / "texts.yml"),
        {name: load_phrases(root / "ui" / f"{name}.yml") for name in PHRASE_FILES},
    )


def apply(base: Content, overrides: Iterable[Override]) -> Content:
    """`base` with each edit in place of its text. An edit whose step or phrase no longer exists in the files
    (renamed since) is left out: it waits in the database for someone to revert it."""
    flows = dict(base.flows)
    buttons, texts = dict(base.ui.buttons), dict(base.ui.texts)
    phrases = {name: dict(p.phrases) for name, p in base.phrases.items()}
    edited: set[tuple[str, str]] = set()
    for o in overrides:
        if base.text_of(o.kind, o.key) is None or o.key in FILE_ONLY:
            continue
        edited.add((o.kind, o.key))
        if o.kind == "step":
            intent, _, step_id = o.key.partition(".")
            flow = flows[intent]
            steps = {**flow.steps, step_id: dataclasses.replace(flow.steps[step_id], text=o.text)}
            flows[intent] = dataclasses.replace(flow, steps=steps)
            continue
        file, _, rest = o.key.partition(".")
        if file == "texts":
            section, _, name = rest.partition(".")
            (buttons if section == "buttons" else texts)[name] = o.text
        else:
            phrases[file][rest] = o.text
    return Content(
        flows,
        dataclasses.replace(base.ui, buttons=buttons, texts=texts),
        {name: Phrases(base.phrases[name].source, table) for name, table in phrases.items()},
        frozenset(edited),
    )


def signature(folder: str | Path) -> tuple[tuple[str, int, int], ...]:
    """What the files look like from outside (name, size, modification time): a reload parses them again
    only when this changed (after `ementor flows export`, or a deploy)."""
    root = Path(folder)
    found = sorted([*root.glob("*.yml"), *(root / "ui").glob("*.yml")])
    return tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in found if p.is_file())


_PINNED: ContextVar[tuple[Shelf, Content] | None] = ContextVar("pinned_content", default=None)


@dataclass(eq=False)
class Shelf:
    """The content one flows folder is served with in this process: the files (`base`), and what is served
    now (`now()`: the files with the edits). Swapping is one assignment; readers never see half of it."""

    folder: Path
    base: Content
    files: tuple[tuple[str, int, int], ...] = ()
    _served: Content | None = field(default=None, repr=False)

    def now(self) -> Content:
        """What is served: the content pinned by the turn in progress, else the newest."""
        pinned = _PINNED.get()
        if pinned is not None and pinned[0] is self:
            return pinned[1]
        return self._served if self._served is not None else self.base

    def swap(self, content: Content, base: Content | None = None, files: tuple[tuple[str, int, int], ...] = ()) -> None:
        """Serve `content` from now on (and keep `base` as the files' texts when they were parsed anew)."""
        if base is not None:
            self.base, self.files = base, files
        self._served = content

    @contextmanager
    def pin(self) -> Iterator[Content]:
        """Within the block (one citizen's turn, and every task it starts), `now()` stays what it is now."""
        token = _PINNED.set((self, self.now()))
        try:
            yield _PINNED.get()[1]  # type: ignore[index]
        finally:
            _PINNED.reset(token)


_SHELVES: dict[str, Shelf] = {}


def shelf(folder: str | Path) -> Shelf:
    """The process's shelf for a flows folder; the files are read on first use."""
    key = str(Path(folder).resolve())
    found = _SHELVES.get(key)
    if found is None:
        files = signature(key)
        found = _SHELVES[key] = Shelf(Path(key), load_files(key), files)
    return found


def restock(folder: str | Path) -> Shelf:
    """The shelf for a folder, read from its files afresh: a new runtime starts from the files (its watcher
    applies the database's edits on its first tick), never from what an earlier one in this process served."""
    key = str(Path(folder).resolve())
    files = signature(key)
    base = load_files(key)
    found = _SHELVES.get(key)
    if found is None:
        found = _SHELVES[key] = Shelf(Path(key), base, files)
    else:
        found.swap(base, base, files)
    return found


class LiveFlows(Mapping[str, Flow]):
    """The flows as served now, as a mapping that stays current: hand it to whatever keeps flows for long (the
    consoles, the API), and it reads the shelf on every look-up."""

    def __init__(self, source: Shelf) -> None:
        self.shelf = source

    def __getitem__(self, intent: str) -> Flow:
        return self.shelf.now().flows[intent]

    def __iter__(self) -> Iterator[str]:
        return iter(self.shelf.now().flows)

    def __len__(self) -> int:
        return len(self.shelf.now().flows)
