"""Commands that manage the chat rather than talk to the model: /start /help /new /about /stop."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, Update

from bot import __version__
from bot.context import BotContext
from bot.errors import UpstreamError
from bot.handlers.common import answer, chat_key

log = logging.getLogger(__name__)

COMMANDS: tuple[tuple[str, str], ...] = (
    ("new", "Start a new conversation"),
    ("ask", "Ask the model: /ask <question>"),
    ("stop", "Stop the reply being written"),
    ("model", "Choose the AI model for this chat"),
    ("settings", "Show or change this chat's settings"),
    ("system", "Show or set the system prompt"),
    ("about", "About the bot and the AI service"),
    ("help", "How to use the bot"),
)

HELP = (
    "Write me anything and I'll answer with the AI model; the answer appears as it is written.\n"
    "I remember the conversation, also across restarts.\n"
    "Each chat has its own model and settings; in groups, the admins choose them.\n\n"
    "/new — start a new conversation (alias /reset)\n"
    "/ask <question> — ask a question\n"
    "/stop — stop the reply being written\n"
    "/model [name] — choose the AI model for this chat\n"
    "/settings [name value] — show or change temperature, top_p, penalties, voice\n"
    "/system [prompt | reset] — show, set or reset the system prompt\n"
    "/about — about the bot and the AI service\n"
    "/help — this message"
)


async def publish_commands(bot: Bot) -> None:
    """Tell Telegram which commands to show in the menu."""
    await bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])


async def on_start(update: Update, context: BotContext) -> None:
    """Greet the user and explain what the bot does."""
    user = update.effective_user
    name = user.first_name if user else "there"
    await answer(update, context, f"Hi {name}! I'm an AI assistant.\n\n{HELP}")


async def on_help(update: Update, context: BotContext) -> None:
    """Explain the commands."""
    await answer(update, context, HELP)


async def on_new(update: Update, context: BotContext) -> None:
    """Start a fresh conversation; the old one stays stored."""
    if update.effective_message is None:
        return
    await context.services.conversation.new_conversation(chat_key(update.effective_message))
    await answer(update, context, "Started a new conversation. Earlier messages are forgotten.")


async def on_stop(update: Update, context: BotContext) -> None:
    """Stop the reply being generated in this chat."""
    if update.effective_message is None:
        return
    if context.services.conversation.stop(chat_key(update.effective_message)):
        return  # the reply itself ends with "Stopped."
    await answer(update, context, "Nothing to stop: no reply is being written.")


async def on_about(update: Update, context: BotContext) -> None:
    """Show the bot's version and the upstream service's /about."""
    try:
        text = await context.services.conversation.about()
    except UpstreamError as exc:
        log.warning("about: %s", exc)
        text = f"gpt-telegram-bot {__version__}\n\n{exc.user_message}"
    await answer(update, context, text[:4000])
