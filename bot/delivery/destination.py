"""Where a reply goes, and the chat action ("typing…", "recording voice…") shown there meanwhile.

Owns `Destination` (chat, forum topic, the message answered) and `keep_acting`, which repeats a
chat action only when the outbox has calls to spare, so it never delays a reply's text.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from telegram import Bot
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.delivery.outbox import Outbox

TYPING_RETRY = 1.0  # seconds before "typing…" is tried again when there was no capacity for it


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a reply goes: the chat, its forum topic, the message it answers."""

    chat_id: int
    thread_id: int | None = None  # None for private chats, plain groups and the General topic
    reply_to: int | None = None


async def keep_acting(
    bot: Bot,
    outbox: Outbox,
    dest: Destination,
    action: ChatAction,
    interval: float,
    *,
    until: Callable[[], bool] = lambda: False,
) -> None:
    """Show `action` ("typing…", "recording voice…") every `interval` seconds until `until()`
    (or until cancelled), capacity allowing: a chat action never delays a reply's text."""
    while not until():
        with contextlib.suppress(TelegramError):
            sent = await outbox.spare_call(
                dest.chat_id,
                lambda: bot.send_chat_action(
                    dest.chat_id, action, message_thread_id=dest.thread_id
                ),
            )
            if not sent:  # the bot is busy with replies: look again soon
                await asyncio.sleep(min(TYPING_RETRY, interval))
                continue
        await asyncio.sleep(interval)
