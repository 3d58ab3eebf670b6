"""/voice: the voice of the chat's spoken replies, as buttons or by name.

Owns the voice keyboard and its presses and `/voice <name>`. Which voices exist is
conversation/preferences.py's business, who may change the voice handlers/admins.py's, and where
the choice is kept the store's.

Callback data (anything else under `v:` is answered as out of date and changes nothing):

    v:<voice>     choose this voice
    v:default     back to DEFAULT_VOICE
"""

from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.config import Settings
from bot.conversation.preferences import PREFERENCES, VOICES, PreferenceError, parse
from bot.handlers.common import answer, chat_key
from bot.handlers.context import BotContext
from bot.handlers.keyboards import CURRENT_MARK, Pressed, View, handle_press, send_view
from bot.i18n import N_, _
from bot.store import ChatPreferences

BUTTON_PATTERN = r"^v:"
COLUMNS = 3
GROUP_ONLY_ADMINS = N_("Sorry, only this group's admins can change the voice.")
STALE = N_("This button is out of date. Send /voice again.")


async def on_voice_command(update: Update, context: BotContext) -> None:
    """Show the voices as buttons, or set the one named after /voice."""
    message = update.effective_message
    if message is None:
        return
    wanted = " ".join(context.args or []).strip()
    key = chat_key(message)
    chat = await context.services.store.preferences(key)
    if not wanted:
        await send_view(context, message, voice_view(chat, context.services.settings))
        return
    try:
        value = parse(PREFERENCES["voice"], wanted)
    except PreferenceError:
        # Translators: {wanted} is what the user typed after /voice; {choices} is the sentence
        # listing the voices.
        refusal = _("There is no voice “{wanted}”. {choices}")
        await answer(update, context, refusal.format(wanted=wanted, choices=_choices()))
        return
    if not await context.services.admins.may_change(
        message.chat, message.from_user, sender_chat=message.sender_chat
    ):
        await answer(update, context, _(GROUP_ONLY_ADMINS))
        return
    chat = await context.services.store.update_preferences(key, voice=value)
    await answer(update, context, _chosen(chat, context.services.settings))


async def on_voice_button(update: Update, context: BotContext) -> None:
    """Set the voice the pressed button names."""
    await handle_press(update, context, _press)


def voice_view(chat: ChatPreferences, defaults: Settings) -> View:
    """The six voices as buttons, the chat's current one marked."""
    current = chat.voice or defaults.default_voice
    # A chat on the default has "Default" marked, not the voice it stands for today.
    buttons = [
        InlineKeyboardButton(
            f"{CURRENT_MARK} {voice}" if voice == chat.voice else voice, callback_data=f"v:{voice}"
        )
        for voice in VOICES
    ]
    rows = [buttons[i : i + COLUMNS] for i in range(0, len(buttons), COLUMNS)]
    # Translators: a button for the default voice; {voice} is its name (e.g. alloy).
    default = _("Default ({voice})").format(voice=defaults.default_voice)
    rows.append(
        [
            InlineKeyboardButton(
                f"{CURRENT_MARK} {default}" if chat.voice is None else default,
                callback_data="v:default",
            )
        ]
    )
    if chat.voice is None:
        # Translators: the text of /voice; {voice} is the name of a voice (e.g. alloy).
        text = _(
            "Voice for this chat: {voice} (default)\n\n"
            "Spoken replies use it: answers to voice notes, and every answer when the chat's model"
            " is an audio model (🔊 in /model). Type /voice <name> or choose:"
        )
    else:
        # Translators: the text of /voice; {voice} is the name of a voice (e.g. alloy).
        text = _(
            "Voice for this chat: {voice}\n\n"
            "Spoken replies use it: answers to voice notes, and every answer when the chat's model"
            " is an audio model (🔊 in /model). Type /voice <name> or choose:"
        )
    text = text.format(voice=current)
    return View(text, InlineKeyboardMarkup(rows))


async def _press(query: CallbackQuery, message: Message, context: BotContext) -> Pressed:
    wanted = (query.data or "").removeprefix("v:")
    try:
        value = parse(PREFERENCES["voice"], wanted)
    except PreferenceError:
        return Pressed(_(STALE))
    if not await context.services.admins.may_change(message.chat, query.from_user):
        return Pressed(_(GROUP_ONLY_ADMINS))
    chat = await context.services.store.update_preferences(chat_key(message), voice=value)
    defaults = context.services.settings
    return Pressed(_chosen(chat, defaults), voice_view(chat, defaults))


def _chosen(chat: ChatPreferences, defaults: Settings) -> str:
    if chat.voice is None:
        # Translators: {voice} is the name of a voice (e.g. alloy).
        return _("Back to the default voice: {voice}.").format(voice=defaults.default_voice)
    # Translators: {voice} is the name of a voice (e.g. alloy).
    return _("Voice for this chat: {voice}.").format(voice=chat.voice)


def _choices() -> str:
    # Translators: {voices} lists the voices' names; “default” is a word users type, keep it.
    return _("Voices: {voices} (or “default”). /voice shows them as buttons.").format(
        voices=", ".join(VOICES)
    )
