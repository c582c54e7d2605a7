"""What goes in and out of a conversation, independent of any channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    """A choice the citizen can press, or type: `role` says the button answers "yes" or "no" to the
    question ("ja", "ok", "nej tak" pick it), and `words` are what a citizen may type for it besides its title
    (the title in the other language, "android", "passet"). Channels show only the title."""

    title: str
    payload: str
    role: str | None = None  # "yes" | "no"
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class File:
    """A file for the citizen: a link (`url`), and for a file the bot made itself (a calendar entry) its
    `content` too, so a channel that can upload files (Telegram) sends the file rather than the link.
    A relative `url` is relative to the bot's own web address (the web chat's page)."""

    url: str
    name: str = ""
    mime: str = ""
    content: str | None = None


@dataclass(frozen=True)
class Outbound:
    """One bot message: text, with optional buttons, links, image (URL) or file."""

    text: str
    buttons: tuple[Button, ...] = ()
    links: tuple[Link, ...] = ()
    image: str | None = None
    file: File | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for messages kept in the database until they are sent (the outbox)."""
        return {
            "text": self.text,
            "buttons": [[b.title, b.payload, b.role, list(b.words)] for b in self.buttons],
            "links": [[link.title, link.url] for link in self.links],
            "image": self.image,
            "file": None if self.file is None else self.file.__dict__,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Outbound:
        return cls(
            raw["text"],
            tuple(_button(b) for b in raw.get("buttons", [])),
            tuple(Link(t, u) for t, u in raw.get("links", [])),
            raw.get("image"),
            File(**raw["file"]) if raw.get("file") else None,
        )


@dataclass(frozen=True)
class Inbound:
    """One citizen message as a channel received it. `message_id` lets a repeated delivery be dropped."""

    channel: str
    sender: str
    text: str
    message_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def _button(raw: list[Any]) -> Button:
    """A button kept as [title, payload] (older rows) or [title, payload, role, words]."""
    title, payload, *rest = raw
    role = rest[0] if rest else None
    words = tuple(rest[1]) if len(rest) > 1 else ()
    return Button(title, payload, role, words)
