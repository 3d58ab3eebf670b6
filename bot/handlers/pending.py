"""Messages received but never answered: the process stopped while they waited for their turn.

Owns answering them when the bot starts — each chat's in the order they came, the way a fresh
message is answered there (plainly in private chats, as a reply in groups). Only their text was
kept, so attachments are not sent again. Keeping them is ConversationService's business.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import TelegramError

from bot.conversation.service import UserTurn
from bot.delivery.destination import Destination
from bot.delivery.live_reply import LiveReply
from bot.handlers.context import BotApplication, Services
from bot.handlers.stop import stop_data
from bot.store import ChatKey, Received

log = logging.getLogger(__name__)


async def answer_pending(application: BotApplication) -> None:
    """Answer every message left in the inbox by an earlier run; chats side by side."""
    services = application.bot_data["services"]
    assert isinstance(services, Services)
    received = await services.store.inbox()
    if not received:
        return
    log.info("answering %d messages received before the restart", len(received))
    by_chat: dict[ChatKey, list[Received]] = {}
    for message in received:
        by_chat.setdefault(message.key, []).append(message)
    await asyncio.gather(
        *(_answer_in_order(application.bot, services, chat) for chat in by_chat.values())
    )


async def _answer_in_order(bot: Bot, services: Services, messages: list[Received]) -> None:
    for message in messages:
        key = message.key
        group = key.chat_id < 0  # groups and supergroups have negative ids
        destination = Destination(
            key.chat_id, key.thread_id or None, message.telegram_message_id if group else None
        )
        sink = LiveReply(
            bot,
            services.outbox,
            destination,
            typing_interval=services.settings.typing_interval,
            stop_data=stop_data(message.telegram_message_id),
        )
        turn = UserTurn(
            text=message.content,
            telegram_message_id=message.telegram_message_id,
            user_id=message.user_id,
            sender_name=message.sender_name,
        )
        try:
            await services.conversation.reply(key, turn, sink)
        except TelegramError as exc:
            log.warning("chat %s: could not answer a message from before the restart: %s", key, exc)
