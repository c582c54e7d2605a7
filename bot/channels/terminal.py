"""`ementor chat`: talk to the bot in a shell. Buttons are numbered; typing a number presses one."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Callable
from typing import TextIO

from bot.core.messages import Inbound, Outbound
from bot.core.ports import Replier

CHANNEL = "terminal"


def render(messages: list[Outbound]) -> tuple[str, list[str]]:
    """Text to print, and the payloads of the numbered buttons."""
    lines: list[str] = []
    payloads: list[str] = []
    for message in messages:
        lines.append(f"bot> {message.text}")
        lines += [f"     {link.title}: {link.url}" for link in message.links]
        if message.file is not None:
            lines.append(f"     {message.file.name or 'file'}: {message.file.url}")
        for button in message.buttons:
            payloads.append(button.payload)
            lines.append(f"     [{len(payloads)}] {button.title}")
    return "\n".join(lines), payloads


async def chat(
    bot: Replier,
    read: Callable[[], str] = input,
    out: TextIO = sys.stdout,
    sender: str | None = None,
) -> None:
    sender = sender or getpass.getuser()
    payloads: list[str] = []
    out.write("Skriv til botten (Ctrl-D for at slutte). / Write to the bot (Ctrl-D to quit).\n")
    while True:
        try:
            line = await asyncio.to_thread(read)
        except EOFError:
            out.write("\n")
            return
        text = line.strip()
        if text.isdigit() and 0 < int(text) <= len(payloads):
            text = payloads[int(text) - 1]
        replies = await bot.handle(Inbound(CHANNEL, sender, text))
        shown, payloads = render(replies or [])
        out.write(shown + "\n")
        out.flush()
