"""Answers to input the bot does not act on: content it can't read, unknown commands.

Owns the short explanations and SUPPORTED_CONTENT, the one list of what the bot reads, which every
such answer quotes (a feature that teaches the bot a new kind of message adds it there), and how
often a chat gets them: answers to content it can't read, unknown commands and files it can't
read (documents.py) are throttled per chat. Which messages reach these handlers is decided where
they are registered, in handlers/__init__.py. Edited messages are again.py's.
"""

from __future__ import annotations

from telegram import Message, Update

from bot.conversation.limits import Throttle
from bot.handlers.common import answer
from bot.handlers.context import BotContext
from bot.i18n import N_, _, join

# What the bot reads, as the answers name it (translated where they are shown); extend it when
# a kind becomes supported.
SUPPORTED_CONTENT: tuple[str, ...] = (
    N_("text messages"),
    N_("photos"),
    N_("PDF, Word and text files"),
    N_("voice notes"),
    N_("audio files"),
)

# Message attributes, each with how an answer names it. Order matters where Telegram fills two
# of them: a venue carries a location, an animation (GIF) a document.
CONTENT_NAMES: tuple[tuple[str, str], ...] = (
    ("sticker", N_("stickers")),
    ("venue", N_("venues")),
    ("location", N_("locations")),
    ("contact", N_("contacts")),
    ("poll", N_("polls")),
    ("dice", N_("dice")),
    ("game", N_("games")),
    ("animation", N_("GIFs")),
    ("video_note", N_("video messages")),
    ("video", N_("videos")),
    ("voice", N_("voice notes")),
    ("audio", N_("audio files")),
    ("photo", N_("photos")),
    ("document", N_("files")),
    ("story", N_("stories")),
    ("paid_media", N_("paid media")),
)

UNKNOWN_COMMAND = N_("I don't know that command. /help lists what I can do.")

# Answers to input the bot can't use (stickers and the like, unknown commands, files it can't
# read) in one chat: at most this many within any BAD_INPUT_WINDOW seconds, the rest ignored in
# silence. A person who sends a sticker and a GIF gets both answers; a flood gets three a minute.
BAD_INPUT_ANSWERS = 3
BAD_INPUT_WINDOW = 60.0
_BAD_INPUT_ANSWERS = "bad_input_answers"  # bot_data key of the Throttle for those answers


def supported_list() -> str:
    """SUPPORTED_CONTENT as a list in the reader's language: "text messages, photos and voice
    notes"."""
    return join([_(kind) for kind in SUPPORTED_CONTENT])


def content_name(message: Message) -> str:
    """What kind of content a message carries, as an answer names it (in the reader's language)."""
    for attribute, name in CONTENT_NAMES:
        if getattr(message, attribute, None):
            return _(name)
    # Translators: completes "I can't read {content}." for a kind of message without a name.
    return _("this kind of message")


def unsupported_text(message: Message) -> str:
    """The answer to a message the bot can't read."""
    # Translators: {content} names a kind of message in the plural ("stickers", "GIFs");
    # {supported} lists what the bot reads ("text messages, photos and voice notes").
    return _("I can't read {content}. I understand {supported}.").format(
        content=content_name(message), supported=supported_list()
    )


async def on_unsupported(update: Update, context: BotContext) -> None:
    """Say that this kind of message can't be read, and what can."""
    message = update.effective_message
    if message is not None:
        await answer_bad_input(update, context, unsupported_text(message))


async def on_unknown_command(update: Update, context: BotContext) -> None:
    """Say that a command is not known, and where to look."""
    await answer_bad_input(update, context, _(UNKNOWN_COMMAND))


async def answer_bad_input(update: Update, context: BotContext, text: str) -> None:
    """Answer input the bot can't use, unless the chat had BAD_INPUT_ANSWERS such answers within
    the last BAD_INPUT_WINDOW seconds: then stay silent, so a flood of them costs nothing."""
    chat = update.effective_chat
    if chat is None:
        return
    throttle = context.bot_data.setdefault(
        _BAD_INPUT_ANSWERS, Throttle(BAD_INPUT_WINDOW, burst=BAD_INPUT_ANSWERS)
    )
    if isinstance(throttle, Throttle) and throttle.ready(chat.id):
        await answer(update, context, text)
