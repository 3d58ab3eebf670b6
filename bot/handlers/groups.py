"""Group life events: the bot joining a group, and a group becoming a supergroup.

Owns the usage note posted once when the bot is added (on `my_chat_member`; the accompanying
`new_chat_members` service message is left alone so the note is not posted twice) and moving a
group's history, settings and chat data to its new id on migration. Which group messages the bot
answers is handlers/addressing.py's business.
"""

from __future__ import annotations

import logging

from telegram import ChatMember, Update
from telegram.constants import ChatType

from bot.handlers.context import BotContext
from bot.i18n import _

log = logging.getLogger(__name__)

_PRESENT = (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER)


def usage_note(bot_username: str) -> str:
    """The short note a group gets when the bot joins it."""
    # Translators: posted once when the bot is added to a group; "@{bot_username} your question"
    # shows how to mention the bot ({bot_username} is its Telegram username).
    return _(
        "Hi! I'm an AI assistant. I answer here only when you address me:\n"
        "• mention me: @{bot_username} your question\n"
        "• reply to one of my messages\n"
        "• /ask your question\n"
        "I remember one conversation for this group (one per topic in forums). "
        "/help explains more."
    ).format(bot_username=bot_username)


async def on_my_membership(update: Update, context: BotContext) -> None:
    """Post the usage note when the bot has just been added to a group."""
    change = update.my_chat_member
    if change is None or change.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return
    joined = change.new_chat_member.status in _PRESENT
    was_in = change.old_chat_member.status in _PRESENT
    if not joined or was_in:  # left, removed, or only promoted or restricted
        return
    log.info("added to group %s", change.chat.id)
    await context.services.outbox.call(
        change.chat.id,
        lambda: context.bot.send_message(change.chat.id, usage_note(context.bot.username)),
    )


async def on_migrate(update: Update, context: BotContext) -> None:
    """Move a group's history and settings to the supergroup it has become."""
    message = update.effective_message
    # Telegram reports a migration twice: migrate_to_chat_id in the old group and
    # migrate_from_chat_id in the new supergroup. Acting on the first alone moves the chat once.
    if message is None or message.migrate_to_chat_id is None:
        return
    old, new = message.chat_id, message.migrate_to_chat_id

    async def moved() -> None:
        context.application.migrate_chat_data(old_chat_id=old, new_chat_id=new)
        log.info("group %s migrated to supergroup %s", old, new)

    # Queued behind the group's turns, so the reply in progress moves with its question.
    await context.services.conversation.migrate_chat(old, new, then=moved)
