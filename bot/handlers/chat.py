"""Talking to the model: private messages and /ask."""

from __future__ import annotations

from telegram import Message, Update

from bot.context import BotContext
from bot.conversation import UserTurn
from bot.delivery import LiveReply
from bot.handlers.common import answer, chat_key, destination


async def on_private_text(update: Update, context: BotContext) -> None:
    """Answer a private message with the model's streamed reply."""
    message = update.effective_message
    if message is None or not message.text:
        return
    await _converse(message, message.text, context)


async def on_ask(update: Update, context: BotContext) -> None:
    """Answer the question after /ask."""
    message = update.effective_message
    if message is None:
        return
    question = " ".join(context.args or []).strip()
    if not question:
        await answer(update, context, "Usage: /ask <question>")
        return
    await _converse(message, question, context)


async def _converse(message: Message, text: str, context: BotContext) -> None:
    services = context.services
    sink = LiveReply(
        context.bot,
        services.outbox,
        destination(message, reply=message.chat.type != message.chat.PRIVATE),
        typing_interval=services.settings.typing_interval,
    )
    user = message.from_user
    turn = UserTurn(
        text=text,
        telegram_message_id=message.message_id,
        user_id=user.id if user else None,
        sender_name=user.first_name if user else None,
    )
    await services.conversation.reply(chat_key(message), turn, sink)
