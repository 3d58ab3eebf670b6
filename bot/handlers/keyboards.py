"""Keyboard messages: what one shows, sending and editing it, answering its button presses.

Shared by the /model and /settings handlers; edits go through the outbox like every send, and
a press is always answered so the user's spinner stops.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError

from bot.delivery import telegram_errors
from bot.handlers.common import destination
from bot.handlers.context import BotContext
from bot.i18n import N_, _

log = logging.getLogger(__name__)

CURRENT_MARK = "✅"
EXPIRED = N_("This keyboard has expired. Send the command again.")
FAILED = N_("Sorry, that didn't work. Please try again.")


@dataclass(frozen=True, slots=True)
class View:
    """What a keyboard message shows: its text and its buttons."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None


@dataclass(frozen=True, slots=True)
class Pressed:
    """The outcome of a button press: the notice it is answered with, the view to show next."""

    notice: str | None
    view: View | None = None


async def send_view(context: BotContext, message: Message, view: View) -> None:
    """Send a keyboard message to the chat (and topic) of `message`, paced like every send."""
    dest = destination(message)
    await context.services.outbox.call(
        dest.chat_id,
        lambda: context.bot.send_message(
            dest.chat_id, view.text, message_thread_id=dest.thread_id, reply_markup=view.keyboard
        ),
    )


async def edit_view(context: BotContext, message: Message, view: View) -> None:
    """Show `view` in a keyboard message; unchanged (pressed twice) or deleted is fine."""
    try:
        await context.services.outbox.call(
            message.chat_id,
            lambda: context.bot.edit_message_text(
                view.text,
                chat_id=message.chat_id,
                message_id=message.message_id,
                reply_markup=view.keyboard,
            ),
        )
    except BadRequest as exc:
        if telegram_errors.not_modified(exc):
            return
        if telegram_errors.edit_target_gone(exc):
            log.info("chat %s: keyboard message was deleted", message.chat_id)
            return
        raise


async def answer_button(query: CallbackQuery, notice: str | None) -> None:
    """Answer a button press, so the user's spinner stops; a too-old query is only logged."""
    try:
        await query.answer(notice)
    except TelegramError as exc:
        log.info("could not answer button press %s: %s", query.id, exc)


async def handle_press(
    update: Update,
    context: BotContext,
    press: Callable[[CallbackQuery, Message, BotContext], Awaitable[Pressed]],
) -> None:
    """Work out a button press with `press` (given the message the button is under), answer it
    exactly once, then show the next view. A press that comes without its message is answered
    as out of date."""
    query = update.callback_query
    if query is None:
        return
    message = query.message
    if not isinstance(message, Message):
        await answer_button(query, _(EXPIRED))
        return
    pressed = Pressed(_(FAILED))
    try:
        pressed = await press(query, message, context)
    finally:
        await answer_button(query, pressed.notice)
    if pressed.view is not None:
        await edit_view(context, message, pressed.view)
