"""Typing X does what pressing Y does: the share of typed answers the bot understands as the button they mean.

    python -m bench.typed_answers [CASES.yml ...]    (default: tests/typed_answers/heldout.yml)

Each case (format in tests/typed_answers/README.md) brings two citizens to the same question through the REST
channel of a real bot app (the shipped config.yml's places and hours, a clock fixed on a Monday morning, a
fresh SQLite database): one presses button Y (or sends the reference answer `same_as`), the other types X.
Their replies must be the same, word for word and button for button (booking references and calendar links
masked). Prints the share per kind of question and overall; confirmations must be 100 %.
The sets were written apart from the flows and the matcher, and are never used to tune it: tuning.yml is the
one to look at while working, heldout.yml the one whose figure is claimed.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import re
import sys
import tempfile
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from aiohttp.test_utils import TestClient, TestServer

from bench.common import ROOT
from bot.app import build_app
from bot.config import ClassifierSettings, DatabaseSettings, load_settings
from bot.core.clock import COPENHAGEN, ManualClock
from bot.core.ports import Tx
from bot.nlu.classifier import IntentModel
from bot.nlu.trainer import train_from_files
from bot.storage.migrate import upgrade_async
from bot.storage.store import Store

CASES = ROOT / "tests" / "typed_answers"
NOW = datetime(2025, 12, 1, 8, 0, tzinfo=COPENHAGEN)  # a Monday morning
_REFERENCE = re.compile(r"(?<=Reference: )[A-Z0-9]{6}\b|(?<=\()[A-Z0-9]{6}(?=\))")
_CALENDAR = re.compile(r"calendar/[A-Za-z0-9_-]+\.ics")
_CLEARED = ("bookings", "outbox", "notices", "handover_messages", "handovers")


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    setup: tuple[Any, ...]
    typed: tuple[str, ...]
    press: str | int | None = None
    same_as: str | None = None


@dataclass
class Outcome:
    case: Case
    typed: str
    same: bool
    expected: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    got: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)


def load_cases(paths: Sequence[Path]) -> list[Case]:
    cases: list[Case] = []
    for path in paths:
        for raw in yaml.safe_load(path.read_text("utf-8")) or []:
            if ("press" in raw) == ("same_as" in raw):
                raise SystemExit(f"{path}: case {raw.get('name')!r} needs exactly one of `press` and `same_as`")
            cases.append(
                Case(
                    str(raw["name"]),
                    str(raw["kind"]),
                    tuple(raw.get("setup") or ()),
                    tuple(str(t) for t in raw["typed"]),
                    raw.get("press"),
                    None if raw.get("same_as") is None else str(raw["same_as"]),
                )
            )
    return cases


def shown(replies: list[dict[str, Any]]) -> list[tuple[str, tuple[str, ...]]]:
    """What the citizen sees: each message's text (references and calendar links masked) and its buttons."""
    out = []
    for reply in replies:
        text = _CALENDAR.sub("calendar/…", _REFERENCE.sub("……", str(reply.get("text", ""))))
        out.append((text, tuple(str(b["title"]) for b in reply.get("buttons", []))))
    return out


class Citizen:
    def __init__(self, client: TestClient[Any, Any], sender: str) -> None:
        self.client = client
        self.sender = sender
        self.last: list[dict[str, Any]] = []

    async def say(self, message: str) -> list[dict[str, Any]]:
        response = await self.client.post("/webhooks/rest/webhook", json={"sender": self.sender, "message": message})
        self.last = await response.json() if response.status == 200 else [{"text": f"HTTP {response.status}"}]
        return self.last

    def payload_of(self, press: str | int) -> str:
        offered = [b for r in self.last for b in r.get("buttons", [])]
        if isinstance(press, int):
            if not 1 <= press <= len(offered):
                raise LookupError(f"no button number {press} among {[b['title'] for b in offered]}")
            return str(offered[press - 1]["payload"])
        found = [b["payload"] for b in offered if b["title"] == press]
        if not found:
            raise LookupError(f"no button {press!r} among {[b['title'] for b in offered]}")
        return str(found[0])

    async def walk(self, setup: Sequence[Any]) -> None:
        for step in setup:
            if isinstance(step, dict) and "press" in step:
                await self.say(self.payload_of(step["press"]))
            else:
                await self.say(str(step))


@asynccontextmanager
async def bot(model: IntentModel) -> AsyncIterator[tuple[TestClient[Any, Any], Store]]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/typed.db"
        await upgrade_async(url)
        settings = load_settings(ROOT / "config.yml", environ={})
        settings = dataclasses.replace(settings, database=DatabaseSettings(url))
        store = Store(url)
        client = TestClient(TestServer(build_app(settings, model, store, ManualClock(NOW))))
        await client.start_server()
        try:
            yield client, store
        finally:
            await client.close()
            await store.close()


async def clear(store: Store) -> None:
    """Every citizen starts with all places free: what one booked must not be taken from the next."""

    async def wipe(tx: Tx) -> None:
        for table in _CLEARED:
            await tx.execute(f"DELETE FROM {table}")

    await store.transaction(wipe)


async def run_cases(cases: Sequence[Case], model: IntentModel) -> list[Outcome]:
    outcomes: list[Outcome] = []
    counter = 0
    async with bot(model) as (client, store):
        for case in cases:
            counter += 1
            await clear(store)
            presser = Citizen(client, f"press-{counter}")
            try:
                await presser.walk(case.setup)
                answer = presser.payload_of(case.press) if case.press is not None else str(case.same_as)
            except LookupError as exc:  # the setup no longer reaches the question: every answer fails, loudly
                missing: list[tuple[str, tuple[str, ...]]] = [("setup does not reach the question: " + str(exc), ())]
                outcomes += [Outcome(case, typed, False, missing, []) for typed in case.typed]
                continue
            expected = shown(await presser.say(answer))
            for n, typed in enumerate(case.typed):
                await clear(store)
                typist = Citizen(client, f"type-{counter}-{n}")
                await typist.walk(case.setup)
                got = shown(await typist.say(typed))
                outcomes.append(Outcome(case, typed, got == expected, expected, got))
    return outcomes


def report(outcomes: Sequence[Outcome], out: Any = sys.stdout, failures: bool = False) -> dict[str, float]:
    by_kind: defaultdict[str, list[bool]] = defaultdict(list)
    for o in outcomes:
        by_kind[o.case.kind].append(o.same)
    shares = {kind: sum(v) / len(v) for kind, v in sorted(by_kind.items())}
    print(f"{'kind of question':<22}{'typed':>7}{'same as pressing':>18}", file=out)
    for kind, values in sorted(by_kind.items()):
        print(f"{kind:<22}{len(values):>7}{100 * shares[kind]:>17.1f}%", file=out)
    total = sum(o.same for o in outcomes) / max(1, len(outcomes))
    print(f"{'all':<22}{len(outcomes):>7}{100 * total:>17.1f}%", file=out)
    shares["all"] = total
    if failures:
        for o in outcomes:
            if not o.same:
                print(f"\n✗ {o.case.name} [{o.case.kind}] typed {o.typed!r}", file=out)
                print(f"  pressing: {o.expected}", file=out)
                print(f"  typing:   {o.got}", file=out)
    return shares


def project_model() -> IntentModel:
    return train_from_files([ROOT / "nlu_data"], ClassifierSettings())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cases", nargs="*", type=Path, default=[CASES / "heldout.yml"])
    parser.add_argument("--failures", action="store_true", help="print every typed answer that did not match")
    args = parser.parse_args()
    cases = load_cases(args.cases)
    outcomes = asyncio.run(run_cases(cases, project_model()))
    print(f"{len(cases)} questions, {len(outcomes)} typed answers ({', '.join(str(p) for p in args.cases)})")
    shares = report(outcomes, failures=args.failures)
    if shares.get("confirm", 1.0) < 1.0:
        raise SystemExit("FAILED: a typed confirmation did not do what pressing it does")


if __name__ == "__main__":
    main()
