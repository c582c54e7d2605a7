"""The eMentors' Telegram group: their buttons and replies, kept apart from the citizens' conversations.

Updates from the group's chat never reach the dispatcher: an eMentor pressing "Tag samtalen" or answering a
citizen is not a citizen talking to the bot. The group sees notices (sent by the delivery worker) with
buttons `/take{"h"}`, `/end{"h"}`, `/attended{"ref"}`, `/no_show{"ref"}`; a pressed button gets a short
answer on the button itself. A reply to a hand-over's message goes to that citizen. `/online` and
`/offline` set a linked eMentor's presence. A message that is not a reply, from an eMentor who holds a talk
taken in the group, gets one line on how to answer the citizen (it was not sent); everything else said in
the group is the eMentors' own talk and is ignored. Only linked eMentor accounts act (the desk checks). The
work is done by a desk (bot/escalation/desk.py) handed in from outside, so this module stays transport only.
"""

from __future__ import annotations

import logging
from typing import Protocol

from telegram import CallbackQuery, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.core.payloads import parse_payload

log = logging.getLogger(__name__)
PRESENCE = {"/online": True, "/offline": False}


class GroupDesk(Protocol):
    chat_id: int

    async def first_delivery(self, update_id: int) -> bool:
        """False for an update Telegram delivers again (a reply must reach the citizen once)."""
        ...

    async def take(self, handover_id: str, user_id: int, first_name: str) -> str: ...

    async def end(self, handover_id: str, user_id: int) -> str: ...

    async def attendance(self, reference: str, status: str, user_id: int) -> str: ...

    async def reply(self, replied_to: int, user_id: int, text: str) -> str | None: ...

    async def presence(self, user_id: int, online: bool) -> str: ...

    async def hint(self, user_id: int) -> str | None:
        """How to answer a citizen, for a group message that is not a reply; None: the eMentors' own talk."""
        ...


def command_of(text: str) -> str:
    """ "/online@ementor_bot now" → "/online"."""
    return text.split(maxsplit=1)[0].split("@", 1)[0].lower() if text.startswith("/") else ""


class TelegramGroup:
    def __init__(self, desk: GroupDesk) -> None:
        self.desk = desk

    def handles(self, chat_id: int) -> bool:
        return self.desk.chat_id != 0 and chat_id == self.desk.chat_id

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        user = message.from_user if message is not None else None
        if message is None or user is None or user.is_bot or not message.text:
            return
        command = command_of(message.text)
        if command in PRESENCE:
            said: str | None = await self.desk.presence(user.id, PRESENCE[command])
        elif message.reply_to_message is not None and not command:
            said = await self.desk.reply(message.reply_to_message.message_id, user.id, message.text)
        elif not command:
            said = await self.desk.hint(user.id)
        else:
            return
        if said:
            await context.bot.send_message(message.chat_id, said, reply_to_message_id=message.message_id)

    async def unavailable(self, update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
        """Say `text` (the database is away: try again) on the pressed button or as a reply."""
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(text, show_alert=True)
            elif update.message is not None:
                await context.bot.send_message(
                    update.message.chat_id, text, reply_to_message_id=update.message.message_id
                )
        except TelegramError as exc:
            log.warning("eMentor group: could not say the database is away: %s", exc)

    async def on_button(self, query: CallbackQuery, data: str) -> None:
        """`data`: the pressed button's payload (already decoded from callback data)."""
        parsed = parse_payload(data)
        user = query.from_user
        said = ""
        if parsed is not None:
            intent, entities = parsed
            if intent == "take":
                said = await self.desk.take(entities.get("h", ""), user.id, user.first_name)
            elif intent == "end":
                said = await self.desk.end(entities.get("h", ""), user.id)
            elif intent in ("attended", "no_show"):
                said = await self.desk.attendance(entities.get("ref", ""), intent, user.id)
        try:
            await query.answer(said or None)
        except TelegramError as exc:  # answered too late: the work is done all the same
            log.warning("eMentor group: callback query not answered: %s", exc)
