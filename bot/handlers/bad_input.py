"""Answers to input the bot does not act on: content it can't read, unknown commands.

Owns the short explanations and SUPPORTED_CONTENT, the one list of what the bot reads, which every
such answer quotes (a feature that teaches the bot a new kind of message adds it there), and how
often a chat gets them: answers to content it can't read, unknown commands and files it can't
read (media.py) are throttled per chat. Which messages reach these handlers is decided where they
are registered, in handlers/__init__.py. Edited messages are again.py's.
"""

from __future__ import annotations

from telegram import Message, Update

from bot.conversation.limits import Throttle
from bot.handlers.common import answer
from bot.handlers.context import BotContext

# What the bot reads, as the answers name it; extend it when a kind becomes supported.
SUPPORTED_CONTENT: tuple[str, ...] = (
    "text messages",
    "photos",
    "PDF, Word and text files",
    "voice notes",
    "audio files",
)

# Message attributes, each with how an answer names it. Order matters where Telegram fills two
# of them: a venue carries a location, an animation (GIF) a document.
CONTENT_NAMES: tuple[tuple[str, str], ...] = (
    ("sticker", "stickers"),
    ("venue", "venues"),
    ("location", "locations"),
    ("contact", "contacts"),
    ("poll", "polls"),
    ("dice", "dice"),
    ("game", "games"),
    ("animation", "GIFs"),
    ("video_note", "video messages"),
    ("video", "videos"),
    ("voice", "voice notes"),
    ("audio", "audio files"),
    ("photo", "photos"),
    ("document", "files"),
    ("story", "stories"),
    ("paid_media", "paid media"),
)

UNKNOWN_COMMAND = "I don't know that command. /help lists what I can do."

# Answers to input the bot can't use (stickers and the like, unknown commands, files it can't
# read) in one chat: at most this many within any BAD_INPUT_WINDOW seconds, the rest ignored in
# silence. A person who sends a sticker and a GIF gets both answers; a flood gets three a minute.
BAD_INPUT_ANSWERS = 3
BAD_INPUT_WINDOW = 60.0
_BAD_INPUT_ANSWERS = "bad_input_answers"  # bot_data key of the Throttle for those answers


def supported_list() -> str:
    """SUPPORTED_CONTENT as an English list: "text messages, photos and voice notes"."""
    *rest, last = SUPPORTED_CONTENT
    return f"{', '.join(rest)} and {last}" if rest else last


def content_name(message: Message) -> str:
    """What kind of content a message carries, as an answer names it."""
    for attribute, name in CONTENT_NAMES:
        if getattr(message, attribute, None):
            return name
    return "this kind of message"


def unsupported_text(message: Message) -> str:
    """The answer to a message the bot can't read."""
    return f"I can't read {content_name(message)}. I understand {supported_list()}."


async def on_unsupported(update: Update, context: BotContext) -> None:
    """Say that this kind of message can't be read, and what can."""
    message = update.effective_message
    if message is not None:
        await answer_bad_input(update, context, unsupported_text(message))


async def on_unknown_command(update: Update, context: BotContext) -> None:
    """Say that a command is not known, and where to look."""
    await answer_bad_input(update, context, UNKNOWN_COMMAND)


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
