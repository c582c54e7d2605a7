"""Telling the eMentors: a notice row for the JSON API's feed, and a message in their Telegram group.

A notice says what the citizen needs (topic, language, steps tried, time) and no more personal data than
the eMentor needs to act: never the conversation's text, never a CPR number.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.config import Settings
from bot.core.messages import Button, Outbound
from bot.core.ports import Tx
from bot.core.privacy import SECRETS, redacted_values
from bot.delivery.outbox import enqueue

GROUP_CHANNEL = "telegram"


async def notify(
    tx: Tx,
    settings: Settings,
    now: datetime,
    kind: str,
    body: dict[str, Any],
    group_text: str,
    buttons: Sequence[Button] = (),
    *,
    booking_id: int | None = None,
    handover_id: int | None = None,
) -> int:
    """Record notice `kind` with `body` for the API; post `group_text` to the eMentors' group if one is set."""
    rows = await tx.fetch(
        "INSERT INTO notices (kind, body, created_at) VALUES (:kind, :body, :now) RETURNING id",
        kind=kind,
        body=json.dumps(redacted_values(body, SECRETS), ensure_ascii=False, default=str),
        now=now,
    )
    group = settings.handover.telegram_group_chat_id
    if group:
        await enqueue(
            tx,
            "notice",
            GROUP_CHANNEL,
            str(group),
            [Outbound(group_text, tuple(buttons))],
            now,
            now,
            booking_id=booking_id,
            handover_id=handover_id,
        )
    return int(rows[0]["id"])
