"""Commands that manage the chat rather than talk to the model: /start /help /new /about /stop,
and the command menus of every scope (conversations.py and again.py own /history, /export,
/forget and /retry)."""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    Update,
)
from telegram.constants import ChatType

from bot import __version__
from bot.errors import UpstreamError
from bot.handlers import stop
from bot.handlers.chat import forget_latest_reply
from bot.handlers.common import answer, chat_key
from bot.handlers.context import BotContext

log = logging.getLogger(__name__)

NOTHING_TO_STOP = "Nothing to stop: no reply is being written."

COMMANDS: tuple[tuple[str, str], ...] = (
    ("new", "Start a new conversation"),
    ("history", "Your conversations: continue an earlier one"),
    ("retry", "Answer your last question again"),
    ("ask", "Ask the model: /ask <question>"),
    ("stop", "Stop the reply being written"),
    ("export", "This conversation as a file (/export all: every one)"),
    ("forget", "Delete everything I keep of this chat"),
    ("model", "Choose the AI model for this chat"),
    ("voice", "Choose the voice of spoken replies"),
    ("settings", "Show or change this chat's settings"),
    ("system", "Show or set the system prompt"),
    ("stats", "Your usage: messages and tokens"),
    ("about", "About the bot and the AI service"),
    ("help", "How to use the bot"),
)

# What works in groups, most used first: talking to the bot there needs /ask or a mention.
GROUP_COMMANDS: tuple[tuple[str, str], ...] = (
    ("ask", "Ask the model: /ask <question> (or mention me)"),
    ("new", "Start a new conversation here"),
    ("retry", "Answer the last question again (its asker or admins)"),
    ("stop", "Stop the reply being written"),
    ("history", "The conversations here: continue one (admins)"),
    ("export", "This conversation as a file (/export all: every one)"),
    ("forget", "Delete everything kept of this chat (admins)"),
    ("model", "Choose the AI model (admins)"),
    ("voice", "Choose the voice of spoken replies (admins)"),
    ("settings", "Show or change the settings (admins change)"),
    ("system", "Show or set the system prompt (admins set)"),
    ("stats", "Your usage: messages and tokens"),
    ("about", "About the bot and the AI service"),
    ("help", "How to talk to me in a group"),
)

NEW_CONVERSATION = "Started a new conversation. Earlier messages are forgotten."

HELP = (
    "Write me anything and I'll answer with the AI model; the answer appears as it is written.\n"
    "I remember the conversation, also across restarts.\n"
    "Send a photo, a PDF or Word (.docx) file, or a text file (.txt, .md, .py, .json, .csv, …) "
    "with your question as its caption, and I'll read it (without a question I summarise a "
    "file).\n"
    "Send me a voice note and I answer aloud; audio models (/model) always answer aloud.\n"
    "Each chat has its own model and settings; in groups, the admins choose them.\n\n"
    "/new — start a new conversation (alias /reset); the earlier one is kept\n"
    "/history — your conversations: press one to continue it\n"
    "/retry — answer your last question again\n"
    "Edit your last question and I answer the edited one instead.\n"
    "/ask <question> — ask a question\n"
    "/stop — stop the reply being written\n"
    "/export — this conversation as a Markdown file (/export all: every one)\n"
    "/forget — delete everything I keep of this chat\n"
    "/model [name] — choose the AI model for this chat\n"
    "/voice [name] — choose the voice of spoken replies\n"
    "/settings [name value] — show or change temperature, top_p, penalties, voice\n"
    "/system [prompt | reset] — show, set or reset the system prompt\n"
    "/stats — your usage today, this month and in all\n"
    "/about — about the bot and the AI service\n"
    "/help — this message\n\n"
    "In groups I answer /ask, mentions of me and replies to my messages; /help there says more."
)


def group_help(bot_username: str) -> str:
    """/help in a group: how to address the bot there, and why plain messages don't reach it."""
    return (
        "In a group I answer only messages addressed to me:\n"
        "• /ask <question>\n"
        f"• a message that mentions @{bot_username}\n"
        "• a reply to one of my messages (I read the message you reply to as well)\n"
        f"• a photo or file whose caption starts with /ask or mentions @{bot_username}\n"
        "Voice notes count when they reply to me or mention me in the caption.\n"
        "Everything else I ignore. I keep one conversation for the group, one per topic in "
        "forums, and I see who said what.\n\n"
        "Telegram's privacy mode hides ordinary group messages from bots (unless it is turned "
        "off in @BotFather or the bot is an admin), so reply to me or mention me: commands, "
        "mentions and replies to me always arrive.\n\n"
        "/new — start a new conversation here (alias /reset)\n"
        "/retry — answer the last question again (whoever asked it, or an admin)\n"
        "Edit your question while it is the last one and I answer the edited one instead.\n"
        "/stop — stop the reply being written\n"
        "/history — the conversations here: continue an earlier one (admins)\n"
        "/export — this conversation as a Markdown file (/export all: every one)\n"
        "/forget — delete everything I keep of this chat (admins)\n"
        "/model, /voice, /settings, /system — the model and settings here; only admins"
        " change them\n"
        "/stats — your usage\n"
        "/about — about the bot and the AI service\n"
        "/help — this message"
    )


async def publish_commands(bot: Bot) -> None:
    """Tell Telegram which commands each menu shows: private chats and groups differ."""
    everything = [BotCommand(name, text) for name, text in COMMANDS]
    await bot.set_my_commands(everything)
    await bot.set_my_commands(everything, scope=BotCommandScopeAllPrivateChats())
    await bot.set_my_commands(
        [BotCommand(name, text) for name, text in GROUP_COMMANDS],
        scope=BotCommandScopeAllGroupChats(),
    )


async def on_start(update: Update, context: BotContext) -> None:
    """Greet the user and explain what the bot does."""
    user = update.effective_user
    name = user.first_name if user else "there"
    await answer(
        update, context, f"Hi {name}! I'm an AI assistant.\n\n{_help_for(update, context)}"
    )


async def on_help(update: Update, context: BotContext) -> None:
    """Explain the commands (in a group: how to address the bot there)."""
    await answer(update, context, _help_for(update, context))


async def on_new(update: Update, context: BotContext) -> None:
    """Start a fresh conversation once the messages already sent are answered; the old one
    stays stored."""
    if update.effective_message is None:
        return
    key = chat_key(update.effective_message)
    user = update.effective_user

    async def started() -> None:
        forget_latest_reply(context, key)
        await answer(update, context, NEW_CONVERSATION)

    refusal = await context.services.conversation.new_conversation(
        key, user_id=user.id if user else None, then=started
    )
    if refusal is not None and refusal.notice is not None:
        await answer(update, context, f"⚠️ {refusal.notice}")


async def on_stop(update: Update, context: BotContext) -> None:
    """Stop the reply being generated in this chat, if it is the sender's (or they are an admin)."""
    message = update.effective_message
    if message is None:
        return
    stopped = await stop.stop_reply(
        context, message, update.effective_user, sender_chat=message.sender_chat
    )
    if stopped is stop.Stop.FOREIGN:
        await answer(update, context, stop.FOREIGN)
    elif stopped is stop.Stop.NOTHING:
        await answer(update, context, NOTHING_TO_STOP)
    # Stopping: the reply itself ends with "Stopped."


async def on_about(update: Update, context: BotContext) -> None:
    """Show the bot's version and the upstream service's /about."""
    try:
        text = await context.services.conversation.about()
    except UpstreamError as exc:
        log.warning("about: %s", exc)
        text = f"gpt-telegram-bot {__version__}\n\n{exc.user_message}"
    await answer(update, context, text[:4000])


def _help_for(update: Update, context: BotContext) -> str:
    chat = update.effective_chat
    if chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
        return group_help(context.bot.username)
    return HELP
