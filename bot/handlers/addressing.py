"""Whether a message is addressed to the bot, and what it asks once the addressing is removed.

Owns the group rule (a mention of `@botname` by entity, an explicit reply to one of the bot's
messages, or a caption starting with `/ask`; `/ask` in a text is CommandHandler's business), the
prompt with the mention stripped, and the replied-to text quoted into it. Pure apart from reading
the bot's identity; must not send anything or touch the store.

In forums every message of a topic carries the topic's creation message as `reply_to_message`
although the user replied to nothing: that is not a reply, and never counts as one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import Bot, Message, MessageEntity
from telegram.constants import ChatType
from telegram.ext import filters

_MENTION_TYPES = (MessageEntity.MENTION, MessageEntity.TEXT_MENTION)
_SPACE_RUN = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \t]+([,.!?;:])")
_LEADING_SEPARATORS = re.compile(r"^[\s,:;]+")


class AddressedToBot(filters.MessageFilter):
    """Private messages, and group messages that mention the bot or reply to one of its own."""

    def __init__(self, bot: Bot) -> None:
        super().__init__(name="AddressedToBot")
        # Read lazily: the bot learns its username and id from getMe during initialize().
        self._bot = bot

    def filter(self, message: Message) -> bool:
        return is_addressed(message, self._bot)


def is_addressed(message: Message, bot: Bot) -> bool:
    """Whether the bot should answer `message` (always, in private chats)."""
    if message.chat.type == ChatType.PRIVATE:
        return True
    return (
        mentions_bot(message, bot.username, bot.id)
        or replies_to_bot(message, bot.id)
        or asks_in_caption(message, bot.username)
    )


@dataclass(frozen=True, slots=True)
class Quote:
    """The message a user replied to: its text, and whether the bot wrote it."""

    text: str
    author: str | None  # the sender's first name; None when it is the bot itself
    message_id: int


def mentions_bot(message: Message, bot_username: str, bot_id: int) -> bool:
    """Whether the text or caption mentions the bot by an entity, anywhere."""
    wanted = f"@{bot_username}".casefold()
    for entity, text in _entities(message).items():
        if entity.type == MessageEntity.MENTION and text.casefold() == wanted:
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            return True
    return False


def asks_in_caption(message: Message, bot_username: str) -> bool:
    """Whether a photo's or file's caption starts with /ask (or /ask@thisbot): CommandHandler
    reads only texts, so a caption command is addressing like a mention."""
    return _caption_command(message, bot_username) is not None


def caption_question(message: Message, bot_username: str) -> str:
    """A caption as a question: without the bot's mentions and without a leading /ask."""
    prompt = prompt_of(message, bot_username)
    command = _caption_command(message, bot_username)
    if command is not None and prompt.startswith(command):
        prompt = _LEADING_SEPARATORS.sub("", prompt[len(command) :])
    return prompt.strip()


def commands_bot(message: Message, bot_username: str) -> bool:
    """Whether the message starts with a command for this bot: `/cmd`, or `/cmd@botname`."""
    first = message.entities[0] if message.entities else None
    if first is None or first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return False
    _, _, target = message.parse_entity(first).partition("@")
    return not target or target.casefold() == bot_username.casefold()


def speaks_to_bot(message: Message, bot: Bot) -> bool:
    """Whether the bot should answer anything to this message: every one in a private chat;
    in a group, a command for it, a mention of it or a reply to it."""
    if message.chat.type == ChatType.PRIVATE:
        return True
    if message.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return False
    return (
        commands_bot(message, bot.username)
        or mentions_bot(message, bot.username, bot.id)
        or replies_to_bot(message, bot.id)
    )


def replied_message(message: Message) -> Message | None:
    """The message the user explicitly replied to; None for a forum topic's implicit reply."""
    replied = message.reply_to_message
    if replied is None or replied.forum_topic_created is not None:
        return None
    if message.is_topic_message and replied.message_id == message.message_thread_id:
        return None
    return replied


def replies_to_bot(message: Message, bot_id: int) -> bool:
    """Whether the message answers one of the bot's own messages."""
    replied = replied_message(message)
    return replied is not None and replied.from_user is not None and replied.from_user.id == bot_id


def prompt_of(message: Message, bot_username: str) -> str:
    """The message's text with every mention of the bot removed and the spacing tidied."""
    text = message.text if message.text is not None else (message.caption or "")
    wanted = f"@{bot_username}".casefold()
    spans = sorted(
        (entity.offset, entity.offset + entity.length)
        for entity, mention in _entities(message).items()
        if entity.type == MessageEntity.MENTION and mention.casefold() == wanted
    )
    if not spans:
        return text.strip()
    # Entity offsets count UTF-16 code units, so cut the UTF-16 encoding, not the str.
    encoded = text.encode("utf-16-le")
    kept, position = [], 0
    for start, end in spans:
        kept.append(encoded[2 * position : 2 * start])
        position = end
    kept.append(encoded[2 * position :])
    stripped = b"".join(kept).decode("utf-16-le")
    lines = [
        _SPACE_BEFORE_PUNCTUATION.sub(r"\1", _SPACE_RUN.sub(" ", line)).strip()
        for line in stripped.split("\n")
    ]
    return _LEADING_SEPARATORS.sub("", "\n".join(lines)).strip()


def quote_of(message: Message, bot_id: int) -> Quote | None:
    """What the user replied to (only the part they quoted, if they quoted), or None."""
    replied = replied_message(message)
    if replied is None:
        return None
    chosen = message.quote.text if message.quote is not None else None
    text = (chosen or replied.text or replied.caption or "").strip()
    if not text:
        return None
    sender = replied.from_user
    if sender is not None and sender.id == bot_id:
        author = None
    elif replied.sender_chat is not None:
        author = replied.sender_chat.title or "Someone"
    else:
        author = sender.first_name if sender is not None else "Someone"
    return Quote(text, author, replied.message_id)


def with_quote(prompt: str, quote: Quote) -> str:
    """The prompt preceded by the quoted message, marked as a quote the way markdown does."""
    heading = "You wrote earlier:" if quote.author is None else f"{quote.author} wrote:"
    quoted = "\n".join(f"> {line}" if line else ">" for line in quote.text.split("\n"))
    return f"{heading}\n{quoted}\n\n{prompt}".rstrip()


def _caption_command(message: Message, bot_username: str) -> str | None:
    if message.caption is None:
        return None
    entities = message.parse_caption_entities([MessageEntity.BOT_COMMAND])
    for entity, command in entities.items():
        if entity.offset == 0 and command.casefold() in ("/ask", f"/ask@{bot_username}".casefold()):
            return command
    return None


def _entities(message: Message) -> dict[MessageEntity, str]:
    if message.text is not None:
        return message.parse_entities(list(_MENTION_TYPES))
    return message.parse_caption_entities(list(_MENTION_TYPES))
