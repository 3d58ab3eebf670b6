"""The last line: every exception a handler (or a queued turn) lets through is logged and
explained, never shown."""

from __future__ import annotations

import logging

from telegram import Bot, Update
from telegram.error import TelegramError

from bot.delivery.destination import Destination
from bot.delivery.outbox import Outbox
from bot.errors import BotError
from bot.handlers.common import answer, send_text
from bot.handlers.context import BotContext
from bot.i18n import N_, _

log = logging.getLogger(__name__)

GENERIC = N_("Sorry, something went wrong while handling your message. Please try again.")


async def on_error(update: object, context: BotContext) -> None:
    """Log the failure with its update id and tell the chat something readable."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed: %r", update_id, error, exc_info=error)
    if not isinstance(update, Update) or update.effective_message is None:
        return
    try:
        await answer(update, context, failure_text(error))
    except TelegramError as exc:
        log.warning("update %s: could not tell the chat about the failure: %s", update_id, exc)


async def tell_failure(bot: Bot, outbox: Outbox, dest: Destination, error: Exception) -> None:
    """Explain in the chat why a queued turn could not be answered: an anticipated failure (a
    file the bot can't read) in its own words; anything else is logged, and the chat told
    something readable."""
    if not isinstance(error, BotError):
        log.error("chat %s: a turn failed: %r", dest.chat_id, error, exc_info=error)
    try:
        await send_text(bot, outbox, dest, failure_text(error))
    except TelegramError as exc:
        log.warning("chat %s: could not tell the chat about the failure: %s", dest.chat_id, exc)


def failure_text(error: BaseException | None) -> str:
    """What the chat reads about a failure: a BotError's own words, or a generic apology."""
    return error.user_message if isinstance(error, BotError) else _(GENERIC)
