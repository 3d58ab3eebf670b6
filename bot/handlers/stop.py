"""The Stop button under a reply being written: who may press it, and what a press does.

Owns the button's callback data (`stop:<id of the user's message the reply answers>`) and the
checks on a press: the reply must still be the one being written (an old button is stale), and
the presser must be its asker or may change the chat's settings (an admin). Stopping itself is
ConversationService.stop's business; the reply then ends with "Stopped." and loses the button.
"""

from __future__ import annotations

import re

from telegram import CallbackQuery, Message, Update

from bot.handlers.common import chat_key
from bot.handlers.context import BotContext
from bot.handlers.keyboards import answer_button

BUTTON_PATTERN = r"^stop:"
_DATA = re.compile(r"stop:(\d{1,12})")

STOPPING = "Stopping…"
STALE = "This reply has already finished."
FOREIGN = "Only the person who asked, or an admin, can stop this reply."


def stop_data(telegram_message_id: int) -> str:
    """The callback data of the Stop button under the reply to `telegram_message_id`."""
    return f"stop:{telegram_message_id}"


async def on_stop_button(update: Update, context: BotContext) -> None:
    """Stop the reply the pressed button belongs to, if it is still being written."""
    query = update.callback_query
    if query is not None:
        await answer_button(query, await _press(query, context))


async def _press(query: CallbackQuery, context: BotContext) -> str:
    match = _DATA.fullmatch(query.data or "")
    message = query.message
    if match is None or not isinstance(message, Message):
        return STALE
    key = chat_key(message)
    conversation = context.services.conversation
    running = conversation.running(key)
    answered = int(match.group(1))
    if running is None or running.telegram_message_id != answered:
        return STALE
    presser = query.from_user
    if running.user_id != presser.id and not await context.services.admins.may_change(
        message.chat, presser
    ):
        return FOREIGN
    if not conversation.stop(key, telegram_message_id=answered):
        return STALE
    return STOPPING
