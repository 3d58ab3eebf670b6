"""The last line: every exception a handler lets through is logged and explained, never shown."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.errors import BotError
from bot.handlers.common import answer
from bot.handlers.context import BotContext

log = logging.getLogger(__name__)

GENERIC = "Sorry, something went wrong while handling your message. Please try again."


async def on_error(update: object, context: BotContext) -> None:
    """Log the failure with its update id and tell the chat something readable."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed: %r", update_id, error, exc_info=error)
    if not isinstance(update, Update) or update.effective_message is None:
        return
    text = error.user_message if isinstance(error, BotError) else GENERIC
    try:
        await answer(update, context, text)
    except TelegramError as exc:
        log.warning("update %s: could not tell the chat about the failure: %s", update_id, exc)
