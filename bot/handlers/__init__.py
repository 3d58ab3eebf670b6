"""Handlers: decide whether an update is for us, parse it, call one service, answer.

One module per audience or feature; `register` wires them into the application in order.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.handlers import (
    access,
    again,
    bad_input,
    chat,
    commands,
    conversations,
    documents,
    errors,
    export,
    groups,
    language,
    media,
    models,
    preferences,
    stats,
    stop,
    voice_notes,
    voice_setting,
)
from bot.handlers.addressing import AddressedToBot
from bot.handlers.context import BotApplication, BotContext
from bot.handlers.keyboards import answer_button
from bot.i18n import _
from bot.store import work_began


async def on_arrival(update: Update, context: BotContext) -> None:
    """Note when this update's work began: when many wait for the store, the oldest work goes
    first (a burst's first replies start while later messages are still being admitted)."""
    work_began()


async def on_unknown_button(update: Update, context: BotContext) -> None:
    """Answer a button press no handler claims (forged, or from an older version of the bot)."""
    if update.callback_query is not None:
        await answer_button(update.callback_query, _("This button doesn't work any more."))


def register(application: BotApplication) -> None:
    """Add every handler, most specific first, behind the access gate."""
    # A migration is Telegram's own event, not a user's request: it runs before the access gate
    # so a group's history follows it to the supergroup whoever triggered the upgrade.
    application.add_handler(
        MessageHandler(filters.StatusUpdate.MIGRATE, groups.on_migrate), group=-2
    )
    # First of all, for every update: when its work began, and the language it is written in.
    application.add_handler(TypeHandler(Update, on_arrival), group=-4)
    application.add_handler(TypeHandler(Update, language.on_any_update), group=-3)
    # Group -1 runs before all others for every kind of update; it stops refused ones.
    application.add_handler(TypeHandler(Update, access.on_any_update), group=-1)
    # First of its group, so no command or chat handler below ever sees an edit.
    application.add_handler(MessageHandler(filters.UpdateType.EDITED, again.on_edited))
    application.add_handler(CommandHandler("start", commands.on_start))
    application.add_handler(CommandHandler("help", commands.on_help))
    application.add_handler(CommandHandler(["new", "reset"], commands.on_new))
    application.add_handler(CommandHandler("about", commands.on_about))
    application.add_handler(CommandHandler("stop", commands.on_stop))
    application.add_handler(CommandHandler("stats", stats.on_stats))
    application.add_handler(CommandHandler("ask", chat.on_ask))
    application.add_handler(CommandHandler("model", models.on_model))
    application.add_handler(CommandHandler("settings", preferences.on_settings))
    application.add_handler(CommandHandler("system", preferences.on_system))
    application.add_handler(CommandHandler("voice", voice_setting.on_voice_command))
    application.add_handler(CommandHandler("language", language.on_language))
    application.add_handler(CommandHandler("history", conversations.on_history))
    application.add_handler(CommandHandler("retry", again.on_retry))
    application.add_handler(CommandHandler("export", export.on_export))
    application.add_handler(CommandHandler("forget", conversations.on_forget))
    application.add_handler(
        CallbackQueryHandler(models.on_model_button, pattern=models.BUTTON_PATTERN)
    )
    application.add_handler(
        CallbackQueryHandler(preferences.on_settings_button, pattern=preferences.BUTTON_PATTERN)
    )
    application.add_handler(
        CallbackQueryHandler(voice_setting.on_voice_button, pattern=voice_setting.BUTTON_PATTERN)
    )
    application.add_handler(
        CallbackQueryHandler(language.on_language_button, pattern=language.BUTTON_PATTERN)
    )
    application.add_handler(CallbackQueryHandler(stop.on_stop_button, pattern=stop.BUTTON_PATTERN))
    application.add_handler(
        CallbackQueryHandler(conversations.on_history_button, pattern=conversations.HISTORY_PATTERN)
    )
    application.add_handler(
        CallbackQueryHandler(conversations.on_forget_button, pattern=conversations.FORGET_PATTERN)
    )
    application.add_handler(CallbackQueryHandler(on_unknown_button))
    application.add_handler(
        ChatMemberHandler(groups.on_my_membership, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    private = filters.ChatType.PRIVATE
    # Unaddressed group messages match nothing below and are dropped without a word.
    addressed_in_group = filters.ChatType.GROUPS & AddressedToBot(application.bot)
    text = filters.TEXT & ~filters.COMMAND
    application.add_handler(MessageHandler(addressed_in_group & text, chat.on_text))
    audio = filters.VOICE | filters.AUDIO
    application.add_handler(
        MessageHandler((private | addressed_in_group) & audio, voice_notes.on_voice_message)
    )
    application.add_handler(MessageHandler(private & filters.COMMAND, bad_input.on_unknown_command))
    application.add_handler(MessageHandler(private & filters.TEXT, chat.on_text))
    in_group_album = filters.ChatType.GROUPS & media.InAlbum()
    application.add_handler(
        MessageHandler(
            filters.PHOTO & (private | addressed_in_group | in_group_album), media.on_photo
        )
    )
    application.add_handler(
        # A GIF arrives as an animation that also carries a document; it is not a file to read.
        MessageHandler(
            filters.Document.ALL & ~filters.ANIMATION & (private | addressed_in_group),
            documents.on_document,
        )
    )
    not_read = ~filters.StatusUpdate.ALL & ~filters.COMMAND
    application.add_handler(
        MessageHandler((private | addressed_in_group) & not_read, bad_input.on_unsupported)
    )
    application.add_error_handler(errors.on_error)
