"""Our `Outbound` messages as Bot API calls: text with an inline keyboard, then a photo, then a document.

Buttons become callback buttons (their payload as callback data, see telegram_buttons.py) and links become
URL buttons, one per row: titles are whole phrases, and a phone screen shows them best one under another.
Text is sent without parse mode, so nothing a flow says can be misread as Markdown or HTML.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import MessageLimit

from bot.channels.base import with_links
from bot.channels.telegram.buttons import CallbackData
from bot.core.messages import File, Outbound

MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH
# PTB 22 warns on every flood-control error that `retry_after` will become a timedelta; we read both, so opt in
os.environ.setdefault("PTB_TIMEDELTA", "1")


def is_web_url(url: str) -> bool:
    return url.startswith(("https://", "http://"))


async def keyboard(message: Outbound, callback_data: CallbackData) -> InlineKeyboardMarkup | None:
    links = [link for link in message.links if is_web_url(link.url)]
    if not message.buttons and not links:
        return None
    data = await callback_data.encode(b.payload for b in message.buttons)
    rows = [[InlineKeyboardButton(link.title, url=link.url)] for link in links]
    rows += [[InlineKeyboardButton(b.title, callback_data=data[b.payload])] for b in message.buttons]
    return InlineKeyboardMarkup(rows)


def text_parts(message: Outbound) -> list[str]:
    """The text in pieces Telegram accepts; links that cannot be URL buttons are written into it."""
    text = with_links(message.text, [link for link in message.links if not is_web_url(link.url)]).strip()
    return [text[i : i + MAX_TEXT] for i in range(0, len(text), MAX_TEXT)]


def document_of(file: File) -> str | InputFile:
    """The file itself when the bot made it (Telegram cannot fetch our relative links), else its URL."""
    if file.content is not None:
        return InputFile(file.content.encode("utf-8"), filename=file.name or "file")
    return file.url


async def send(bot: Bot, chat_id: int, messages: Sequence[Outbound], callback_data: CallbackData) -> list[int]:
    """Send `messages` in order; the Telegram message ids, in the order sent."""
    sent: list[int] = []
    for message in messages:
        markup = await keyboard(message, callback_data)
        parts = text_parts(message) or (["…"] if markup else [])
        for i, part in enumerate(parts):
            reply = await bot.send_message(chat_id, part, reply_markup=markup if i == len(parts) - 1 else None)
            sent.append(reply.message_id)
        if message.image:
            sent.append((await bot.send_photo(chat_id, message.image)).message_id)
        if message.file is not None:
            sent.append((await bot.send_document(chat_id, document_of(message.file))).message_id)
    return sent
