"""What a channel must offer the delivery worker to push messages: `send`, and two ways to fail.

A sender raises `Unreachable` when the recipient cannot be reached from this process right now (a web
chat connected to another bot process): the row goes back untouched for a process that can. It raises
`RetryLater` when the channel says how long to wait (flood control), and `PermanentFailure` when trying again
cannot help (the citizen blocked the bot): the row fails at once. Any
other exception is taken as passing trouble (network, rate limit) and the row is retried later.
"""

from __future__ import annotations

from typing import Protocol

from bot.core.messages import Outbound


class Unreachable(Exception):
    """The recipient is not connected to this process; another process (or a later try) may reach them."""


class RetryLater(Exception):
    """The channel asked us to wait (Telegram's flood control): not the message's fault, so no attempt is
    counted; it is sent again after `seconds`."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        super().__init__(reason or f"retry after {seconds:g} s")
        self.seconds = seconds


class PermanentFailure(Exception):
    """Sending to this recipient can never work (blocked bot, unknown chat): do not retry."""


class Sender(Protocol):
    async def send(self, recipient: str, messages: list[Outbound]) -> str | None:
        """Send `messages` in order; the channel's id of the last message sent, if it has one."""
        ...
