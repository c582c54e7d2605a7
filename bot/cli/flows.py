"""`ementor flows export [--clear]` and `ementor flows check`: the answer texts between the admin console and
the files.

Texts edited in the console live in the database (`content_overrides`) and are served by every process at
once; the files in `flows/` stay the repository's source of truth. `export` writes the edits into the files in
place (only those texts change; bot/flows/export.py), and with `--clear` forgets the edits now in the files,
so the console shows the files' texts as the files' again. `check` runs the checks start-up and the tests
run on the files.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings
from bot.core import live
from bot.core.clock import utc_now
from bot.core.ports import Tx
from bot.flows.check import text_problems
from bot.flows.content import load_files
from bot.flows.export import Exported, export
from bot.flows.loader import FlowError


def add_commands(commands: Any) -> None:
    """The `flows` family, added to the CLI's sub-parsers."""
    flows = commands.add_parser("flows", help="answer texts: write the console's edits into flows/, check the files")
    family = flows.add_subparsers(dest="flows_command", required=True)
    out = family.add_parser("export", help="write the texts edited in the admin console into the flow files")
    out.add_argument("--clear", action="store_true", help="then forget the edits that are now in the files")
    out.set_defaults(func=cmd_export)
    check = family.add_parser("check", help="check the flow and phrase files as start-up and the tests do")
    check.set_defaults(func=cmd_check)


def report(done: Exported, folder: Path, cleared: int | None) -> list[str]:
    lines = [f"wrote {path}" for path in done.files]
    lines.append(f"{len(done.written)} edited text(s) are in {folder} now ({len(done.files)} file(s) changed)")
    for edit in done.unplaced:
        lines.append(f"not written: {edit.kind} {edit.key} is no longer in the files; revert it in the console")
    if cleared is None:
        if done.written:
            lines.append("the edits stay in the database; `ementor flows export --clear` forgets them once committed")
    else:
        lines.append(f"{cleared} edit(s) cleared from the database: the files' texts are served")
    return lines


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.consoles import content as content_store
    from bot.runtime import open_store

    folder = Path(settings.conversation.flows)
    store = open_store(settings)

    async def main() -> tuple[Exported, int | None]:
        try:
            edits = await store.transaction(content_store.overrides)
            done = export(folder, edits)

            async def after(tx: Tx) -> int | None:
                cleared = await content_store.clear(tx, utc_now(), None, done.written) if args.clear else None
                if done.files and not cleared:  # every process reads the changed files again
                    await live.announce(tx, live.CONTENT, utc_now())
                return cleared

            return done, await store.transaction(after)
        finally:
            await store.close()

    try:
        done, cleared = asyncio.run(main())
    except FlowError as exc:
        print(f"nothing written: {exc}")
        return 1
    print("\n".join(report(done, folder, cleared)))
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime import check_content

    folder = Path(settings.conversation.flows)
    try:
        content = check_content(load_files(folder), folder)
    except (FlowError, ConfigError) as exc:
        print(exc)
        return 1
    problems = text_problems(content.flows.values())
    for line in problems:
        print(line)
    steps = sum(len(f.steps) for f in content.flows.values())
    print(f"{len(content.flows)} flows, {steps} steps, {len(content.phrase_keys())} phrases, {len(problems)} problems")
    return 1 if problems else 0
