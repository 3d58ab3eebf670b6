"""Commands that manage the chat rather than talk to the model: /start /help /new /about /stop,
and the command menus of every scope (conversations.py, export.py and again.py own /history,
/forget, /export and /retry).

The menus are published at start-up: a menu Telegram refuses is a logged warning, never a reason
not to start. /about on a server without an about page (every server but the seed's) says so and
shows what the bot knows of the server instead.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    Update,
)
from telegram.constants import ChatType
from telegram.error import RetryAfter, TelegramError

from bot import __version__, i18n
from bot.delivery.outbox import retry_after_seconds
from bot.errors import UpstreamError, UpstreamHTTPError
from bot.handlers import stop
from bot.handlers.chat import forget_latest_reply
from bot.handlers.common import answer, chat_key
from bot.handlers.context import BotContext
from bot.i18n import N_, _, ngettext

log = logging.getLogger(__name__)

NOTHING_TO_STOP = N_("Nothing to stop: no reply is being written.")
# Statuses that mean the server has no /about at all (not that it failed).
NO_ABOUT_PAGE = frozenset({404, 405})

# The menus' descriptions, translated for each language when the menus are published.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("new", N_("Start a new conversation")),
    ("history", N_("Your conversations: continue an earlier one")),
    ("retry", N_("Answer your last question again")),
    ("ask", N_("Ask the model: /ask <question>")),
    ("stop", N_("Stop the reply being written")),
    ("export", N_("This conversation as a file (/export all: every one)")),
    ("forget", N_("Delete everything I keep of this chat")),
    ("model", N_("Choose the AI model for this chat")),
    ("voice", N_("Choose the voice of spoken replies")),
    ("settings", N_("Show or change this chat's settings")),
    ("system", N_("Show or set the system prompt")),
    ("stats", N_("Your usage: messages and tokens")),
    ("language", N_("Choose the language of the bot's messages")),
    ("about", N_("About the bot and the AI service")),
    ("help", N_("How to use the bot")),
)

# What works in groups, most used first: talking to the bot there needs /ask or a mention.
GROUP_COMMANDS: tuple[tuple[str, str], ...] = (
    ("ask", N_("Ask the model: /ask <question> (or mention me)")),
    ("new", N_("Start a new conversation here")),
    ("retry", N_("Answer the last question again (its asker or admins)")),
    ("stop", N_("Stop the reply being written")),
    ("history", N_("The conversations here: continue one (admins)")),
    ("export", N_("This conversation as a file (/export all: every one)")),
    ("forget", N_("Delete everything kept of this chat (admins)")),
    ("model", N_("Choose the AI model (admins)")),
    ("voice", N_("Choose the voice of spoken replies (admins)")),
    ("settings", N_("Show or change the settings (admins change)")),
    ("system", N_("Show or set the system prompt (admins set)")),
    ("stats", N_("Your usage: messages and tokens")),
    ("language", N_("Choose the language of my messages (admins)")),
    ("about", N_("About the bot and the AI service")),
    ("help", N_("How to talk to me in a group")),
)

NEW_CONVERSATION = N_("Started a new conversation. Earlier messages are forgotten.")

HELP = N_(
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
    "/language [code | auto] — the language of my own messages (the model answers in yours)\n"
    "/about — about the bot and the AI service\n"
    "/help — this message\n\n"
    "In groups I answer /ask, mentions of me and replies to my messages; /help there says more."
)


def group_help(bot_username: str) -> str:
    """/help in a group: how to address the bot there, and why plain messages don't reach it."""
    # Translators: /help in a group; {bot_username} is the bot's Telegram username.
    return _(
        "In a group I answer only messages addressed to me:\n"
        "• /ask <question>\n"
        "• a message that mentions @{bot_username}\n"
        "• a reply to one of my messages (I read the message you reply to as well)\n"
        "• a photo or file whose caption starts with /ask or mentions @{bot_username}\n"
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
        "/language — the language of my own messages here (admins choose)\n"
        "/about — about the bot and the AI service\n"
        "/help — this message"
    ).format(bot_username=bot_username)


async def publish_commands(bot: Bot, default_language: str) -> None:
    """Tell Telegram which commands each menu shows, in every language the bot speaks: private
    chats and groups differ; users whose language has no catalog see DEFAULT_LANGUAGE's.

    A menu that can't be set leaves Telegram's previous one (commands work typed either way):
    it is logged, naming the menu, and the bot starts all the same."""
    for language in (None, *i18n.LANGUAGES):
        with i18n.using(language or default_language):
            everything = [BotCommand(name, _(text)) for name, text in COMMANDS]
            in_groups = [BotCommand(name, _(text)) for name, text in GROUP_COMMANDS]
        code = None if language is None else menu_code(language)
        menus = (
            ("every chat", everything, None),
            ("private chats", everything, BotCommandScopeAllPrivateChats()),
            ("groups", in_groups, BotCommandScopeAllGroupChats()),
        )
        for where, commands, scope in menus:
            await _set_commands(bot, commands, scope, code, where)


def menu_code(language: str) -> str:
    """The two-letter code Telegram shows a catalog's menu for ("pt_BR" -> "pt")."""
    return language.split("_", 1)[0]


async def _set_commands(
    bot: Bot,
    commands: list[BotCommand],
    scope: BotCommandScope | None,
    code: str | None,
    where: str,
) -> None:
    # Fifty-one calls at start-up: a flood limit only delays them.
    while True:
        try:
            await bot.set_my_commands(commands, scope=scope, language_code=code)
            return
        except RetryAfter as exc:
            await asyncio.sleep(retry_after_seconds(exc))
        except TelegramError as exc:
            log.warning(
                "setMyCommands failed for the menu of %s, language %s (%s: %s); "
                "the bot runs without it",
                where,
                code or "default",
                type(exc).__name__,
                exc,
            )
            return


async def on_start(update: Update, context: BotContext) -> None:
    """Greet the user and explain what the bot does."""
    user = update.effective_user
    # Translators: the greeting of /start; {help} is the whole /help text that follows it.
    greeting = _("Hi {name}! I'm an AI assistant.\n\n{help}")
    if user is None:
        greeting = _("Hi! I'm an AI assistant.\n\n{help}")
    name = user.first_name if user else ""
    await answer(update, context, greeting.format(name=name, help=_help_for(update, context)))


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
        await answer(update, context, _(NEW_CONVERSATION))

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
        await answer(update, context, _(stop.FOREIGN))
    elif stopped is stop.Stop.NOTHING:
        await answer(update, context, _(NOTHING_TO_STOP))
    # Stopping: the reply itself ends with "Stopped."


async def on_about(update: Update, context: BotContext) -> None:
    """Show the bot's version and the upstream service's /about, or what the bot knows of the
    service when it has no about page."""
    try:
        text = await context.services.conversation.about()
    except UpstreamError as exc:
        if isinstance(exc, UpstreamHTTPError) and exc.status in NO_ABOUT_PAGE:
            text = await _what_the_bot_knows(update, context)
        else:
            log.warning("about: %s", exc)
            text = f"gpt-telegram-bot {__version__}\n\n{exc.user_message}"
    await answer(update, context, text[:4000])


async def _what_the_bot_knows(update: Update, context: BotContext) -> str:
    """/about for a server without one: its address, its models, this chat's model."""
    services = context.services
    try:
        count = len(await services.models.chat_models())
        models = ngettext("{count} chat model", "{count} chat models", count).format(
            count=i18n.number(count)
        )
    except UpstreamError as exc:
        # Translators: completes "• models: …"; {reason} is why the list failed.
        models = _("can't be listed right now ({reason})").format(reason=exc.user_message)
    model = services.settings.default_model
    if update.effective_message is not None:
        chat = await services.store.preferences(chat_key(update.effective_message))
        model = chat.model or model
    lines = [
        f"gpt-telegram-bot {__version__}",
        "",
        _("This AI service has no about page. What the bot knows of it:"),
        # Translators: {address} is the AI service's URL.
        _("• address: {address}").format(address=public_address(services.upstream.base_url)),
        _("• models: {models}").format(models=models),
        # Translators: {model} is a model id such as gpt-4o.
        _("• this chat's model: {model}").format(model=model),
    ]
    unused = services.upstream.quirks.unused(model)
    if unused:
        # Translators: {settings} lists request parameters such as "temperature, top_p".
        lines.append(
            _("• not used by this model (it refused them): {settings}").format(
                settings=", ".join(sorted(unused))
            )
        )
    return "\n".join(lines)


def public_address(url: str) -> str:
    """A base URL without what must not be shown: a user and password, a query (some proxies
    take a key there), a fragment."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6
    try:
        port = parts.port
    except ValueError:  # not a number: not worth showing
        port = None
    netloc = host if port is None else f"{host}:{port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _help_for(update: Update, context: BotContext) -> str:
    chat = update.effective_chat
    if chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
        return group_help(context.bot.username)
    return _(HELP)
