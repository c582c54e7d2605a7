"""What goes in and out of a conversation, independent of any channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Link:
    title: str
    url: str


def with_links(text: str, links: tuple[Link, ...] | list[Link]) -> str:
    """`text` with each link as a "title: url" line, for channels that can only show text."""
    if not links:
        return text
    return text + "\n\n" + "\n".join(f"{link.title}: {link.url}" for link in links)


@dataclass(frozen=True)
class Outbound:
    """One bot message: text, with optional buttons, links, image or file (URLs)."""

    text: str
    buttons: tuple[Button, ...] = ()
    links: tuple[Link, ...] = ()
    image: str | None = None
    file: str | None = None


@dataclass(frozen=True)
class Inbound:
    """One citizen message as a channel received it. `message_id` lets a repeated delivery be dropped."""

    channel: str
    sender: str
    text: str
    message_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
