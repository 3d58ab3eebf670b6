"""Stopping a reply being written: the Stop button under it and /stop, by one rule.

Owns the button's callback data (`stop:<id of the user's message the reply answers>`) and
`stop_reply`, the check both use: there must be a reply being written (for a button, still the
one it was pressed under; an old button is stale), and whoever asks to stop it must be its asker
or may change the chat's settings (an admin; in a group also whoever writes as the group).
Stopping itself is ConversationService.stop's business; the reply then ends with "Stopped." and
loses the button.
"""

from __future__ import annotations

import re
from enum import Enum

from telegram import CallbackQuery, Chat, Message, Update, User

from bot.handlers.common import chat_key
from bot.handlers.context import BotContext
from bot.handlers.keyboards import answer_button
from bot.i18n import N_, _

BUTTON_PATTERN = r"^stop:"
_DATA = re.compile(r"stop:(\d{1,12})")

# Translators: the answer to a press of the Stop button under a reply being written.
STOPPING = N_("Stopping…")
STALE = N_("This reply has already finished.")
FOREIGN = N_("Only the person who asked, or an admin, can stop this reply.")


def stop_data(telegram_message_id: int) -> str:
    """The callback data of the Stop button under the reply to `telegram_message_id`."""
    return f"stop:{telegram_message_id}"


class Stop(Enum):
    """What asking to stop a reply came to."""

    STOPPING = "stopping"
    NOTHING = "nothing"  # no reply is being written (for a button: not the one it was under)
    FOREIGN = "foreign"  # someone else's reply, and the asker is no admin


async def stop_reply(
    context: BotContext,
    message: Message,
    user: User | None,
    *,
    answering: int | None = None,
    sender_chat: Chat | None = None,
) -> Stop:
    """Stop the reply being written in `message`'s chat (only if it answers the user's message
    `answering`, when given) for `user` (or someone writing as `sender_chat`): its asker or an
    admin may."""
    key = chat_key(message)
    conversation = context.services.conversation
    running = conversation.running(key)
    if running is None or (answering is not None and running.telegram_message_id != answering):
        return Stop.NOTHING
    asker = user is not None and running.user_id == user.id
    if not asker and not await context.services.admins.may_change(
        message.chat, user, sender_chat=sender_chat
    ):
        return Stop.FOREIGN
    # The reply checked above, not one that started while the admins were being asked.
    if not conversation.stop(key, telegram_message_id=running.telegram_message_id):
        return Stop.NOTHING
    return Stop.STOPPING


async def on_stop_button(update: Update, context: BotContext) -> None:
    """Stop the reply the pressed button belongs to, if it is still being written."""
    query = update.callback_query
    if query is not None:
        await answer_button(query, await _press(query, context))


async def _press(query: CallbackQuery, context: BotContext) -> str:
    match = _DATA.fullmatch(query.data or "")
    message = query.message
    if match is None or not isinstance(message, Message):
        return _(STALE)
    stopped = await stop_reply(context, message, query.from_user, answering=int(match.group(1)))
    return _({Stop.STOPPING: STOPPING, Stop.NOTHING: STALE, Stop.FOREIGN: FOREIGN}[stopped])
