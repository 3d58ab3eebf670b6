"""The language of the bot's own words: chosen for each update, and /language to fix a chat's.

Owns the step before every handler that sets the reader's language for the update (the chat's
choice, else the user's Telegram language, else DEFAULT_LANGUAGE: bot/i18n.py's rule), the cache
of chats' choices in front of the store, and /language: buttons with each language in its own
name, `/language <code>` and `/language auto`. In groups only admins choose (handlers/admins.py).

Callback data (anything else under `l:` is answered as out of date and changes nothing):

    l:<code>    this catalog for the chat
    l:auto      back to each user's own Telegram language
"""

from __future__ import annotations

from collections import OrderedDict

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot import i18n
from bot.config import Settings
from bot.handlers.common import answer
from bot.handlers.context import BotContext
from bot.handlers.keyboards import CURRENT_MARK, Pressed, View, handle_press, send_view
from bot.i18n import _
from bot.store import ChatStore

BUTTON_PATTERN = r"^l:"
AUTO = "auto"
COLUMNS = 2
_MAX_CACHED_CHATS = 10_000


class ChatLanguages:
    """The chats' /language choices, read from the store once per chat and kept in memory
    (the oldest forgotten past `limit` chats); every change goes through here."""

    def __init__(self, store: ChatStore, *, limit: int = _MAX_CACHED_CHATS) -> None:
        self._store = store
        self._limit = limit
        self._known: OrderedDict[int, str | None] = OrderedDict()

    async def get(self, chat_id: int) -> str | None:
        if chat_id in self._known:
            self._known.move_to_end(chat_id)
            return self._known[chat_id]
        chosen = await self._store.chat_language(chat_id)
        self._remember(chat_id, chosen)
        return chosen

    async def set(self, chat_id: int, language: str | None) -> None:
        await self._store.set_chat_language(chat_id, language)
        self._remember(chat_id, language)

    def forget(self, chat_id: int) -> None:
        """The store no longer holds the chat's choice (/forget): read it anew next time."""
        self._known.pop(chat_id, None)

    def _remember(self, chat_id: int, language: str | None) -> None:
        self._known[chat_id] = language
        self._known.move_to_end(chat_id)
        while len(self._known) > self._limit:
            self._known.popitem(last=False)


async def reader_language(
    languages: ChatLanguages, settings: Settings, chat_id: int | None, language_code: str | None
) -> str:
    """The language someone with `language_code` reads the bot in, in chat `chat_id`."""
    chosen = None if chat_id is None else await languages.get(chat_id)
    return i18n.choose(chosen, language_code, settings.default_language)


async def on_any_update(update: Update, context: BotContext) -> None:
    """Write in the reader's language for the rest of this update's handlers."""
    chat = update.effective_chat
    user = update.effective_user
    services = context.services
    i18n.set_current(
        await reader_language(
            services.languages,
            services.settings,
            chat.id if chat else None,
            user.language_code if user else None,
        )
    )


async def on_language(update: Update, context: BotContext) -> None:
    """Show the languages as buttons, or set the one named after /language."""
    message = update.effective_message
    if message is None:
        return
    wanted = " ".join(context.args or []).strip()
    current = await context.services.languages.get(message.chat_id)
    if not wanted:
        await send_view(context, message, language_view(current))
        return
    choice = AUTO if wanted.lower() == AUTO else i18n.catalog_for(wanted)
    if choice is None:
        codes = ", ".join(language.code for language in i18n.languages())
        text = _("There is no language “{wanted}”. Languages: {codes}, or auto.")
        await answer(update, context, text.format(wanted=wanted, codes=codes))
        return
    if not await context.services.admins.may_change(
        message.chat, message.from_user, sender_chat=message.sender_chat
    ):
        await answer(update, context, _("Sorry, only this group's admins can change the language."))
        return
    await answer(update, context, await _choose(context, message, choice))


async def on_language_button(update: Update, context: BotContext) -> None:
    """Set the language the pressed button names."""
    await handle_press(update, context, _press)


def language_view(current: str | None) -> View:
    """Every language in its own name as a button, the chat's choice marked."""
    buttons = [
        InlineKeyboardButton(
            f"{CURRENT_MARK} {language.native_name}"
            if language.code == current
            else language.native_name,
            callback_data=f"l:{language.code}",
        )
        for language in i18n.languages()
    ]
    rows = [buttons[i : i + COLUMNS] for i in range(0, len(buttons), COLUMNS)]
    auto = _("Each user's own language")
    rows.append(
        [
            InlineKeyboardButton(
                f"{CURRENT_MARK} {auto}" if current is None else auto, callback_data="l:auto"
            )
        ]
    )
    auto_shown = _("each user's own Telegram language")
    shown = auto_shown if current is None else i18n.native_name(current)
    text = _(
        "The bot's language in this chat: {language}.\n\n"
        "It is the language of my own words: help, buttons and notices. The model answers in "
        "the language you write in. Type /language <code>, /language auto, or choose:"
    ).format(language=shown)
    return View(text, InlineKeyboardMarkup(rows))


async def _press(query: CallbackQuery, message: Message, context: BotContext) -> Pressed:
    wanted = (query.data or "").removeprefix("l:")
    choice = AUTO if wanted == AUTO else wanted if wanted in i18n.LANGUAGES else None
    if choice is None:
        return Pressed(_("This button is out of date. Send /language again."))
    if not await context.services.admins.may_change(message.chat, query.from_user):
        return Pressed(_("Sorry, only this group's admins can change the language."))
    chosen = await _choose(context, message, choice)
    return Pressed(chosen, language_view(await context.services.languages.get(message.chat_id)))


async def _choose(context: BotContext, message: Message, choice: str) -> str:
    """Store the chat's choice and say so, in the language now in force."""
    languages = context.services.languages
    await languages.set(message.chat_id, None if choice == AUTO else choice)
    user = message.from_user
    i18n.set_current(
        await reader_language(
            languages,
            context.services.settings,
            message.chat_id,
            user.language_code if user else None,
        )
    )
    if choice == AUTO:
        return _("I'll write to each of you in your own Telegram language.")
    return _("I'll write in {language} in this chat.").format(language=i18n.native_name(choice))
