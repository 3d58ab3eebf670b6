"""What every handler needs to know about an update: its chat key, where replies go."""

from __future__ import annotations

from telegram import Bot, Message, Update

from bot.delivery.destination import Destination
from bot.delivery.outbox import Outbox
from bot.handlers.context import BotContext
from bot.store import ChatKey

GENERAL_TOPIC_ID = 1


def topic_id(message: Message) -> int | None:
    """The forum topic a message belongs to; None outside topics and in the General topic."""
    if message.is_topic_message and message.message_thread_id not in (None, GENERAL_TOPIC_ID):
        return message.message_thread_id
    return None


def chat_key(message: Message) -> ChatKey:
    """The conversation a message belongs to: its chat, and its forum topic if any."""
    return ChatKey(message.chat_id, topic_id(message) or 0)


def destination(message: Message, *, reply: bool = False) -> Destination:
    """Where an answer to `message` goes (as a reply to it when `reply`)."""
    return Destination(message.chat_id, topic_id(message), message.message_id if reply else None)


async def answer(update: Update, context: BotContext, text: str) -> None:
    """Send a short plain-text answer to the update's chat, paced like every other call."""
    message = update.effective_message
    if message is None:
        return
    await send_text(context.bot, context.services.outbox, destination(message), text)


async def send_text(bot: Bot, outbox: Outbox, dest: Destination, text: str) -> None:
    """Send a short plain-text message to `dest`'s chat (and topic), paced like every call."""
    await outbox.call(
        dest.chat_id,
        lambda: bot.send_message(dest.chat_id, text, message_thread_id=dest.thread_id),
    )
