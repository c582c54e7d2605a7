"""`ementor outbox`: how the bot's own messages (reminders, eMentor replies, notices) are doing.

Counts per status, then the failed ones with their errors, newest first: what an operator checks when a
citizen says a reminder never came. Recipients are shown as they are stored (chat ids, web session ids).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from bot.config import Settings
from bot.core.ports import Tx
from bot.core.statuses import OutboxStatus
from bot.delivery.outbox import DeliveryRow, count_by_status, list_deliveries

STATUSES = tuple(OutboxStatus)


def add_commands(commands: Any) -> None:
    """The `outbox` command, added to the CLI's sub-parsers."""
    outbox = commands.add_parser("outbox", help="deliveries per status, and the failed ones with their errors")
    outbox.add_argument("--limit", type=int, default=20, help="failed deliveries shown (default: 20)")
    outbox.set_defaults(func=cmd_outbox)


def report(counts: dict[str, int], failed: Sequence[DeliveryRow]) -> list[str]:
    lines = [
        "  ".join(f"{status}: {counts.get(status, 0)}" for status in (*STATUSES, *sorted(set(counts) - set(STATUSES))))
    ]
    if failed:
        lines.append("")
        lines.append("failed:")
    for row in failed:
        due = row["due_at"].strftime("%Y-%m-%d %H:%M UTC")
        lines.append(
            f"  #{row['id']} {row['kind']} to {row['channel']} {row['recipient']}, due {due},"
            f" {row['attempts']} attempt(s): {row['last_error'] or '(no error recorded)'}"
        )
    return lines


def cmd_outbox(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime import in_transaction

    async def read(tx: Tx) -> tuple[dict[str, int], list[DeliveryRow]]:
        return await count_by_status(tx), await list_deliveries(tx, OutboxStatus.FAILED, max(1, args.limit))

    print("\n".join(report(*in_transaction(settings, read))))
    return 0
