"""The gate in front of every handler: a refused user is told (at most once a minute), once.

Owns applying the access policy to every kind of update. A refused user is told only where the
bot would answer anything: in a private chat, on a button press, and in a group only when they
address the bot; other group chatter is dropped without a word. Updates without a user (channel
posts) pass; no handler answers them. A refused update goes no further whatever happens while
refusing it (a press too old to answer, a timeout): the gate fails closed. The rules themselves
are access_policy.py's.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.handlers.access_policy import not_allowed_text
from bot.handlers.addressing import speaks_to_bot
from bot.handlers.common import answer
from bot.handlers.context import BotContext
from bot.handlers.keyboards import answer_button

log = logging.getLogger(__name__)


async def on_any_update(update: Update, context: BotContext) -> None:
    """Stop an update from anyone the allowlists keep out, before any handler sees it."""
    user, chat = update.effective_user, update.effective_chat
    policy = context.services.access
    if user is None or policy.allows(user.id, chat.id if chat else None):
        return
    log.info("refused update %s from user %s in chat %s", update.update_id, user.id, chat)
    try:
        await _refuse(update, context, user.id)
    except Exception:
        # Whatever failed while telling them (a button press too old to answer, a timeout, a
        # bug), the update stays stopped: raising anything else would let PTB run the handlers
        # behind this gate for someone the allowlists keep out.
        log.exception("update %s: could not answer refused user %s", update.update_id, user.id)
    raise ApplicationHandlerStop


async def _refuse(update: Update, context: BotContext, user_id: int) -> None:
    """Tell a refused user why, where the bot would answer and at most once a minute; a button
    press is always answered, so their spinner stops."""
    query = update.callback_query
    if _answerable(update, context) and context.services.access.should_tell(user_id):
        try:
            if query is not None:
                await query.answer(not_allowed_text(user_id), show_alert=True)
            elif update.effective_message is not None:
                await answer(update, context, not_allowed_text(user_id))
        except TelegramError as exc:
            log.info("could not tell user %s they are refused: %s", user_id, exc)
    elif query is not None:
        await answer_button(query, None)  # stop the spinner, say nothing new


def _answerable(update: Update, context: BotContext) -> bool:
    if update.callback_query is not None:
        return True
    message = update.effective_message
    return message is not None and speaks_to_bot(message, context.bot)
